"""``trustcart db``: schema migrations."""

from __future__ import annotations

import typer

from trustcart.cli._common import console, workspace_dir
from trustcart.store import migrate
from trustcart.workspace import Workspace

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Apply all pending migrations (also done automatically when a workspace opens)."""
    with Workspace.open(workspace_dir(ctx), upgrade=False) as ws:
        before = migrate.current_revision(ws.store.engine)
        migrate.upgrade(ws.store.engine)
        after = migrate.current_revision(ws.store.engine)
    console.print(f"database at revision {after} (was {before or 'empty'})")


@app.command()
def current(ctx: typer.Context) -> None:
    """Show the database's revision and the newest one this TrustCart ships."""
    with Workspace.open(workspace_dir(ctx), upgrade=False) as ws:
        cur = migrate.current_revision(ws.store.engine)
        head = migrate.head_revision(ws.store.engine)
    state = "up to date" if cur == head else "needs `trustcart db upgrade`"
    console.print(f"current: {cur or 'empty'}  head: {head}  ({state})")
