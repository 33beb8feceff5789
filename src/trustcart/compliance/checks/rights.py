"""Rights: overdue requests, and datasets a request cannot reach."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import select

from trustcart.compliance.registry import CheckContext, Issue, check
from trustcart.store.tables import RightsRequestRow, table_of

_requests = table_of(RightsRequestRow)
_FINAL = ("completed", "denied")


@check(
    "TC-RGT-001",
    area="rights",
    title="Rights request past its legal deadline",
    severity="high",
    rule="Response deadline of the person's jurisdiction (e.g. GDPR Art. 12(3); CCPA regs "
    "§7021(b)); the request names its own citation",
    fix="Carry the request out now (`trustcart rights run ID`), or deny it with reasons "
    "(`trustcart rights deny ID --reason …`); extend only within the first period.",
)
def overdue_requests(ctx: CheckContext) -> Iterator[Issue]:
    """An open statutory request whose due date has passed."""
    if ctx.store is None:
        return
    today = datetime.now(UTC).date()
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(_requests.c.id, _requests.c.type, _requests.c.jurisdiction, _requests.c.due_on)
            .where(
                _requests.c.status.not_in(_FINAL),
                _requests.c.statutory.is_(True),
                _requests.c.due_on < today,
            )
            .order_by(_requests.c.due_on)
        ).all()
    for r in rows:
        j = ctx.jurisdiction(r.jurisdiction)
        yield Issue(
            f"rights_request:{r.id}",
            f"{r.type} request {r.id} ({r.jurisdiction}) was due on {r.due_on.isoformat()} "
            f"({(today - r.due_on).days} days ago; {j.deadline.citation}).",
        )


@check(
    "TC-RGT-002",
    area="rights",
    title="Dataset with personal identifiers that rights requests cannot reach",
    severity="medium",
    rule="GDPR Art. 15 and 17 (access to and erasure of all the person's data); CCPA "
    "§1798.105 (deletion)",
    fix="Declare a `connector` for the dataset in the data map (sql, file or webhook; see "
    "docs/rights.md), or document how the privacy team handles it by hand.",
)
def unreachable_datasets(ctx: CheckContext) -> Iterator[Issue]:
    """A dataset with identity keys and no connector: every answer is incomplete without it."""
    for ds in ctx.datamap.datasets:
        if ds.identity_keys and ds.connector is None:
            yield Issue(
                f"dataset:{ds.key}",
                f"Dataset {ds.key} ({ds.name}) holds identifiers "
                f"({', '.join(ds.identity_keys)}) but declares no connector: access and "
                "erasure requests do not reach it automatically.",
            )
