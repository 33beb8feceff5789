"""Connectors: how a rights request reaches each store the data map lists.

Datasets declare a ``connector`` in the data map (``sql``, ``file`` or ``webhook``); TrustCart's
own consent ledger and decision log are always included. A dataset without a connector is
reported (``unreachable``) so nobody mistakes a partial answer for a complete one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from trustcart.catalog import DataMap, Dataset
from trustcart.rights.connectors.base import Change, Connector, Found, Identities, expand_env
from trustcart.rights.connectors.files import FileConnector
from trustcart.rights.connectors.own import (
    CONSENT_DATASET,
    DECISIONS_DATASET,
    ConsentLedgerConnector,
    DecisionLogConnector,
)
from trustcart.rights.connectors.sql import SqlConnector, dispose_engines
from trustcart.rights.connectors.webhook import WebhookConnector, sign, verify_signature

if TYPE_CHECKING:
    from trustcart.consent import ConsentService
    from trustcart.gateway import Gateway

__all__ = [
    "CONSENT_DATASET",
    "DECISIONS_DATASET",
    "Change",
    "Connector",
    "ConsentLedgerConnector",
    "DecisionLogConnector",
    "FileConnector",
    "Found",
    "Identities",
    "SqlConnector",
    "WebhookConnector",
    "build_connectors",
    "connector_for",
    "dispose_engines",
    "expand_env",
    "sign",
    "verify_signature",
]


def connector_for(ds: Dataset, *, root: Path, callback_base: str | None = None) -> Connector | None:
    """The connector a dataset declares (None when it declares none)."""
    spec = ds.connector
    if spec is None:
        return None
    if spec.type == "sql":
        return SqlConnector(ds, root=root)
    if spec.type == "file":
        return FileConnector(ds, root=root)
    return WebhookConnector(ds, callback_base=callback_base)


def build_connectors(
    dm: DataMap,
    *,
    root: Path,
    consent: ConsentService | None,
    gateway: Gateway | None,
    identity: str,
    callback_base: str | None = None,
) -> tuple[list[Connector], list[Dataset]]:
    """Every connector of the data map plus TrustCart's own; and the datasets with none."""
    out: list[Connector] = []
    missing: list[Dataset] = []
    for ds in dm.datasets:
        c = connector_for(ds, root=root, callback_base=callback_base)
        if c is None:
            if ds.identity_keys:
                missing.append(ds)
        else:
            out.append(c)
    if consent is not None:
        out.append(ConsentLedgerConnector(consent, identity))
    if gateway is not None:
        out.append(DecisionLogConnector(gateway, identity))
    return out, missing
