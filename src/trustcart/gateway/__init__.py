"""The decision gateway: consent-gated, protected-attribute-free, guarded, explained, logged.

gw = Gateway(workspace)
gw.register("price", train_pricing(df, features, target="adjustment"))
d = gw.decide("price", "c-42", {"loyalty_tier": 3, "stock_level": 0.2}, jurisdiction="EU",
              list_price="49.90")
d.output["price"], d.features_dropped, d.disclosures
gw.explanation(d.id)["text"]      # computed on first request, then cached
gw.for_subject("c-42")             # their decisions, opened (access requests)
gw.shred_subject("c-42")           # erasure: destroys their key (crypto-shredding)
"""

from __future__ import annotations

from trustcart.gateway.decision import PERSONAL_FIELDS, Decision, Disclosure, DroppedFeature
from trustcart.gateway.disclosure import PERSONALISED_PRICE, price_disclosures
from trustcart.gateway.gateway import DecisionRequest, Gateway, resolve_feature
from trustcart.gateway.guardrails import (
    GuardrailAction,
    OfferGuardrail,
    OfferRules,
    PriceGuardrails,
)
from trustcart.gateway.inputs import MAX_ITEMS, MAX_NUMBER, MAX_TEXT, check_value
from trustcart.gateway.log import (
    DECISION_LOG,
    DecisionLog,
    open_record,
    shred_decisions,
    subject_decisions,
    subject_keys,
)
from trustcart.gateway.plugin import (
    FEATURE_TYPES,
    DecisionKind,
    DecisionModel,
    ExplainableModel,
    FeatureSpec,
    FeatureType,
    ItemExplainableModel,
)
from trustcart.gateway.protected import ProtectedHit, protected_characteristics, protected_hit
from trustcart.gateway.proxies import Proxy, list_proxies, register_proxy
from trustcart.gateway.registry import (
    Clearance,
    ModelRecord,
    clearance,
    get_model,
    list_models,
    record_model,
)
from trustcart.store.copies import CopyCheck

__all__ = [
    "DECISION_LOG",
    "FEATURE_TYPES",
    "MAX_ITEMS",
    "MAX_NUMBER",
    "MAX_TEXT",
    "PERSONALISED_PRICE",
    "PERSONAL_FIELDS",
    "Clearance",
    "CopyCheck",
    "Decision",
    "DecisionKind",
    "DecisionLog",
    "DecisionModel",
    "DecisionRequest",
    "Disclosure",
    "DroppedFeature",
    "ExplainableModel",
    "FeatureSpec",
    "FeatureType",
    "Gateway",
    "GuardrailAction",
    "ItemExplainableModel",
    "ModelRecord",
    "OfferGuardrail",
    "OfferRules",
    "PriceGuardrails",
    "ProtectedHit",
    "Proxy",
    "check_value",
    "clearance",
    "get_model",
    "list_models",
    "list_proxies",
    "open_record",
    "price_disclosures",
    "protected_characteristics",
    "protected_hit",
    "record_model",
    "register_proxy",
    "resolve_feature",
    "shred_decisions",
    "subject_decisions",
    "subject_keys",
]
