"""The access package: everything a person may learn about their data (GDPR Art. 15).

Contents follow Art. 15(1): the data itself per dataset, with its categories, purposes (and the
legal basis in the person's jurisdiction), recipients, retention, source, plus the consent
history and the automated decisions with the meaningful information about their logic
(Art. 15(1)(h)). The same content is rendered three ways: JSON (machine-readable), a zip of JSON
and one CSV per dataset (portability, Art. 20 "structured, commonly used and machine-readable"),
and HTML a person can read.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from trustcart.catalog import DataMap, Dataset, describe_duration
from trustcart.rights.connectors import CONSENT_DATASET, DECISIONS_DATASET, Found
from trustcart.templating import jinja_env


def _plain(value: Any) -> Any:
    """JSON/CSV-friendly scalar (dates as ISO text, decimals exact)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


@dataclass
class DatasetSection:
    """One dataset's part of the package."""

    key: str
    name: str
    system: str
    categories: list[str]
    purposes: list[dict[str, str]]
    recipients: list[str]
    retention: str
    source: list[str]
    rows: list[dict[str, Any]]
    status: str = "done"
    note: str | None = None


@dataclass
class AccessPackage:
    """The whole answer to an access (or portability, or explanation) request."""

    request_id: str
    request_type: str
    jurisdiction: str
    generated_at: str
    controller: str
    identities_used: dict[str, int]
    datasets: list[DatasetSection]
    consent_history: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    automated_decision_logic: list[dict[str, str]]
    not_reachable: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON body (dates as ISO text)."""
        return {
            "request_id": self.request_id,
            "request_type": self.request_type,
            "jurisdiction": self.jurisdiction,
            "generated_at": self.generated_at,
            "controller": self.controller,
            "identities_used": self.identities_used,
            "datasets": [
                {
                    "key": d.key,
                    "name": d.name,
                    "system": d.system,
                    "categories": d.categories,
                    "purposes": d.purposes,
                    "recipients": d.recipients,
                    "retention": d.retention,
                    "source": d.source,
                    "status": d.status,
                    "note": d.note,
                    "rows": [{k: _plain(v) for k, v in r.items()} for r in d.rows],
                }
                for d in self.datasets
            ],
            "consent_history": self.consent_history,
            "decisions": self.decisions,
            "automated_decision_logic": self.automated_decision_logic,
            "not_reachable": self.not_reachable,
        }

    def to_json(self) -> bytes:
        """Indented JSON."""
        return orjson.dumps(
            self.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
        )

    def to_zip(self) -> bytes:
        """``package.json`` + one CSV per dataset + ``index.html`` (portability)."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("package.json", self.to_json())
            for d in self.datasets:
                if d.rows:
                    zf.writestr(f"{d.key}.csv", _csv(d.rows))
            if self.consent_history:
                zf.writestr("consent_history.csv", _csv(self.consent_history))
            if self.decisions:
                zf.writestr(
                    "decisions.csv",
                    _csv([{k: _cell(v) for k, v in r.items()} for r in self.decisions]),
                )
            zf.writestr("index.html", self.to_html())
        return buf.getvalue()

    def to_html(self) -> str:
        """A page the person can read."""
        return jinja_env("trustcart.rights").get_template("package.html.j2").render(p=self)


def _cell(v: Any) -> Any:
    if isinstance(v, dict | list):
        return orjson.dumps(v, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    return _plain(v)


def _csv(rows: Sequence[dict[str, Any]]) -> str:
    columns: list[str] = []
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=columns)
    w.writeheader()
    for r in rows:
        w.writerow({k: _cell(r.get(k)) for k in columns})
    return out.getvalue()


def describe_dataset(dm: DataMap, ds: Dataset, jurisdiction: str) -> dict[str, Any]:
    """Categories, purposes (with legal basis), recipients, retention and source of ``ds``."""
    system = dm.system(ds.system)
    purpose_keys: list[str] = []
    categories: list[str] = []
    for f in ds.fields:
        for c in f.data_categories:
            if c not in categories:
                categories.append(c)
        for p in f.purposes or (system.purposes if system else []):
            if p not in purpose_keys:
                purpose_keys.append(p)
    purposes = []
    recipients: list[str] = []
    for key in purpose_keys:
        purpose = dm.purpose(key)
        if purpose is None:
            continue
        basis = purpose.legal_basis.get(jurisdiction) or next(
            iter(purpose.legal_basis.values()), None
        )
        purposes.append(
            {
                "key": purpose.key,
                "name": purpose.name,
                "legal_basis": str(basis) if basis else "not recorded",
            }
        )
        for r in dm.recipients_for(key):
            label = f"{r.name} ({r.type}, {r.country})"
            if label not in recipients:
                recipients.append(label)
    sources = []
    for flow in dm.flows:
        if flow.target == ds.system:
            src = dm.system(flow.source)
            label = "you" if flow.source == "data_subject" else (src.name if src else flow.source)
            if label not in sources:
                sources.append(label)
    return {
        "system": system.name if system else ds.system,
        "categories": categories,
        "purposes": purposes,
        "recipients": recipients,
        "retention": describe_duration(ds.retention),
        "source": sources or [system.name if system else ds.system],
    }


def build_package(
    *,
    request_id: str,
    request_type: str,
    jurisdiction: str,
    generated_at: datetime,
    dm: DataMap,
    found: Sequence[Found],
    identities_used: dict[str, int],
    explanations: dict[str, dict[str, Any]],
    not_reachable: Sequence[str],
) -> AccessPackage:
    """Assemble the package from what the connectors found."""
    sections: list[DatasetSection] = []
    consent: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    for f in found:
        if f.dataset == CONSENT_DATASET:
            consent = f.rows
            continue
        if f.dataset == DECISIONS_DATASET:
            for row in f.rows:
                d = dict(row)
                d["explanation"] = explanations.get(str(row.get("id")))
                decisions.append(d)
            continue
        ds = next((d for d in dm.datasets if d.key == f.dataset), None)
        if ds is None:
            continue
        info = describe_dataset(dm, ds, jurisdiction)
        sections.append(
            DatasetSection(
                key=ds.key, name=ds.name, rows=f.rows, status=f.status, note=f.note, **info
            )
        )
    logic = [
        {
            "purpose": p.name,
            "logic": p.automated_decision_making.logic or "",
            "significance": p.automated_decision_making.significance or "",
        }
        for p in dm.purposes
        if p.automated_decision_making.enabled
    ]
    org = dm.organization
    return AccessPackage(
        request_id=request_id,
        request_type=request_type,
        jurisdiction=jurisdiction,
        generated_at=generated_at.isoformat(),
        controller=org.controller.name if org else "the shop",
        identities_used=identities_used,
        datasets=sections,
        consent_history=consent,
        decisions=decisions,
        automated_decision_logic=logic,
        not_reachable=list(not_reachable),
    )
