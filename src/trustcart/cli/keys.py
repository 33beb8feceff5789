"""``trustcart keys``: API keys for the HTTP API."""

from __future__ import annotations

from dataclasses import asdict
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
from trustcart.governance import Role, create_key, list_keys, revoke_key

app = typer.Typer(help="API keys (stored hashed; shown once).", no_args_is_help=True)


@app.command()
def create(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option(help="Role granting the key's scopes.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")] = "cli-created",
) -> None:
    """Create a key and print its secret (store it now: it cannot be shown again)."""
    with open_workspace(ctx) as ws:
        secret, info = create_key(ws.store, role=role.value, name=name)
    err_console.print(f"created {info.id} (role {info.role}); the secret follows on stdout:")
    console.print(secret, highlight=False)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """List keys (never their secrets)."""
    with open_workspace(ctx) as ws:
        keys = list_keys(ws.store)
    if fmt is OutputFormat.json:
        print_json([asdict(k) for k in keys])
    else:
        print_table(
            "API keys",
            ["id", "name", "role", "created", "revoked"],
            [(k.id, k.name, k.role, k.created_at, k.revoked_at) for k in keys],
        )


@app.command()
def revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="Key id.")]) -> None:
    """Revoke a key immediately."""
    with open_workspace(ctx) as ws:
        revoke_key(ws.store, key_id)
    err_console.print(f"revoked {key_id}")
