"""``trustcart users``: accounts of the DPO dashboard (``trustcart serve``, then /dashboard).

The password is never a command-line argument (it would land in shell history and in the
process list): it is read from ``$TRUSTCART_USER_PASSWORD`` when set (for scripts and
deployments), else asked twice at a hidden prompt.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Annotated

import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    err_console,
    open_workspace,
    print_json,
    print_table,
)
from trustcart.governance import Role, create_user, disable_user, list_users, set_password

PASSWORD_ENV = "TRUSTCART_USER_PASSWORD"  # noqa: S105 - the variable's name, not a secret

app = typer.Typer(
    help="Dashboard users (passwords stored as Argon2id hashes).", no_args_is_help=True
)

UsernameOption = Annotated[
    str, typer.Option("--username", "-u", help="Login name (lower-case letters, digits, . _ @ -).")
]


def _password(username: str) -> str:
    value = os.environ.get(PASSWORD_ENV)
    if value:
        err_console.print(f"using the password from ${PASSWORD_ENV}")
        return value
    password: str = typer.prompt(
        f"Password for {username}", hide_input=True, confirmation_prompt=True, err=True
    )
    return password


@app.command()
def create(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option(help="Role granting the user's scopes.")],
    username: UsernameOption = "admin",
) -> None:
    """Create a user; the password comes from $TRUSTCART_USER_PASSWORD or a hidden prompt."""
    password = _password(username)
    with open_workspace(ctx) as ws:
        info = create_user(ws.store, username=username, role=role, password=password)
    err_console.print(
        f"created user {info.username} ({info.id}, role {info.role}); "
        "log in at http://HOST:PORT/dashboard/ after `trustcart serve`"
    )


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """List users (never their password hashes)."""
    with open_workspace(ctx) as ws:
        users = list_users(ws.store)
    if fmt is OutputFormat.json:
        print_json([asdict(u) for u in users])
    else:
        print_table(
            "Dashboard users",
            ["id", "username", "role", "created", "last login", "disabled"],
            [
                (u.id, u.username, u.role, u.created_at, u.last_login_at, u.disabled_at)
                for u in users
            ],
        )


@app.command()
def passwd(ctx: typer.Context, username: UsernameOption) -> None:
    """Set a new password (ends the user's sessions and lifts a lockout)."""
    password = _password(username)
    with open_workspace(ctx) as ws:
        info = set_password(ws.store, username, password)
    err_console.print(f"password of {info.username} changed; their sessions were ended")


@app.command()
def disable(ctx: typer.Context, username: UsernameOption) -> None:
    """Disable a user at once (their sessions end)."""
    with open_workspace(ctx) as ws:
        info = disable_user(ws.store, username)
    err_console.print(f"disabled {info.username}")
