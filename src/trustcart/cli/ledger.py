"""``trustcart ledger``: inspect and verify the hash-chained logs."""

from __future__ import annotations

from typing import Annotated

import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    open_workspace,
    print_json,
    print_table,
)

app = typer.Typer(help="Hash-chained evidence logs.", no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """List the logs with their length and head hash."""
    with open_workspace(ctx) as ws:
        rows = [(n, *ws.store.log(n).head()) for n in ws.store.log_names()]
    if fmt is OutputFormat.json:
        print_json([{"log": n, "head_seq": s, "head_hash": h} for n, s, h in rows])
    else:
        print_table("Logs", ["log", "entries", "head hash"], rows)


@app.command()
def verify(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None, typer.Argument(help="Logs to verify (default: all).")
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Recompute every hash chain; exit 1 and name the first bad position if one is broken."""
    from trustcart.evidence import verify_evidence

    with open_workspace(ctx) as ws:
        rows = [c.to_dict() for c in verify_evidence(ws.store, names or None)]
    if fmt is OutputFormat.json:
        print_json(rows)
    else:
        print_table(
            "Ledger verification",
            ["log", "ok", "checked", "first bad", "reason"],
            [
                (r["log"], "yes" if r["ok"] else "NO", r["checked"], r["first_bad"], r["reason"])
                for r in rows
            ],
        )
    if not all(r["ok"] for r in rows):
        raise typer.Exit(1)
