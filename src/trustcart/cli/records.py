"""``trustcart records``: load the records manifest (vendors, screenings, DPIAs, AIAs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    err_console,
    open_workspace,
    print_json,
    print_table,
)

app = typer.Typer(
    help="Compliance records: vendors, DPIA screenings, DPIAs, AIAs (versioned).",
    no_args_is_help=True,
)


@app.command()
def load(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Records manifest(s), in order.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Validate records manifest(s) and store a new version of each changed record."""
    from trustcart.assessments import load_records_file, save_records

    parsed = [load_records_file(f) for f in files]  # all files valid before anything is written
    with open_workspace(ctx) as ws:
        results = [save_records(ws.store, r) for r in parsed]
    if fmt is OutputFormat.json:
        print_json({str(f): r.to_dict() for f, r in zip(files, results, strict=True)})
        return
    for f, r in zip(files, results, strict=True):
        err_console.print(
            f"{f}: {len(r.created)} created, {len(r.updated)} new version(s), "
            f"{r.unchanged} unchanged"
        )


@app.command()
def history(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="vendor, screening, dpia, aia or dpa_checklist")],
    key: Annotated[str, typer.Argument(help="Record key.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Every stored version of one record: when, by whom, content hash."""
    from trustcart.assessments import record_history

    with open_workspace(ctx) as ws:
        versions = record_history(ws.store, kind, key)
    if fmt is OutputFormat.json:
        print_json([v.to_dict() for v in versions])
        return
    print_table(
        f"{kind} {key}",
        ["version", "created_at", "actor", "sha256"],
        [(v.version, v.created_at.isoformat(), v.actor, v.body_hash[:16]) for v in versions],
    )
