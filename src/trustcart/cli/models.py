"""``trustcart models``: train the reference models on workspace data, list the registry."""

from __future__ import annotations

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

app = typer.Typer(
    help="Reference models: train on workspace data, list the registry.", no_args_is_help=True
)


@app.command()
def train(
    ctx: typer.Context,
    kind: Annotated[
        str, typer.Argument(help="Decision kind: price, offer, credit, recommend or rank.")
    ],
    data: Annotated[Path, typer.Option(help="Training data (.parquet or .csv).")],
    target: Annotated[
        str,
        typer.Option(
            help="Column to learn: the price adjustment (price), 0/1 taken (offer), 0/1 repaid "
            "(credit), or the item id (recommend, rank)."
        ),
    ],
    features: Annotated[
        list[str] | None,
        typer.Option(
            "--features",
            help="Inputs as NAME or NAME=REF[+REF], REF a data-map field (dataset.field) or a "
            "data category (system.operations for non-personal inputs); repeat or separate "
            "with commas. Default: every other column, found by name in the data map.",
        ),
    ] = None,
    purpose: Annotated[
        str | None, typer.Option(help="Data-map purpose the personal features serve.")
    ] = None,
    basket: Annotated[
        str | None,
        typer.Option(help="recommend/rank: the column grouping rows into baskets (order id)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Model name (default per kind).")] = None,
    rounds: Annotated[int, typer.Option(min=1, max=5000, help="price: boosting rounds.")] = 50,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Train a reference model, save it in the workspace and register the version."""
    from trustcart.models import train_model

    declared = [p for f in features or [] for p in f.split(",") if p.strip()] or None
    with open_workspace(ctx) as ws:
        trained = train_model(
            ws,
            kind,
            data,
            target=target,
            features=declared,
            purpose=purpose,
            basket=basket,
            name=name,
            rounds=rounds,
        )
    r = trained.record
    if fmt is OutputFormat.json:
        print_json(
            {
                "name": r.name,
                "version": r.version,
                "kind": r.kind,
                "rows": trained.rows,
                "features": r.features,
                "training_sha256": r.training_sha256,
                "artefact": r.artefact,
                "artefact_sha256": r.artefact_sha256,
                "notes": trained.notes,
            }
        )
        return
    feats = ", ".join(f"{f['name']} ({f.get('purpose') or 'non-personal'})" for f in r.features)
    console.print(f"registered {r.ref} for {r.kind}: {trained.rows} rows; features: {feats}")
    console.print(f"artefact {r.artefact}; training data sha256 {r.training_sha256}")
    for note in trained.notes:
        console.print(note)
    audit = {"price": " --kind continuous --favourable lower", "offer": "", "credit": ""}.get(
        r.kind
    )
    if audit is not None:
        err_console.print(
            f"next: audit the same file (`trustcart audit {data} --outcome {target} --group "
            f"COLUMN{audit}`), then restart `trustcart serve`",
            highlight=False,
        )
    else:
        err_console.print("next: restart `trustcart serve` to serve it", highlight=False)


@app.command("list")
def list_(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="Only this decision kind.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Registered model versions: features, training data, artefact, fairness audit, serving."""
    from trustcart.gateway import clearance, list_models
    from trustcart.models import serving_plan

    with open_workspace(ctx) as ws:
        records = list_models(ws.store, kind=kind)
        plan = serving_plan(ws)
        audits = {r.ref: clearance(ws.store, r) for r in records}
    serving = {c.record.ref: k for k, c in plan.items() if c.record is not None}
    if fmt is OutputFormat.json:
        print_json([r.summary(audits[r.ref], serving.get(r.ref)) for r in records])
        return
    print_table(
        "Models",
        ["model", "kind", "features", "data sha256", "fairness audit", "serves"],
        [
            (
                r.ref,
                r.kind,
                ", ".join(str(f["name"]) for f in r.features),
                (r.training_sha256 or "")[:12],
                audits[r.ref].describe(),
                serving.get(r.ref, "" if r.artefact else "(in code)"),
            )
            for r in records
        ],
    )
    idle = [k for k, c in plan.items() if c.record is None and c.reason]
    for k in idle:
        err_console.print(f"{k}: not served — {plan[k].reason}", highlight=False)
