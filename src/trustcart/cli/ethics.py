"""``trustcart ethics`` (reviews of model versions) and ``trustcart concerns`` (whistleblower
reports, for the ethics role only).

Why ``concerns`` asks for an API key even on the command line: reports are readable only by
the ethics committee, and whoever runs the CLI may be anyone with access to the workspace. The
key (``--key`` or ``TRUSTCART_API_KEY``) must be of the ``ethics`` role, and each read is
written to the access log under that key, exactly as over the API.
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
from trustcart.errors import PermissionDenied, ValidationError
from trustcart.governance import ConcernThread, Principal, Scope
from trustcart.workspace import Workspace

app = typer.Typer(
    help="Ethics committee reviews of model versions (approve, with conditions, reject).",
    no_args_is_help=True,
)
concerns_app = typer.Typer(
    help="Concerns raised through /concerns (ethics role key required).", no_args_is_help=True
)
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        envvar="TRUSTCART_API_KEY",
        help="API key of the ethics role (or set TRUSTCART_API_KEY).",
        show_default=False,
    ),
]
PurposeOption = Annotated[
    str | None, typer.Option("--purpose", help="Why you read it (access log); default the role's.")
]


@app.command()
def review(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name, as registered with the gateway.")],
    version: Annotated[str, typer.Argument(help="Model version.")],
    decision: Annotated[str, typer.Option(help="approved, approved_with_conditions or rejected.")],
    reviewer: Annotated[str, typer.Option(help="Who decided (the ethics committee).")],
    reasons: Annotated[str, typer.Option(help="Why (required to reject).")] = "",
    condition: Annotated[
        list[str] | None,
        typer.Option("--condition", help="Repeatable; for approved_with_conditions."),
    ] = None,
    aia: Annotated[
        str | None, typer.Option(help="The model's AIA key: the decision is recorded on it too.")
    ] = None,
) -> None:
    """Record the ethics committee's decision on a model version."""
    from trustcart.governance import review_model

    with open_workspace(ctx) as ws:
        r = review_model(
            ws.store,
            model,
            version,
            decision=decision,
            reviewer=reviewer,
            reasons=reasons,
            conditions=condition,
            aia=aia,
        )
    conds = f"; conditions: {'; '.join(r.conditions)}" if r.conditions else ""
    err_console.print(f"{model} {version}: {r.decision} by {r.reviewer} ({r.id}){conds}")


@app.command("list")
def list_(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    version: Annotated[str | None, typer.Option(help="Only this version.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Ethics reviews, oldest first (the newest for a version is the one that counts)."""
    from trustcart.governance import ethics_reviews

    with open_workspace(ctx) as ws:
        rows = ethics_reviews(ws.store, model=model, version=version)
    if fmt is OutputFormat.json:
        print_json([r.to_dict() for r in rows])
        return
    print_table(
        "Ethics reviews",
        ["id", "model", "version", "decision", "reviewer", "conditions", "reasons", "aia"],
        [
            (r.id, r.model, r.version, r.decision, r.reviewer, "; ".join(r.conditions),
             r.reasons, r.aia or "")
            for r in rows
        ],
    )  # fmt: skip


@app.command()
def status(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Model version.")],
) -> None:
    """Whether a model version may be served (exit 1 when not approved)."""
    from trustcart.governance import latest_review

    with open_workspace(ctx) as ws:
        r = latest_review(ws.store, model, version)
        required = ws.settings.require_ethics_approval
    need = "required" if required else "not required by this workspace"
    if r is None:
        console.print(f"{model} {version}: no ethics review (approval {need})")
    else:
        console.print(f"{model} {version}: {r.decision} by {r.reviewer} (approval {need})")
    if r is None or not r.approves:
        raise typer.Exit(1)


def _principal(ws: Workspace, key: str | None, scope: Scope) -> Principal:
    from trustcart.governance import authenticate

    if not key:
        raise ValidationError(
            "concerns are readable only by the ethics role: pass --key with an ethics key "
            "(or set TRUSTCART_API_KEY)"
        )
    principal = authenticate(ws.store, key)
    if not principal.can(scope):
        raise PermissionDenied(
            f"role {principal.role.value!r} lacks scope {scope.value!r}: only the ethics role "
            "reads concerns"
        )
    return principal


def _logged(
    ws: Workspace,
    key: str | None,
    scope: Scope,
    command: str,
    purpose: str | None,
    concern_id: str | None = None,
) -> Principal:
    """Authenticate, check the scope, and write the access-log entry before reading."""
    from trustcart.governance import record_access, resolve_purpose

    principal = _principal(ws, key, scope)
    record_access(
        ws.store,
        principal,
        scope=scope,
        route=f"trustcart concerns {command}",
        method="CLI",
        channel="cli",
        purpose=resolve_purpose(
            purpose, principal.role, required=ws.settings.access_purpose_required
        ),
        object=concern_id,
    )
    return principal


def _print_thread(thread: ConcernThread, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        print_json(thread.to_dict())
        return
    console.print(
        f"[bold]{thread.id}[/] ({thread.status}) received {thread.received_on}; "
        f"category {thread.category}; system {thread.system or '-'}",
        highlight=False,
    )
    for m in thread.messages:
        console.print(f"\n[bold]{m.author}[/] · {m.created_on}", highlight=False)
        console.print(m.text, highlight=False, markup=False)


@concerns_app.command("list")
def concerns_list(
    ctx: typer.Context,
    key: KeyOption = None,
    status: Annotated[str | None, typer.Option(help="open, answered or closed.")] = None,
    purpose: PurposeOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Concerns without their text, those awaiting a reply first."""
    from trustcart.governance import ConcernBox

    if status not in (None, "open", "answered", "closed"):
        raise ValidationError("--status must be open, answered or closed")
    with open_workspace(ctx) as ws:
        _logged(ws, key, Scope.CONCERNS_READ, "list", purpose)
        rows = ConcernBox.of(ws).summaries(status=status)
    if fmt is OutputFormat.json:
        print_json([c.to_dict() for c in rows])
        return
    print_table(
        "Concerns",
        ["id", "status", "received", "updated", "messages", "awaiting reply"],
        [
            (c.id, c.status, c.received_on, c.updated_on, c.messages,
             "yes" if c.awaiting_reply else "")
            for c in rows
        ],
    )  # fmt: skip


@concerns_app.command("show")
def concerns_show(
    ctx: typer.Context,
    concern_id: Annotated[str, typer.Argument(help="Concern id (c_…).")],
    key: KeyOption = None,
    purpose: PurposeOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """One concern with its messages."""
    from trustcart.governance import ConcernBox

    with open_workspace(ctx) as ws:
        _logged(ws, key, Scope.CONCERNS_READ, "show", purpose, concern_id)
        thread = ConcernBox.of(ws).read(concern_id)
    _print_thread(thread, fmt)


@concerns_app.command("reply")
def concerns_reply(
    ctx: typer.Context,
    concern_id: Annotated[str, typer.Argument(help="Concern id (c_…).")],
    text: Annotated[str, typer.Option("--text", help="The answer the reporter will read.")],
    key: KeyOption = None,
    purpose: PurposeOption = None,
) -> None:
    """Answer the reporter (they read it with their follow-up code)."""
    from trustcart.governance import ConcernBox

    with open_workspace(ctx) as ws:
        p = _logged(ws, key, Scope.CONCERNS_WRITE, "reply", purpose, concern_id)
        thread = ConcernBox.of(ws).reply(concern_id, text, actor=p.key_id)
    err_console.print(f"{concern_id}: replied ({len(thread.messages)} messages)")


@concerns_app.command("close")
def concerns_close(
    ctx: typer.Context,
    concern_id: Annotated[str, typer.Argument(help="Concern id (c_…).")],
    key: KeyOption = None,
    purpose: PurposeOption = None,
) -> None:
    """Close a concern (the reporter can still read it)."""
    from trustcart.governance import ConcernBox

    with open_workspace(ctx) as ws:
        p = _logged(ws, key, Scope.CONCERNS_WRITE, "close", purpose, concern_id)
        ConcernBox.of(ws).close(concern_id, actor=p.key_id)
    err_console.print(f"{concern_id}: closed")
