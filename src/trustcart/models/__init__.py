"""Reference models implementing the gateway's plugin interface, and their life in a
workspace: trained from a data file, saved as JSON artefacts, registered, served.

pricing = train_pricing(df, [FeatureSpec("loyalty_tier", "dynamic_pricing",
                                         field="price_quotes.segment")], target="adjustment")
offer = train_offer(df, features, target="accepted")
fallback = PopularityRecommender.fit(baskets)
trained = train_model(ws, "price", "quotes.parquet", target="adjustment",
                      features=["loyalty_tier=price_quotes.segment"], purpose="dynamic_pricing")
serve_registered(gateway, ws)      # what `trustcart serve` does in each worker
"""

from __future__ import annotations

from trustcart.models._data import training_sha256
from trustcart.models.artefacts import (
    ARTEFACT_FORMAT,
    MODELS_DIR,
    from_document,
    load_artefact,
    save_artefact,
    to_document,
)
from trustcart.models.credit import (
    CREDIT_COLUMNS,
    LogisticCredit,
    synthetic_credit_frame,
    train_credit,
)
from trustcart.models.offer import LogisticOffer, sigmoid, train_offer
from trustcart.models.pricing import LightGBMPricing, train_pricing
from trustcart.models.recommenders import CooccurrenceRecommender, PopularityRecommender
from trustcart.models.serving import ServingChoice, load_version, serve_registered, serving_plan
from trustcart.models.training import TrainedModel, file_sha256, read_frame, train_model

__all__ = [
    "ARTEFACT_FORMAT",
    "CREDIT_COLUMNS",
    "MODELS_DIR",
    "CooccurrenceRecommender",
    "LightGBMPricing",
    "LogisticCredit",
    "LogisticOffer",
    "PopularityRecommender",
    "ServingChoice",
    "TrainedModel",
    "file_sha256",
    "from_document",
    "load_artefact",
    "load_version",
    "read_frame",
    "save_artefact",
    "serve_registered",
    "serving_plan",
    "sigmoid",
    "synthetic_credit_frame",
    "to_document",
    "train_credit",
    "train_model",
    "train_offer",
    "train_pricing",
    "training_sha256",
]
