"""``scan()``: run the registered checks over a workspace (or a bare data map)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from trustcart.clock import utcnow
from trustcart.compliance.finding import Finding, ScanResult
from trustcart.compliance.registry import CheckContext, select_checks

if TYPE_CHECKING:
    from trustcart.assessments.records import Records
    from trustcart.catalog import DataMap
    from trustcart.rules import Rules
    from trustcart.workspace import Workspace


def run_checks(ctx: CheckContext, *, areas: Iterable[str] | None = None) -> ScanResult:
    """Run the checks of ``areas`` (all by default) against ``ctx``."""
    checks = select_checks(areas)
    findings: list[Finding] = []
    for c in checks:
        findings.extend(c.run(ctx))
    return ScanResult.build(
        findings,
        checks=[c.id for c in checks],
        areas=sorted({c.area for c in checks}),
        rules_version=str(ctx.rules.version),
        generated_at=utcnow(),
    )


def scan(
    workspace: Workspace,
    *,
    areas: Iterable[str] | None = None,
    rules: Rules | None = None,
    on: date | None = None,
) -> ScanResult:
    """Scan a workspace: its data map, consent ledger, notices, audits and model registry.

    Findings are sorted most severe first; ``areas`` limits the scan to those areas
    (``ValidationError`` for an unknown one); ``on`` is the day dates are judged against.
    """
    from trustcart.catalog.repository import load_datamap
    from trustcart.rules import load_rules

    ctx = CheckContext(
        datamap=load_datamap(workspace.store),
        rules=rules if rules is not None else load_rules(),
        store=workspace.store,
        on=on,
        settings=workspace.settings,
    )
    return run_checks(ctx, areas=areas)


def scan_datamap(
    datamap: DataMap,
    *,
    areas: Iterable[str] | None = None,
    rules: Rules | None = None,
    records: Records | None = None,
    on: date | None = None,
) -> ScanResult:
    """Scan a data map alone (no ledger, audits or models): e.g. a manifest in a pull request,
    with the records manifest (vendors, DPIAs, AIAs) when given."""
    from trustcart.rules import load_rules

    ctx = CheckContext(
        datamap=datamap,
        rules=rules if rules is not None else load_rules(),
        records=records,
        on=on,
    )
    return run_checks(ctx, areas=areas)
