"""The ``trustcart`` command line: a thin Typer shell over the domain packages.

Every command parses, calls one domain function and renders. Errors from the domain
(``TrustCartError``) print their message and exit with status 2; a failed verification or
check exits with status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer import _click  # typer vendors click; its Context is the one passed here
from typer.core import TyperGroup

from trustcart.cli import (
    aia,
    audience,
    audit,
    catalog,
    consent,
    db,
    demo,
    dpia,
    ethics,
    gateway,
    governance,
    keys,
    ledger,
    models,
    monitor,
    oversight,
    privacy,
    records,
    review,
    rights,
    rules,
    scan,
    serve,
    sitescan,
    transfers,
    users,
    vendors,
)
from trustcart.cli._common import err_console, report_error
from trustcart.errors import TrustCartError


class _Group(TyperGroup):
    """Root command group: turns a ``TrustCartError`` into its message and exit status 2.

    Doing it here (not only in ``main``) means tests driving the app with ``CliRunner`` see
    exactly what a user sees.
    """

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrustCartError as exc:
            report_error(exc)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Group,
    name="trustcart",
    help="Lawful and fair AI personalization for online shops.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="TRUSTCART_WORKSPACE",
            help="Workspace folder (holds trustcart.toml). Default: current directory.",
        ),
    ] = None,
) -> None:
    """TrustCart: data map, consent, decisions, fairness audits and data subject rights."""
    ctx.obj = {"workspace": workspace}


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")] = Path(
        "."
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing trustcart.toml.")] = False,
) -> None:
    """Create a workspace: trustcart.toml, a pseudonym key file and the SQLite database."""
    from trustcart.workspace import Workspace

    with Workspace.create(directory, force=force) as ws:
        err_console.print(
            f"created workspace {ws.root} (database: {ws.store.dialect}); "
            f"next: trustcart -w {directory} catalog load examples/shop.yaml"
        )


app.command()(serve.serve)
app.command()(demo.demo)
app.command()(scan.scan)
app.command(name="scan-site")(sitescan.scan_site)
app.add_typer(audit.app, name="audit")
app.add_typer(catalog.app, name="catalog")
app.add_typer(consent.app, name="consent")
app.add_typer(gateway.app, name="gateway")
app.add_typer(db.app, name="db")
app.add_typer(ledger.app, name="ledger")
app.add_typer(models.app, name="models")
app.add_typer(monitor.app, name="monitor")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(privacy.app, name="privacy")
app.add_typer(rules.app, name="rules")
app.add_typer(records.app, name="records")
app.add_typer(vendors.app, name="vendors")
app.add_typer(transfers.app, name="transfers")
app.add_typer(dpia.app, name="dpia")
app.add_typer(aia.app, name="aia")
app.add_typer(rights.app, name="rights")
app.add_typer(rights.retention_app, name="retention")
app.add_typer(review.app, name="review")
app.add_typer(governance.access_app, name="access")
app.add_typer(governance.training_app, name="training")
app.add_typer(ethics.app, name="ethics")
app.add_typer(oversight.app, name="oversight")
app.add_typer(audience.app, name="audience")
app.add_typer(ethics.concerns_app, name="concerns")


def main() -> None:
    """Console-script entry point."""
    app()
