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
from trustcart.errors import NotFound

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
    with open_workspace(ctx) as ws:
        known = ws.store.log_names()
        wanted = names or known
        missing = sorted(set(wanted) - set(known))
        if missing:
            raise NotFound(
                f"no log named {', '.join(missing)}; existing: {', '.join(known) or 'none'}"
            )
        results = [ws.store.log(n).verify() for n in wanted]
        copies = None
        if "consent" in wanted:
            from trustcart.consent import verify_consent_copies

            copies = verify_consent_copies(ws.store)
    rows = [r.to_dict() for r in results]
    if copies is not None:
        rows.append(
            {
                "log": "consent (tables vs ledger)",
                "ok": copies.ok,
                "checked": copies.checked,
                "first_bad": copies.first_bad,
                "reason": copies.reason,
            }
        )
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
