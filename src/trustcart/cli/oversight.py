"""``trustcart oversight``: a person approves a model version before it serves (thin shell).

Why a dashboard account names the approver: human oversight (EU AI Act Annex III 5(b) for
credit) must be traceable to a person with an oversight role, not to whoever runs the CLI.
"""

from __future__ import annotations

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

app = typer.Typer(
    help="Human oversight: approve (or reject) a model version before it serves (credit).",
    no_args_is_help=True,
)


@app.command()
def approve(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name, as registered.")],
    version: Annotated[str, typer.Argument(help="Model version.")],
    reviewer: Annotated[
        str, typer.Option(help="Dashboard username of the approver (role dpo, ethics, reviewer).")
    ],
    decision: Annotated[str, typer.Option(help="approved or rejected.")] = "approved",
    notes: Annotated[str, typer.Option(help="Why (required to reject).")] = "",
    aia: Annotated[
        str | None, typer.Option(help="The model's AIA key (default: the AIA naming the model).")
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="Decision kind, when the version is not registered yet.")
    ] = None,
) -> None:
    """Record a person's decision that a model version may (not) serve."""
    from trustcart.governance import approve_model

    with open_workspace(ctx) as ws:
        r = approve_model(
            ws.store,
            model,
            version,
            reviewer=reviewer,
            decision=decision,
            notes=notes,
            aia=aia,
            kind=kind,
        )
    err_console.print(
        f"{model} {version}: {r.decision} by {r.reviewer} ({r.role}); AIA {r.aia}, AI Act tier "
        f"{r.screening['tier']} ({r.id})"
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Oversight decisions, oldest first (the newest for a version counts)."""
    from trustcart.governance import oversight_records

    with open_workspace(ctx) as ws:
        rows = oversight_records(ws.store, model=model)
    if fmt is OutputFormat.json:
        print_json([r.to_dict() for r in rows])
        return
    print_table(
        "Human oversight",
        ["id", "model", "version", "decision", "reviewer", "role", "aia", "AI Act tier"],
        [
            (r.id, r.model, r.version, r.decision, r.reviewer, r.role, r.aia or "",
             r.screening.get("tier", ""))
            for r in rows
        ],
    )  # fmt: skip


@app.command()
def status(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Model version.")],
) -> None:
    """Whether a person approved a model version (exit 1 when not approved)."""
    from trustcart.governance import latest_oversight

    with open_workspace(ctx) as ws:
        r = latest_oversight(ws.store, model, version)
        kinds = ", ".join(ws.settings.human_oversight_kinds) or "none"
    if r is None:
        console.print(f"{model} {version}: no oversight decision (required for: {kinds})")
    else:
        console.print(
            f"{model} {version}: {r.decision} by {r.reviewer} ({r.role}) (required for: {kinds})"
        )
    if r is None or not r.approves:
        raise typer.Exit(1)
