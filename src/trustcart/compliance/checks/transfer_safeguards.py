"""Art. 46 safeguards that are incomplete: no transfer impact assessment, wrong SCC module."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.checks.transfers import issues
from trustcart.compliance.registry import CheckContext, Issue, check


@check(
    "TC-TRF-002",
    area="transfers",
    title="Transfer safeguard incomplete (TIA or SCC module)",
    severity="medium",
    rule="GDPR Art. 46; Commission Decision 2021/914 (SCCs); Schrems II, C-311/18 (2020-07-16)",
    fix="Record the transfer impact assessment and the SCC module that fits the parties' roles.",
)
def safeguard_incomplete(ctx: CheckContext) -> Iterator[Issue]:
    """SCCs or BCRs with no transfer impact assessment recorded, SCCs whose module does not fit
    the exporter's and importer's roles (medium), or SCCs whose module is not stated (low)."""
    yield from issues(ctx, {"tia_missing", "scc_wrong_module", "scc_module_missing"})
