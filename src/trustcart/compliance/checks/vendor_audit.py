"""Vendor registry: audits overdue, never done, or failed."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.registry import CheckContext, Issue, check
from trustcart.vendors import audit_due


@check(
    "TC-VEN-005",
    area="vendors",
    title="Vendor audit overdue or failed",
    severity="medium",
    rule="TrustCart practice: audit each processor on the schedule recorded for it and follow up "
    "failed audits",
    fix="Run the vendor audit (or obtain the vendor's audit report), then record `audit.last` and "
    "`audit.result`.",
)
def vendor_audit(ctx: CheckContext) -> Iterator[Issue]:
    """A vendor whose next audit date (last audit + ``audit.every``) has passed, that was never
    audited, or whose last audit failed (high)."""
    for v in ctx.registry.vendors:
        if v.audit is None:
            continue
        due = audit_due(v.audit)
        if due is None:
            yield Issue(f"vendor:{v.key}", f"{v.name} has never been audited.", key="never")
        elif due < ctx.today:
            yield Issue(
                f"vendor:{v.key}",
                f"{v.name}'s audit was due on {due} (last {v.audit.last}, every {v.audit.every}).",
                key="overdue",
            )
        if v.audit.result == "failed":
            yield Issue(
                f"vendor:{v.key}",
                f"{v.name}'s last audit ({v.audit.last}) failed.",
                severity="high",
                fix="Agree a remediation plan with the vendor and re-audit; suspend transfers "
                "of personal data if the failures put people at risk.",
                key="failed",
            )
