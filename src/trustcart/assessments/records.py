"""Compliance records: the vendor registry, DPIA screenings, DPIAs and AIAs, versioned.

Why YAML manifests *and* a table: the records are written and reviewed like code (a YAML file in
the shop's repository, diffed in pull requests, loaded with ``trustcart records load``), but
evidence must outlive edits - the DPIA a DPO signed stays readable after someone changes it. So
each load appends a new *version* of every record whose content changed (unchanged ones are
left alone), sign-offs and approvals append a version too, and every change is recorded in the
``admin`` hash-chained log with the content hash. The latest version of each record is what the
scanner reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, func, select

from trustcart.assessments.aia import AiaRecord
from trustcart.assessments.dpia import DpiaRecord, ScreeningRecord
from trustcart.catalog.validation import Problem, duplicate_keys, raise_problems
from trustcart.clock import utcnow
from trustcart.errors import NotFound
from trustcart.store import Store, canonical_json
from trustcart.store.tables import ComplianceRecord, table_of
from trustcart.vendors.model import ChecklistItem, VendorRecord

RecordKind = Literal["dpa_checklist", "vendor", "screening", "dpia", "aia"]
ADMIN_LOG = "admin"
CHECKLIST_KEY = "checklist"
_records = table_of(ComplianceRecord)
_R = TypeVar("_R", bound=BaseModel)


class DpaChecklist(BaseModel):
    """The DPA clause checklist, stored as one record."""

    model_config = ConfigDict(extra="forbid")
    key: str = CHECKLIST_KEY
    items: list[ChecklistItem] = Field(default_factory=list)


class Records(BaseModel):
    """A records manifest (any sections may be omitted), or the latest stored records."""

    model_config = ConfigDict(extra="forbid")

    manifest_version: Literal[1] = 1
    dpa_checklist: list[ChecklistItem] = Field(default_factory=list)
    vendors: list[VendorRecord] = Field(default_factory=list)
    screenings: list[ScreeningRecord] = Field(default_factory=list)
    dpias: list[DpiaRecord] = Field(default_factory=list)
    aias: list[AiaRecord] = Field(default_factory=list)

    def vendor(self, key: str) -> VendorRecord | None:
        """The vendor with ``key``."""
        return next((v for v in self.vendors if v.key == key), None)

    def dpia(self, key: str) -> DpiaRecord | None:
        """The DPIA with ``key``."""
        return next((d for d in self.dpias if d.key == key), None)

    def aia(self, key: str) -> AiaRecord | None:
        """The AIA with ``key``."""
        return next((a for a in self.aias if a.key == key), None)

    def screening(self, purpose: str) -> ScreeningRecord | None:
        """The assessor's screening answers for ``purpose``."""
        return next((s for s in self.screenings if s.key == purpose), None)

    def objects(self) -> list[tuple[RecordKind, str, dict[str, Any]]]:
        """Every record as ``(kind, key, json body)``; the checklist is one record."""
        out: list[tuple[RecordKind, str, dict[str, Any]]] = []
        if self.dpa_checklist:
            body = DpaChecklist(items=self.dpa_checklist).model_dump(mode="json")
            out.append(("dpa_checklist", CHECKLIST_KEY, body))
        sections: list[tuple[RecordKind, list[Any]]] = [
            ("vendor", self.vendors),
            ("screening", self.screenings),
            ("dpia", self.dpias),
            ("aia", self.aias),
        ]
        for kind, items in sections:
            for item in items:
                out.append((kind, item.key, item.model_dump(mode="json")))
        return out

    def problems(self) -> list[Problem]:
        """Duplicate keys within a section."""
        problems: list[Problem] = []
        duplicate_keys(("dpa_checklist",), [i.key for i in self.dpa_checklist], "item", problems)
        duplicate_keys(("vendors",), [v.key for v in self.vendors], "vendor", problems)
        duplicate_keys(("screenings",), [s.key for s in self.screenings], "screening", problems)
        duplicate_keys(("dpias",), [d.key for d in self.dpias], "DPIA", problems)
        duplicate_keys(("aias",), [a.key for a in self.aias], "AIA", problems)
        return problems


def parse_records(text: str, filename: str = "<string>") -> Records:
    """Parse and validate a records manifest (errors located by file and line)."""
    from trustcart.catalog.loader import parse_yaml_model

    records = parse_yaml_model(text, Records, filename=filename)
    raise_problems(records.problems(), filename=filename)
    _check_use_cases(records, filename)
    return records


def _check_use_cases(records: Records, filename: str) -> None:
    from trustcart.assessments.aia import unknown_use_cases
    from trustcart.rules import load_rules

    rules = load_rules()
    problems = [
        Problem(("aias", i, "use_cases"), f"unknown AI Act use case {u!r}", _use_case_keys(rules))
        for i, a in enumerate(records.aias)
        for u in unknown_use_cases(rules, a.use_cases)
    ]
    raise_problems(problems, filename=filename)


def _use_case_keys(rules: Any) -> list[str]:
    return [u.key for u in rules.require_ai_act().use_cases]


def load_records_file(path: str | Path) -> Records:
    """Read a records manifest file."""
    from trustcart.catalog.loader import read_text_file

    text, name = read_text_file(path, "records manifest")
    return parse_records(text, name)


@dataclass(frozen=True)
class SaveResult:
    """What a load changed: ``kind:key`` of records that got a new version."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True)
class RecordVersion:
    """One stored version of a record."""

    kind: str
    key: str
    version: int
    body: dict[str, Any]
    body_hash: str
    actor: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON view (``trustcart records history --format json``, ``/v1/records``)."""
        return {
            "kind": self.kind,
            "key": self.key,
            "version": self.version,
            "body": self.body,
            "body_hash": self.body_hash,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
        }


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _latest_rows(conn: Connection) -> dict[tuple[str, str], RecordVersion]:
    newest = (
        select(_records.c.kind, _records.c.key, func.max(_records.c.version).label("v"))
        .group_by(_records.c.kind, _records.c.key)
        .subquery()
    )
    rows = conn.execute(
        select(_records).join(
            newest,
            (_records.c.kind == newest.c.kind)
            & (_records.c.key == newest.c.key)
            & (_records.c.version == newest.c.v),
        )
    )
    return {
        (r.kind, r.key): RecordVersion(
            r.kind, r.key, r.version, orjson.loads(r.body), r.body_hash, r.actor, r.created_at
        )
        for r in rows
    }


def _append(
    conn: Connection, kind: str, key: str, version: int, text: str, digest: str, actor: str
) -> None:
    conn.execute(
        _records.insert().values(
            kind=kind,
            key=key,
            version=version,
            body=text,
            body_hash=digest,
            actor=actor,
            created_at=utcnow(),
        )
    )


def save_records(store: Store, records: Records, *, actor: str = "cli") -> SaveResult:
    """Append a new version of every record whose content changed; log what changed."""
    created: list[str] = []
    updated: list[str] = []
    unchanged = 0
    with store.write() as conn:
        latest = _latest_rows(conn)
        changes: list[dict[str, Any]] = []
        for kind, key, body in records.objects():
            text = canonical_json(body)
            digest = _digest(text)
            old = latest.get((kind, key))
            if old is not None and old.body_hash == digest:
                unchanged += 1
                continue
            version = 1 if old is None else old.version + 1
            _append(conn, kind, key, version, text, digest, actor)
            (created if old is None else updated).append(f"{kind}:{key}")
            changes.append({"record": f"{kind}:{key}", "version": version, "sha256": digest})
        if changes:
            store.log(ADMIN_LOG).append(
                {"action": "records.loaded", "actor": actor, "changes": changes}, conn=conn
            )
    return SaveResult(created, updated, unchanged)


def load_records(store: Store) -> Records:
    """The latest version of every stored record (empty when none were loaded)."""
    with store.read() as conn:
        latest = _latest_rows(conn)
    data: dict[str, list[Any]] = {}
    sections = {"vendor": "vendors", "screening": "screenings", "dpia": "dpias", "aia": "aias"}
    for (kind, _key), rv in sorted(latest.items()):
        if kind == "dpa_checklist":
            data["dpa_checklist"] = rv.body.get("items", [])
        elif kind in sections:
            data.setdefault(sections[kind], []).append(rv.body)
    return Records.model_validate(data)


def latest_records(store: Store, kind: str | None = None) -> list[RecordVersion]:
    """The newest stored version of every record (of ``kind`` when given), by kind then key:
    what the scanner reads, with the version number, content hash and who stored it."""
    with store.read() as conn:
        latest = _latest_rows(conn)
    return [rv for (k, _key), rv in sorted(latest.items()) if kind is None or k == kind]


def record_history(store: Store, kind: str, key: str) -> list[RecordVersion]:
    """Every version of one record, oldest first (``NotFound`` when there is none)."""
    with store.read() as conn:
        rows = conn.execute(
            select(_records)
            .where(_records.c.kind == kind, _records.c.key == key)
            .order_by(_records.c.version)
        ).all()
    if not rows:
        raise NotFound(f"no {kind} record {key!r}")
    return [
        RecordVersion(
            r.kind, r.key, r.version, orjson.loads(r.body), r.body_hash, r.actor, r.created_at
        )
        for r in rows
    ]


def update_record(
    store: Store,
    kind: RecordKind,
    key: str,
    model: type[_R],
    change: Callable[[_R], _R],
    *,
    actor: str,
    action: str,
) -> _R:
    """Append a version made by ``change`` (e.g. a sign-off) to the latest one, and log it."""
    with store.write() as conn:
        latest = _latest_rows(conn).get((kind, key))
        if latest is None:
            raise NotFound(f"no {kind} record {key!r}; load it first (trustcart records load)")
        new = change(model.model_validate(latest.body))
        body = new.model_dump(mode="json")
        text = canonical_json(body)
        digest = _digest(text)
        _append(conn, kind, key, latest.version + 1, text, digest, actor)
        store.log(ADMIN_LOG).append(
            {
                "action": action,
                "actor": actor,
                "record": f"{kind}:{key}",
                "version": latest.version + 1,
                "sha256": digest,
            },
            conn=conn,
        )
    return new
