"""The data map: systems, datasets, fields, purposes, recipients and flows of one controller.

Load a YAML manifest with :func:`load_manifest`, then derive from it the records of processing
activities (:func:`render_ropa`), a layered privacy notice (:func:`render_notice`) and a data-flow
diagram (:func:`render_graph`). Rendering modules are imported on first use, so importing this
package stays cheap (no Jinja2, networkx or matplotlib).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trustcart.catalog.loader import load_manifest, parse_manifest
from trustcart.catalog.model import (
    DATA_SUBJECT,
    OBJECT_KINDS,
    AutomatedDecisionMaking,
    Connector,
    Contact,
    CookieDeclaration,
    DataMap,
    Dataset,
    DatasetField,
    Flow,
    ObjectKind,
    Organization,
    Party,
    Purpose,
    Recipient,
    System,
    TaxonomyExtension,
    TaxonomyExtensions,
    Vendor,
)
from trustcart.catalog.primitives import LegalBasis, RecipientType, describe_duration
from trustcart.catalog.sensitivity import (
    FieldSensitivity,
    Level,
    SensitiveReason,
    Sensitivity,
    derive_sensitivity,
)
from trustcart.catalog.summary import InventorySummary
from trustcart.catalog.taxonomy import Taxonomy, TaxonomyEntry
from trustcart.catalog.transfers import Transfer, find_transfers
from trustcart.catalog.validation import Problem

if TYPE_CHECKING:
    from trustcart.catalog.graph import render_graph
    from trustcart.catalog.notice import Notice, NoticeSection, render_notice
    from trustcart.catalog.ropa import render_ropa

_LAZY = {
    "render_graph": "trustcart.catalog.graph",
    "render_notice": "trustcart.catalog.notice",
    "Notice": "trustcart.catalog.notice",
    "NoticeSection": "trustcart.catalog.notice",
    "render_ropa": "trustcart.catalog.ropa",
}


def __getattr__(name: str) -> Any:
    """Import renderers on first use (PEP 562) so ``import trustcart.catalog`` stays fast."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DATA_SUBJECT",
    "OBJECT_KINDS",
    "AutomatedDecisionMaking",
    "Connector",
    "Contact",
    "CookieDeclaration",
    "DataMap",
    "Dataset",
    "DatasetField",
    "FieldSensitivity",
    "Flow",
    "InventorySummary",
    "LegalBasis",
    "Level",
    "Notice",
    "NoticeSection",
    "ObjectKind",
    "Organization",
    "Party",
    "Problem",
    "Purpose",
    "Recipient",
    "RecipientType",
    "SensitiveReason",
    "Sensitivity",
    "System",
    "Taxonomy",
    "TaxonomyEntry",
    "TaxonomyExtension",
    "TaxonomyExtensions",
    "Transfer",
    "Vendor",
    "derive_sensitivity",
    "describe_duration",
    "find_transfers",
    "load_manifest",
    "parse_manifest",
    "render_graph",
    "render_notice",
    "render_ropa",
]
