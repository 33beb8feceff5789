"""``trustcart gateway``: proxies, registered models, a person's decisions, log verification.

Training reference models on workspace data is ``trustcart models train`` (cli/models.py).
"""

from __future__ import annotations

from typing import Annotated

import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    console,
    open_workspace,
    print_json,
    print_table,
)

app = typer.Typer(help="Decision gateway: proxies, models, decision log.", no_args_is_help=True)
proxy_app = typer.Typer(help="Features blocked as proxies of protected attributes.")
app.add_typer(proxy_app, name="proxy")


@proxy_app.command("add")
def proxy_add(
    ctx: typer.Context,
    feature: Annotated[str, typer.Argument(help="Feature name as models declare it.")],
    reason: Annotated[str, typer.Option(help="Why it is a proxy (e.g. audit finding).")],
    source: Annotated[str, typer.Option(help="Who found it (audit id, 'manual').")] = "manual",
) -> None:
    """Block a feature in every gateway of the workspace."""
    from trustcart.gateway import register_proxy

    with open_workspace(ctx) as ws:
        register_proxy(ws.store, feature, reason, source)
    console.print(f"proxy {feature!r} registered; gateways drop it from now on")


@proxy_app.command("list")
def proxy_list(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """List the registered proxies."""
    from trustcart.gateway import list_proxies

    with open_workspace(ctx) as ws:
        proxies = list(list_proxies(ws.store).values())
    if fmt is OutputFormat.json:
        print_json([_proxy(p) for p in proxies])
    else:
        print_table(
            "Proxies",
            ["feature", "reason", "source", "since"],
            [(p.feature, p.reason, p.source, p.created_at) for p in proxies],
        )


def _proxy(p: object) -> dict[str, object]:
    return {k: getattr(p, k) for k in ("feature", "reason", "source", "created_at")}


@app.command()
def models(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Model versions the gateway has served (features, training-data sha256)."""
    from trustcart.gateway import list_models

    with open_workspace(ctx) as ws:
        rows = list_models(ws.store)
    if fmt is OutputFormat.json:
        print_json([_model(r) for r in rows])
    else:
        print_table(
            "Models",
            ["name", "version", "kind", "features", "training sha256"],
            [
                (
                    r.name,
                    r.version,
                    r.kind,
                    ", ".join(str(f["name"]) for f in r.features),
                    (r.training_sha256 or "")[:16],
                )
                for r in rows
            ],
        )


def _model(r: object) -> dict[str, object]:
    keys = ("name", "version", "kind", "features", "training_sha256", "created_at")
    return {k: getattr(r, k) for k in keys}


@app.command()
def decisions(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="The shop's id for the person (or pseudonym).")],
    limit: Annotated[int, typer.Option(min=1)] = 100,
    explain: Annotated[
        bool, typer.Option("--explain", help="With why each decision was taken.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A person's decisions, newest first (access requests); none once they were erased."""
    from trustcart.gateway import DecisionLog, Gateway, subject_decisions, subject_keys
    from trustcart.privacy import Pseudonymizer

    if explain:
        with open_workspace(ctx) as ws, Gateway(ws, commit="sync") as gw:
            explained = gw.explanations_for(subject, limit=limit)
        if fmt is OutputFormat.json:
            print_json(explained)
        else:
            print_table(
                "Decisions and why",
                ["id", "kind", "why"],
                [
                    (
                        e["decision_id"],
                        e["kind"],
                        e["explanation"]["text"] if e["explanation"] else e["unavailable"],
                    )
                    for e in explained
                ],
            )
        return
    with open_workspace(ctx) as ws:
        keys = subject_keys(ws.store, Pseudonymizer.of(ws))
        rows = subject_decisions(DecisionLog(ws.store), keys, subject, limit=limit)
    if fmt is OutputFormat.json:
        print_json(rows)
    else:
        print_table(
            "Decisions",
            ["id", "kind", "model", "personalised", "output", "at"],
            [
                (
                    r["id"],
                    r["kind"],
                    f"{r['model']}@{r['model_version']}",
                    r["personalised"],
                    r["output"],
                    r["created_at"],
                )
                for r in rows
            ],
        )


@app.command()
def verify(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Verify the decision log's chain and its queryable copy; exit 1 if either is broken."""
    from trustcart.gateway import DecisionLog

    with open_workspace(ctx) as ws:
        chain, copies = DecisionLog(ws.store).verify()
    ok = chain.ok and copies.ok
    if fmt is OutputFormat.json:
        keys = ("ok", "checked", "first_bad", "reason")
        print_json({"chain": chain.to_dict(), "copies": {k: getattr(copies, k) for k in keys}})
    else:
        console.print(
            f"chain: {'ok' if chain.ok else 'BROKEN'} ({chain.checked} entries"
            f"{'' if chain.ok else f', first bad {chain.first_bad}: {chain.reason}'}); "
            f"copies: {'ok' if copies.ok else 'BROKEN'}"
            f"{'' if copies.ok else f' (first bad {copies.first_bad}: {copies.reason})'}"
        )
    if not ok:
        raise typer.Exit(1)
