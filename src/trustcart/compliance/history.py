"""Recorded scans: the compliance score over time.

Why record scans (rather than recompute the past): the score depends on the rule pack and the
checks of the day, and on ledger state that moves; a snapshot says what was open *then*.
A scan is recorded when asked (``trustcart scan --record``, the dashboard's "record scan"
button, the demo), never as a side effect of looking at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select

from trustcart.compliance.finding import ScanResult
from trustcart.errors import NotFound
from trustcart.ids import new_id
from trustcart.store import Store
from trustcart.store.tables import ComplianceScan, table_of

_scans = table_of(ComplianceScan)


@dataclass(frozen=True, slots=True)
class ScanSnapshot:
    """One recorded scan: when, the score and counts (findings only when asked for)."""

    id: str
    created_at: datetime
    score: int
    counts: dict[str, int]
    areas: list[str]
    rules_version: str
    actor: str
    findings: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "score": self.score,
            "counts": dict(self.counts),
            "areas": list(self.areas),
            "rules_version": self.rules_version,
            "actor": self.actor,
            "findings": self.findings,
        }


def record_scan(store: Store, result: ScanResult, *, actor: str = "cli") -> ScanSnapshot:
    """Keep ``result`` as a point of the score trend; returns the snapshot."""
    snap = ScanSnapshot(
        id=new_id("scan_"),
        created_at=result.generated_at,
        score=result.score,
        counts={s: int(result.counts.get(s, 0)) for s in ("high", "medium", "low")},
        areas=list(result.areas),
        rules_version=result.rules_version,
        actor=actor,
        findings=[f.to_dict() for f in result.findings],
    )
    with store.write() as conn:
        conn.execute(
            _scans.insert().values(
                id=snap.id,
                created_at=snap.created_at,
                score=snap.score,
                high=snap.counts["high"],
                medium=snap.counts["medium"],
                low=snap.counts["low"],
                areas=orjson.dumps(snap.areas).decode(),
                rules_version=snap.rules_version[:64],
                actor=actor[:200],
                findings=orjson.dumps(snap.findings).decode(),
            )
        )
    return snap


def _snapshot(r: Any, *, findings: bool) -> ScanSnapshot:
    return ScanSnapshot(
        id=r.id,
        created_at=r.created_at,
        score=r.score,
        counts={"high": r.high, "medium": r.medium, "low": r.low},
        areas=orjson.loads(r.areas),
        rules_version=r.rules_version,
        actor=r.actor,
        findings=orjson.loads(r.findings) if findings else None,
    )


def scan_history(store: Store, *, limit: int = 90) -> list[ScanSnapshot]:
    """The newest ``limit`` recorded scans, oldest first (the order a trend is drawn in)."""
    cols = [c for c in _scans.c if c.name != "findings"]
    q = select(*cols).order_by(_scans.c.created_at.desc(), _scans.c.id.desc()).limit(limit)
    with store.read() as conn:
        rows = conn.execute(q).all()
    return [_snapshot(r, findings=False) for r in reversed(rows)]


def get_scan(store: Store, scan_id: str) -> ScanSnapshot:
    """One recorded scan with its findings."""
    with store.read() as conn:
        r = conn.execute(select(_scans).where(_scans.c.id == scan_id)).first()
    if r is None:
        raise NotFound(f"no recorded scan {scan_id!r}")
    return _snapshot(r, findings=True)
