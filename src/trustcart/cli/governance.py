"""``trustcart access`` (access log, key reviews) and ``trustcart training`` (training records)."""

from __future__ import annotations

from datetime import datetime
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
from trustcart.cli.vendors import OnOption, parse_day
from trustcart.errors import ValidationError

access_app = typer.Typer(
    help="The access log of personal data and periodic access reviews of API keys.",
    no_args_is_help=True,
)
training_app = typer.Typer(
    help="Training records of staff with access to personal data.", no_args_is_help=True
)


@access_app.command("log")
def log_(
    ctx: typer.Context,
    key_id: Annotated[str | None, typer.Option("--key-id", help="Only this key.")] = None,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="Only reads of this person (id or pseudonym)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only entries at or after (ISO time).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Reads of personal data, newest first: who (key), what (route, object), why, when."""
    from trustcart.governance import access_entries
    from trustcart.privacy import Pseudonymizer

    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            raise ValidationError("--since needs an ISO time such as 2026-11-01T00:00Z") from None
        if start.tzinfo is None:
            raise ValidationError("--since needs a time zone (e.g. a trailing Z for UTC)")
    with open_workspace(ctx) as ws:
        found = Pseudonymizer.of(ws).candidates(subject) if subject else None
        entries = access_entries(ws.store, key_id=key_id, subject=found, since=start, limit=limit)
    if fmt is OutputFormat.json:
        print_json([e.to_dict() for e in entries])
        return
    print_table(
        "Access log (newest first)",
        ["seq", "at", "key", "role", "route", "kind", "object", "purpose"],
        [
            (e.seq, e.at.isoformat(timespec="seconds"), e.key_id, e.role,
             f"{e.method} {e.route}", e.kind, e.subject or e.object or "", e.purpose)
            for e in entries
        ],
    )  # fmt: skip


@access_app.command()
def verify(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Check the access log's hash chain and that its table copy agrees (exit 1 if not)."""
    from trustcart.governance import verify_access_log

    with open_workspace(ctx) as ws:
        result = verify_access_log(ws.store)
    if fmt is OutputFormat.json:
        print_json(result.to_dict())
    elif result.ok:
        console.print(f"access log OK: {result.chain.checked} entries, table copy agrees")
    else:
        bad = result.chain if not result.chain.ok else result.copy
        console.print(f"access log BROKEN at position {bad.first_bad}: {bad.reason}")
    if not result.ok:
        raise typer.Exit(1)


@access_app.command()
def grants(ctx: typer.Context, fmt: FormatOption = OutputFormat.table, on: OnOption = None) -> None:
    """Every active key: when its review is due, when it last read personal data."""
    from trustcart.governance import AccessPolicy, grant_status

    with open_workspace(ctx) as ws:
        rows = grant_status(ws.store, policy=AccessPolicy.of(ws.settings), on=parse_day(on))
    if fmt is OutputFormat.json:
        print_json([g.to_dict() for g in rows])
        return
    print_table(
        "API keys and their access reviews",
        ["key", "name", "role", "review due", "overdue", "last personal-data read", "unused"],
        [
            (g.key_id, g.name, g.role, g.due_on, "OVERDUE" if g.overdue else "",
             g.last_access.isoformat(timespec="seconds") if g.last_access else "never",
             "unused" if g.unused else "")
            for g in rows
        ],
    )  # fmt: skip


@access_app.command()
def review(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key reviewed.")],
    decision: Annotated[str, typer.Option(help="approved or revoked (revokes the key now).")],
    reviewer: Annotated[str, typer.Option(help="Who reviewed it.")],
    note: Annotated[str | None, typer.Option(help="Why (kept with the review).")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Review day (default today).")] = None,
) -> None:
    """Record an access review: re-approve the key until its next review, or revoke it."""
    from trustcart.governance import review_access

    with open_workspace(ctx) as ws:
        r = review_access(
            ws.store,
            key_id,
            decision=decision,
            reviewer=reviewer,
            note=note,
            on=parse_day(on),
            review_days=ws.settings.access_review_days,
        )
    nxt = f"; next review due {r.next_due}" if r.next_due else "; the key is revoked"
    err_console.print(f"{key_id}: {r.decision} by {r.reviewer} on {r.reviewed_on}{nxt}")


@access_app.command()
def reviews(
    ctx: typer.Context,
    key_id: Annotated[str | None, typer.Option("--key-id", help="Only this key.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Recorded access reviews, oldest first."""
    from trustcart.governance import access_reviews

    with open_workspace(ctx) as ws:
        rows = access_reviews(ws.store, key_id)
    if fmt is OutputFormat.json:
        print_json([r.to_dict() for r in rows])
        return
    print_table(
        "Access reviews",
        ["id", "key", "decision", "reviewer", "on", "next due", "note"],
        [(r.id, r.key_id, r.decision, r.reviewer, r.reviewed_on, r.next_due, r.note) for r in rows],
    )


@training_app.command()
def record(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="The person, named as their API key is.")],
    course: Annotated[str, typer.Argument(help="Course key, e.g. privacy_law or ethical_ai.")],
    completed: Annotated[str, typer.Option("--completed", help="Completion day YYYY-MM-DD.")],
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Expiry day (default: training_validity_days later)."),
    ] = None,
) -> None:
    """Record a completed course."""
    from trustcart.governance import record_training

    done = parse_day(completed)
    if done is None:
        raise ValidationError("--completed needs a date YYYY-MM-DD")
    with open_workspace(ctx) as ws:
        t = record_training(
            ws.store,
            person,
            course,
            done,
            expires_on=parse_day(expires),
            validity_days=ws.settings.training_validity_days,
        )
    err_console.print(f"recorded {t.course} for {t.person}: valid until {t.expires_on}")


@training_app.command("list")
def list_(
    ctx: typer.Context,
    person: Annotated[str | None, typer.Option(help="Only this person.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Training records, oldest completion first."""
    from trustcart.governance import training_records

    with open_workspace(ctx) as ws:
        rows = training_records(ws.store, person)
    if fmt is OutputFormat.json:
        print_json([t.to_dict() for t in rows])
        return
    print_table(
        "Training records",
        ["id", "person", "course", "completed", "expires"],
        [(t.id, t.person, t.course, t.completed_on, t.expires_on) for t in rows],
    )


@training_app.command()
def gaps(ctx: typer.Context, fmt: FormatOption = OutputFormat.table, on: OnOption = None) -> None:
    """People with access to personal data missing a required course (exit 1 if any)."""
    from trustcart.governance import training_gaps

    with open_workspace(ctx) as ws:
        rows = training_gaps(ws.store, required=ws.settings.training_required, on=parse_day(on))
    if fmt is OutputFormat.json:
        print_json([g.to_dict() for g in rows])
    elif not rows:
        console.print("Everyone with access to personal data has completed the required training.")
    else:
        print_table(
            "Training gaps",
            ["person", "keys", "roles", "course", "status", "expired on"],
            [
                (g.person, ", ".join(g.key_ids), ", ".join(g.roles), g.course, g.status,
                 g.expired_on or "")
                for g in rows
            ],
        )  # fmt: skip
    if rows:
        raise typer.Exit(1)
