"""Privacy engineering: pseudonymization (with key rotation), crypto-shredding (per-subject keys),
k-anonymity / l-diversity / t-closeness, Mondrian generalization, re-identification risk and PII
detection."""

from trustcart.privacy.anonymity import AnonymityReport, SensitiveStats, measure
from trustcart.privacy.generalize import AnonymizationResult, mondrian
from trustcart.privacy.hierarchies import (
    CategoricalHierarchy,
    DateHierarchy,
    Hierarchy,
    IntervalHierarchy,
    ZipHierarchy,
    age_hierarchy,
)
from trustcart.privacy.keyring import (
    KeyVersion,
    Retirement,
    Rotation,
    WorkspaceKeys,
    key_versions,
    parse_window,
    retire_keys,
    rotate_key,
)
from trustcart.privacy.pii import (
    ColumnSuggestion,
    Match,
    classify_column,
    classify_source,
    detect_pii,
    iban_valid,
    luhn_valid,
)
from trustcart.privacy.pseudonym import KeySource, Pseudonymizer, RingState, truncate_ip
from trustcart.privacy.risk import RiskReport, reidentification_risk
from trustcart.privacy.shredding import (
    KEY_LOG,
    ShredEffect,
    ShredHook,
    ShredReport,
    SubjectKeys,
    derive_token,
)

__all__ = [
    "KEY_LOG",
    "AnonymityReport",
    "AnonymizationResult",
    "CategoricalHierarchy",
    "ColumnSuggestion",
    "DateHierarchy",
    "Hierarchy",
    "IntervalHierarchy",
    "KeySource",
    "KeyVersion",
    "Match",
    "Pseudonymizer",
    "Retirement",
    "RingState",
    "RiskReport",
    "Rotation",
    "SensitiveStats",
    "ShredEffect",
    "ShredHook",
    "ShredReport",
    "SubjectKeys",
    "WorkspaceKeys",
    "ZipHierarchy",
    "age_hierarchy",
    "classify_column",
    "classify_source",
    "derive_token",
    "detect_pii",
    "iban_valid",
    "key_versions",
    "luhn_valid",
    "measure",
    "mondrian",
    "parse_window",
    "reidentification_risk",
    "retire_keys",
    "rotate_key",
    "truncate_ip",
]
