"""Art. 49 derogations: explicit consent needs a consent purpose; all are read restrictively."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.checks.transfers import issues
from trustcart.compliance.registry import CheckContext, Issue, check


@check(
    "TC-TRF-003",
    area="transfers",
    title="Transfer relies on an Art. 49 derogation",
    severity="low",
    rule="GDPR Art. 49(1)",
    fix="Prefer an adequacy decision or an Art. 46 safeguard for regular transfers.",
)
def derogation_used(ctx: CheckContext) -> Iterator[Issue]:
    """A transfer relying on explicit consent (Art. 49(1)(a)) without a consent-based purpose
    for it in the data map (high); any derogation relied on (low: they are interpreted
    restrictively)."""
    yield from issues(ctx, {"derogation_consent_purpose", "derogation_relied_on"})
