"""``trustcart ledger``: inspect and verify the hash-chained logs."""

from __future__ import annotations

from collections.abc import Callable
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
from trustcart.store import CopyCheck, Store

app = typer.Typer(help="Hash-chained evidence logs.", no_args_is_help=True)


def _copy_checks() -> dict[str, Callable[[Store], CopyCheck]]:
    """Logs that have a queryable copy table, and the check comparing it with the log."""
    from trustcart.consent import verify_consent_copies
    from trustcart.gateway.log import verify_decision_copies

    return {"consent": verify_consent_copies, "decisions": verify_decision_copies}


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
        copies = [
            (f"{name} (table vs log)", check(ws.store))
            for name, check in _copy_checks().items()
            if name in wanted
        ]
    rows = [r.to_dict() for r in results]
    rows += [
        {
            "log": label,
            "ok": c.ok,
            "checked": c.checked,
            "first_bad": c.first_bad,
            "reason": c.reason,
        }
        for label, c in copies
    ]
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
