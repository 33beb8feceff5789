"""``trustcart audit``: a fairness audit of a file or a database table (thin shell).

Contract (other tools script it): ``trustcart audit SOURCE --group COL [--group COL …]
--outcome COL [--kind binary|continuous|ranking] [--label COL] [--position COL]
[--min-group-size N] [--table NAME] [--format table|json|html] [--output PATH]``.
"""

from __future__ import annotations

import io
from enum import StrEnum
from typing import Annotated

import orjson
import typer
from rich.console import Console

from trustcart.cli._common import OutputOption, console, err_console, workspace_dir, write_output
from trustcart.config import CONFIG_FILE


class AuditFormat(StrEnum):
    """``--format`` of an audit."""

    table = "table"
    json = "json"
    html = "html"


class AuditKind(StrEnum):
    """``--kind`` of an audit."""

    binary = "binary"
    continuous = "continuous"
    ranking = "ranking"


class Favourable(StrEnum):
    """Which direction of a continuous outcome favours the person."""

    higher = "higher"
    lower = "lower"  # type: ignore[assignment]  # shadows str.lower; the value is what counts


def audit(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="A .parquet/.csv file (or folder/glob of them), or a database URL "
            "(postgres://user@host/db) with --table."
        ),
    ],
    group: Annotated[
        list[str],
        typer.Option("--group", "-g", help="Group column; repeat for intersectional groups."),
    ],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column.")],
    kind: Annotated[AuditKind, typer.Option("--kind", help="Kind of outcome.")] = (
        AuditKind.binary
    ),
    label: Annotated[
        str | None, typer.Option("--label", help="Ground-truth 0/1 column (binary): TPR/FPR.")
    ] = None,
    position: Annotated[
        str | None,
        typer.Option("--position", help="1-based rank column (ranking; default: the outcome)."),
    ] = None,
    min_group_size: Annotated[
        int, typer.Option("--min-group-size", help="Suppress groups with fewer usable rows.")
    ] = 10,
    table: Annotated[
        str | None, typer.Option("--table", help="Table to audit, with a database URL.")
    ] = None,
    favourable: Annotated[
        Favourable,
        typer.Option("--favourable", help="Continuous outcomes: is higher or lower better?"),
    ] = Favourable.higher,
    fmt: Annotated[
        AuditFormat, typer.Option("--format", "-f", help="table, json (scripts) or html.")
    ] = AuditFormat.table,
    output: OutputOption = None,
) -> None:
    """Fairness audit: group metrics, significance and findings; stored in the workspace."""
    from trustcart.fairness import audit as run_audit
    from trustcart.fairness import report
    from trustcart.fairness.store import save_audit

    result = run_audit(
        source,
        groups=group,
        outcome=outcome,
        kind=kind.value,
        label=label,
        position=position,
        min_group_size=min_group_size,
        table=table,
        favourable=favourable.value,
    )
    folder = workspace_dir(ctx)
    if (folder / CONFIG_FILE).is_file():
        from trustcart.workspace import Workspace

        with Workspace.open(folder) as ws:
            audit_id = save_audit(ws.store, result)
        err_console.print(f"stored audit {audit_id} in workspace {folder}")
    else:
        err_console.print(
            f"not stored: {folder} is not a workspace (no {CONFIG_FILE}); "
            "give -w DIR to keep audits as evidence"
        )
    if fmt is AuditFormat.json:
        write_output(
            orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2, default=str).decode(),
            output,
        )
    elif fmt is AuditFormat.html:
        write_output(report.to_html(result), output)
    elif output is None:
        console.print(report.to_rich(result))
    else:
        capture = Console(record=True, width=120, file=io.StringIO())
        capture.print(report.to_rich(result))
        write_output(capture.export_text(), output)
