"""The decision gateway: consent-gated, protected-attribute-free, guarded, explained, logged.

gw = Gateway(workspace)
gw.register("price", train_pricing(df, features, target="adjustment"))
d = gw.decide("price", "c-42", {"loyalty_tier": 3, "stock_level": 0.2}, jurisdiction="EU",
              list_price="49.90")
d.output["price"], d.features_dropped, d.disclosures
gw.explanation(d.id)["text"]      # computed on first request, then cached
gw.for_subject("c-42")             # their decisions, opened (access requests)
gw.shred_subject("c-42")           # erasure: destroys their key (crypto-shredding)
gw.decide("credit", "c-42", {"late_payments": 2, "is_minor": False}, list_price="120")
    # -> output: status, approved, limit, adverse_action (principal reasons when declined)
"""

from __future__ import annotations

from trustcart.gateway.credit import (
    AdverseReason,
    CreditCharacteristic,
    CreditHit,
    CreditModelRefused,
    CreditRules,
    adverse_action_reasons,
    credit_characteristics,
    credit_protected_hit,
    default_reasons,
)
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
from trustcart.gateway.policy import POLICY_FILE, GatewayPolicy, load_policy, parse_policy
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
from trustcart.gateway.vulnerable import (
    VulnerableSegment,
    VulnerableSegments,
    default_segments,
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
    "POLICY_FILE",
    "AdverseReason",
    "Clearance",
    "CopyCheck",
    "CreditCharacteristic",
    "CreditHit",
    "CreditModelRefused",
    "CreditRules",
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
    "GatewayPolicy",
    "GuardrailAction",
    "ItemExplainableModel",
    "ModelRecord",
    "OfferGuardrail",
    "OfferRules",
    "PriceGuardrails",
    "ProtectedHit",
    "Proxy",
    "VulnerableSegment",
    "VulnerableSegments",
    "adverse_action_reasons",
    "check_value",
    "clearance",
    "credit_characteristics",
    "credit_protected_hit",
    "default_reasons",
    "default_segments",
    "get_model",
    "list_models",
    "list_proxies",
    "load_policy",
    "open_record",
    "parse_policy",
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
