"""Reference models implementing the gateway's plugin interface.

pricing = train_pricing(df, [FeatureSpec("loyalty_tier", "dynamic_pricing",
                                         field="price_quotes.segment")], target="adjustment")
offer = train_offer(df, features, target="accepted")
fallback = PopularityRecommender.fit(baskets)
"""

from __future__ import annotations

from trustcart.models._data import training_sha256
from trustcart.models.offer import LogisticOffer, sigmoid, train_offer
from trustcart.models.pricing import LightGBMPricing, train_pricing
from trustcart.models.recommenders import CooccurrenceRecommender, PopularityRecommender

__all__ = [
    "CooccurrenceRecommender",
    "LightGBMPricing",
    "LogisticOffer",
    "PopularityRecommender",
    "sigmoid",
    "train_offer",
    "train_pricing",
    "training_sha256",
]
