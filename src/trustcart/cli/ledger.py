"""``trustcart ledger``: inspect and verify the hash-chained logs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    console,
    err_console,
    open_workspace,
    print_json,
    print_table,
)
from trustcart.errors import NotFound
from trustcart.store import CopyCheck, Store

app = typer.Typer(help="Hash-chained evidence logs.", no_args_is_help=True)


def _copy_checks() -> dict[str, Callable[[Store], CopyCheck]]:
    """Logs that have a queryable copy table, and the check comparing it with the log (one
    list, shared with the dashboard: :func:`trustcart.evidence.copy_checks`)."""
    from trustcart.evidence import copy_checks

    return copy_checks()


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
    anchors: Annotated[
        Path | None,
        typer.Option(
            "--anchors",
            help="Anchor file written by `trustcart ledger anchor`: also check that the chains "
            "still hold the anchored heads (catches a rewritten history).",
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Recompute every hash chain; exit 1 and name the first bad position if one is broken."""
    from trustcart.store import check_anchors, read_anchors

    anchor_list = read_anchors(anchors) if anchors else []
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
        anchored = check_anchors(ws.store, [a for a in anchor_list if not names or a.log in wanted])
    rows = [r.to_dict() for r in results]
    rows += [
        {
            "log": f"{c.anchor.log} (anchor {c.anchor.seq} @ {c.anchor.at[:19]})",
            "ok": c.ok,
            "checked": 1,
            "first_bad": None if c.ok else c.anchor.seq,
            "reason": c.reason,
        }
        for c in anchored
    ]
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


@app.command()
def anchor(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Anchor file to append to (default: anchors.jsonl "
            "in the workspace). Copy it somewhere the database's admins cannot write.",
        ),
    ] = None,
) -> None:
    """Append every log's current head to an anchor file and print it (keep a copy elsewhere)."""
    from trustcart.store import take_anchors, write_anchors

    with open_workspace(ctx) as ws:
        found = take_anchors(ws.store)
        path = output or ws.root / "anchors.jsonl"
    n = write_anchors(path, found)
    for a in found:
        console.print(a.to_json(), highlight=False, soft_wrap=True)
    err_console.print(
        f"appended {n} anchor(s) to {path}; verify with `trustcart ledger verify --anchors {path}`"
    )
