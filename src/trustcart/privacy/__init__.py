"""Privacy engineering: pseudonymization (with key rotation), crypto-shredding (per-subject keys),
k-anonymity / l-diversity / t-closeness, Mondrian generalization, re-identification risk and PII
detection."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Name -> defining module. Why lazy: the anonymity, generalisation, risk and PII modules pull
# in pandas and Ibis (~1 s of imports); the consent ledger, the gateway and most CLI commands
# need only the pseudonymizer and the key vault. Names resolve on first use (PEP 562).
_LAZY: dict[str, str] = {
    "AnonymityReport": "trustcart.privacy.anonymity",
    "SensitiveStats": "trustcart.privacy.anonymity",
    "measure": "trustcart.privacy.anonymity",
    "AnonymizationResult": "trustcart.privacy.generalize",
    "mondrian": "trustcart.privacy.generalize",
    "CategoricalHierarchy": "trustcart.privacy.hierarchies",
    "DateHierarchy": "trustcart.privacy.hierarchies",
    "Hierarchy": "trustcart.privacy.hierarchies",
    "IntervalHierarchy": "trustcart.privacy.hierarchies",
    "ZipHierarchy": "trustcart.privacy.hierarchies",
    "age_hierarchy": "trustcart.privacy.hierarchies",
    "KeyVersion": "trustcart.privacy.keyring",
    "Retirement": "trustcart.privacy.keyring",
    "Rotation": "trustcart.privacy.keyring",
    "WorkspaceKeys": "trustcart.privacy.keyring",
    "key_versions": "trustcart.privacy.keyring",
    "parse_window": "trustcart.privacy.keyring",
    "retire_keys": "trustcart.privacy.keyring",
    "rotate_key": "trustcart.privacy.keyring",
    "ColumnSuggestion": "trustcart.privacy.pii",
    "Match": "trustcart.privacy.pii",
    "classify_column": "trustcart.privacy.pii",
    "classify_source": "trustcart.privacy.pii",
    "detect_pii": "trustcart.privacy.pii",
    "iban_valid": "trustcart.privacy.pii",
    "luhn_valid": "trustcart.privacy.pii",
    "KeySource": "trustcart.privacy.pseudonym",
    "Pseudonymizer": "trustcart.privacy.pseudonym",
    "RingState": "trustcart.privacy.pseudonym",
    "truncate_ip": "trustcart.privacy.pseudonym",
    "RiskReport": "trustcart.privacy.risk",
    "reidentification_risk": "trustcart.privacy.risk",
    "KEY_LOG": "trustcart.privacy.shredding",
    "ShredEffect": "trustcart.privacy.shredding",
    "ShredHook": "trustcart.privacy.shredding",
    "ShredReport": "trustcart.privacy.shredding",
    "SubjectKeys": "trustcart.privacy.shredding",
    "derive_token": "trustcart.privacy.shredding",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trustcart.privacy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolved once
    return value


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
