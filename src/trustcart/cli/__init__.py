"""The ``trustcart`` command line: a thin Typer shell over the domain packages.

Every command parses, calls one domain function and renders. Errors from the domain
(``TrustCartError``) print their message and exit with status 2; a failed verification or
check exits with status 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from trustcart.cli import db, keys, ledger
from trustcart.cli._common import err_console
from trustcart.errors import TrustCartError

app = typer.Typer(
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


app.add_typer(db.app, name="db")
app.add_typer(ledger.app, name="ledger")
app.add_typer(keys.app, name="keys")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except TrustCartError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        sys.exit(2)
