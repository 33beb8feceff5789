"""``trustcart scan``: the compliance scanner, as a report and as a CI gate.

Exit codes: 0 no finding at or above ``--fail-on``; 1 at least one finding at or above it;
2 usage error (bad option, unknown area, no workspace).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from trustcart.cli._common import OutputOption, err_console, open_workspace, print_table
from trustcart.cli._common import write_output as _write
from trustcart.compliance.finding import Severity
from trustcart.errors import ValidationError


class ScanFormat(StrEnum):
    """Output formats of the scan."""

    table = "table"
    json = "json"
    sarif = "sarif"
    html = "html"
    pdf = "pdf"


class FailOn(StrEnum):
    """Lowest severity that fails the scan (exit 1)."""

    low = "low"
    medium = "medium"
    high = "high"
    never = "never"


_SEVERITY: dict[FailOn, Severity] = {
    FailOn.low: "low",
    FailOn.medium: "medium",
    FailOn.high: "high",
}


def scan(
    ctx: typer.Context,
    fmt: Annotated[
        ScanFormat,
        typer.Option(
            "--format",
            "-f",
            help="table for people, json/sarif for CI, html/pdf report (with the score trend).",
        ),
    ] = ScanFormat.table,
    output: OutputOption = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on", help="Exit 1 when any finding is at or above this severity (or never)."
        ),
    ] = FailOn.high,
    area: Annotated[
        list[str] | None,
        typer.Option("--area", "-a", help="Only this area (repeatable); default: all."),
    ] = None,
    record: Annotated[
        bool,
        typer.Option("--record", help="Keep this scan as a point of the dashboard's score trend."),
    ] = False,
    on: Annotated[
        str | None,
        typer.Option("--on", help="Judge expiry and due dates on this day (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """Compliance scan: findings with rule and fix; exit 1 at or above --fail-on, 2 on errors."""
    from trustcart.cli.vendors import parse_day
    from trustcart.compliance import scan as run_scan
    from trustcart.compliance import scan_history, table_rows, to_html, to_json, to_pdf
    from trustcart.compliance.render import to_sarif_text

    day = parse_day(on)
    if fmt is ScanFormat.pdf and output is None:
        raise ValidationError("--format pdf writes a binary file: give it with --output report.pdf")
    with open_workspace(ctx) as ws:
        result = run_scan(ws, areas=area or None, on=day)
        if record:
            from trustcart.compliance import record_scan

            snap = record_scan(ws.store, result, actor="cli")
            err_console.print(f"recorded scan {snap.id} (score {snap.score})")
        history = scan_history(ws.store) if fmt in (ScanFormat.html, ScanFormat.pdf) else []
    if fmt is ScanFormat.json:
        _write(to_json(result), output)
    elif fmt is ScanFormat.sarif:
        _write(to_sarif_text(result), output)
    elif fmt is ScanFormat.html:
        _write(to_html(result, history), output)
    elif fmt is ScanFormat.pdf:
        _write(to_pdf(result, history), output)
    else:
        if output is not None:
            err_console.print("--output is ignored with --format table")
        print_table(
            f"Compliance scan: score {result.score}/100 "
            f"(high {result.counts['high']}, medium {result.counts['medium']}, "
            f"low {result.counts['low']})",
            ["Severity", "Id", "Object", "Problem", "Fix"],
            table_rows(result),
        )
    if fail_on is not FailOn.never:
        threshold = _SEVERITY[fail_on]
        failing = result.at_or_above(threshold)
        if failing:
            err_console.print(f"{len(failing)} finding(s) at or above {threshold}")
            raise typer.Exit(1)
