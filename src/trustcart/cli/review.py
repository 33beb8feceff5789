"""``trustcart review``: contested decisions and their human review from the terminal.

``list`` and ``stats`` open nothing (no statement, no inputs). ``show``, ``assign`` and
``decide`` open or change a person's case, so they authenticate a key (``--key`` or
``TRUSTCART_API_KEY``) holding ``review:read`` / ``review:write`` and write the access-log entry
first, like the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    console,
    open_workspace,
    print_json,
    print_table,
)
from trustcart.errors import PermissionDenied, ValidationError
from trustcart.governance import Scope

if TYPE_CHECKING:
    from trustcart.governance import Principal
    from trustcart.review import ReviewDesk
    from trustcart.workspace import Workspace

app = typer.Typer(
    help="Human review of contested automated decisions (GDPR Art. 22(3), LGPD Art. 20, …).",
    no_args_is_help=True,
)
CaseId = Annotated[str, typer.Argument(help="Review case id (rv_...).")]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        envvar="TRUSTCART_API_KEY",
        help="API key of a reviewer (or the DPO); or set TRUSTCART_API_KEY.",
        show_default=False,
    ),
]
PurposeOption = Annotated[
    str | None, typer.Option("--purpose", help="Why you read it (access log); default the role's.")
]


def _logged(
    ws: Workspace, key: str | None, scope: Scope, command: str, purpose: str | None, case: str
) -> Principal:
    """Authenticate, check the scope, and write the access-log entry before opening a case."""
    from trustcart.governance import authenticate, record_access, resolve_purpose

    if not key:
        raise ValidationError(
            "a review case holds personal data: pass --key with a reviewer's API key (or set "
            "TRUSTCART_API_KEY); `trustcart keys create --role reviewer` makes one"
        )
    principal = authenticate(ws.store, key)
    if not principal.can(scope):
        raise PermissionDenied(
            f"role {principal.role.value!r} lacks scope {scope.value!r}",
            details={"required_scope": scope.value},
        )
    record_access(
        ws.store,
        principal,
        scope=scope,
        route=f"trustcart review {command}",
        method="CLI",
        channel="cli",
        purpose=resolve_purpose(
            purpose, principal.role, required=ws.settings.access_purpose_required
        ),
        object=case,
    )
    return principal


@app.command("list")
def list_(
    ctx: typer.Context,
    view: Annotated[str, typer.Option(help="open, overdue or all.")] = "open",
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Cases, earliest due first (no statement is opened)."""
    from trustcart.review import ReviewDesk

    if view not in ("open", "overdue", "all"):
        raise ValidationError("--view must be open, overdue or all")
    today = datetime.now(UTC).date()
    with open_workspace(ctx) as ws:
        desk = ReviewDesk(ws)
        cases = desk.overdue(today) if view == "overdue" else desk.cases(open_only=view == "open")
    if fmt is OutputFormat.json:
        print_json([c.to_dict() for c in cases])
        return
    print_table(
        f"Review cases ({view})",
        ["case", "decision", "kind", "jurisdiction", "group", "status", "due", "days left"],
        [
            [
                c.id,
                c.decision_id,
                c.kind,
                c.jurisdiction,
                c.group,
                c.status.value,
                c.due_on,
                (f"{c.days_left(today)}" + (" OVERDUE" if c.overdue(today) else ""))
                if c.open
                else "-",
            ]
            for c in cases
        ],
    )


@contextmanager
def _acting(
    ctx: typer.Context,
    key: str | None,
    purpose: str | None,
    action: str,
    case_id: str,
    scope: Scope = Scope.REVIEW_WRITE,
) -> Iterator[tuple[ReviewDesk, str]]:
    """The desk and the acting key's name as logged (``cli:NAME``), once the key is checked for
    ``scope`` and the access-log entry is written (404 first for an unknown case)."""
    from trustcart.review import ReviewDesk

    with open_workspace(ctx) as ws:
        desk = ReviewDesk(ws)
        desk.get(case_id)
        who = _logged(ws, key, scope, action, purpose, case_id)
        yield desk, f"cli:{who.name}"


@app.command()
def show(
    ctx: typer.Context,
    case_id: CaseId,
    key: KeyOption = None,
    purpose: PurposeOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """One case opened: decision, inputs, explanation, policy, the shopper's statement."""
    with _acting(ctx, key, purpose, "show", case_id, Scope.REVIEW_READ) as (desk, _):
        d = desk.detail(case_id)
    if fmt is OutputFormat.json:
        print_json(d.to_dict())
        return
    c = d.case
    law = c.citation if c.statutory else "no statutory right (voluntary review)"
    console.print(
        f"[bold]{c.id}[/] {c.status.value}; decision {c.decision_id} ({c.kind}, "
        f"{c.jurisdiction}, group {c.group or '-'})\n  law: {law}; due {c.due_on} "
        f"({d.frame.deadline_citation})",
        highlight=False,
    )
    console.print(f"  outcome: {d.outcome_text}", highlight=False, markup=False)
    console.print(f"  statement: {d.statement or '-'}", highlight=False, markup=False)
    console.print(
        "  inputs: " + orjson.dumps(d.decision.get("inputs")).decode(),
        highlight=False,
        markup=False,
    )
    if d.explanation:
        console.print(f"  why: {d.explanation.get('text')}", highlight=False, markup=False)
    console.print(
        f"  policy: model {d.policy['model']}@{d.policy['model_version']}; guardrails "
        + (
            "; ".join(
                f"{g['guardrail']} {g['before']}->{g['after']}" for g in d.policy["guardrails"]
            )
            or "none"
        ),
        highlight=False,
        markup=False,
    )
    if not c.open:
        console.print(
            f"  {c.status.value} by {c.reviewer}: {d.reasons}"
            + (f" -> {d.new_outcome_text}" if d.new_outcome_text else ""),
            highlight=False,
            markup=False,
        )


@app.command()
def assign(
    ctx: typer.Context,
    case_id: CaseId,
    key: KeyOption = None,
    purpose: PurposeOption = None,
) -> None:
    """Take a case (status in_review)."""
    with _acting(ctx, key, purpose, "assign", case_id) as (desk, who):
        case = desk.assign(case_id, who)
    console.print(f"{case.id} is in review by {case.assigned_to}", highlight=False)


@app.command()
def decide(
    ctx: typer.Context,
    case_id: CaseId,
    verdict: Annotated[str, typer.Option(help="uphold or override.")],
    reasons: Annotated[str, typer.Option(help="Why (the shopper reads it).")],
    change: Annotated[
        list[str] | None,
        typer.Option(help="Override: FIELD=VALUE of the corrected outcome, e.g. price=44.90."),
    ] = None,
    key: KeyOption = None,
    purpose: PurposeOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Uphold or override a contested decision; the shopper is told through the outbox."""
    changes: dict[str, Any] = {}
    for item in change or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"--change {item!r}: write FIELD=VALUE, e.g. price=44.90")
        changes[name.strip()] = value.strip() or None
    with _acting(ctx, key, purpose, "decide", case_id) as (desk, who):
        case = desk.decide(case_id, verdict, reasons, reviewer=who, changes=changes or None)
    if fmt is OutputFormat.json:
        print_json(case.to_dict())
    else:
        told = f"; shopper notified {case.notified_at:%Y-%m-%d %H:%M}Z" if case.notified_at else ""
        console.print(f"{case.id} {case.status.value}{told}", highlight=False)


@app.command()
def confirm(
    ctx: typer.Context,
    case_id: CaseId,
    key: KeyOption = None,
    purpose: PurposeOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Four-eyes review: confirm a verdict another reviewer proposed; it becomes final and the
    shopper is told."""
    with _acting(ctx, key, purpose, "confirm", case_id) as (desk, who):
        case = desk.confirm(case_id, reviewer=who)
    if fmt is OutputFormat.json:
        print_json(case.to_dict())
    else:
        console.print(f"{case.id} {case.status.value} (confirmed)", highlight=False)


@app.command("send-back")
def send_back(
    ctx: typer.Context,
    case_id: CaseId,
    reasons: Annotated[str, typer.Option(help="Why the proposed verdict goes back.")],
    key: KeyOption = None,
    purpose: PurposeOption = None,
) -> None:
    """Four-eyes review: do not confirm a proposed verdict; the case returns to in_review."""
    with _acting(ctx, key, purpose, "send-back", case_id) as (desk, who):
        case = desk.send_back(case_id, reasons, reviewer=who)
    console.print(f"{case.id} is back {case.status.value}", highlight=False)


@app.command()
def extend(
    ctx: typer.Context,
    case_id: CaseId,
    reason: Annotated[str, typer.Option(help="Why more time is needed (the shopper reads it).")],
    key: KeyOption = None,
    purpose: PurposeOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Extend a case's deadline once, where the law allows (e.g. GDPR Art. 12(3): two more
    months, decided within the first); the shopper is told why and until when."""
    with _acting(ctx, key, purpose, "extend", case_id) as (desk, who):
        case = desk.extend(case_id, reason, reviewer=who)
    if fmt is OutputFormat.json:
        print_json(case.to_dict())
    else:
        console.print(f"{case.id} now due {case.due_on.isoformat()}", highlight=False)


@app.command()
def stats(
    ctx: typer.Context,
    by: Annotated[str, typer.Option(help="group, jurisdiction or kind.")] = "group",
    min_group_size: Annotated[
        int, typer.Option("--min-group-size", help="Suppress groups with fewer reviewed cases.")
    ] = 10,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Overturn rate by group: a fairness signal (aggregates only)."""
    from trustcart.review import overturn_rates

    with open_workspace(ctx) as ws:
        report = overturn_rates(ws.store, by, min_group_size=min_group_size)
    if fmt is OutputFormat.json:
        print_json(report.to_dict())
        return
    rate = f"{report.rate:.1%}" if report.rate is not None else "-"
    print_table(
        f"Overturn rate by {by}: {report.overturned}/{report.resolved} reviewed ({rate})",
        [by, "contested", "reviewed", "overturned", "rate", "95% interval", "p (Holm)", "flag"],
        [
            [g.group or "-", "suppressed", "", "", "", "", "", ""]
            if g.suppressed
            else [
                g.group or "-",
                g.contested,
                g.resolved,
                g.overturned,
                f"{g.rate:.1%}" if g.rate is not None else "-",
                f"{g.interval[0]:.1%}-{g.interval[1]:.1%}" if g.interval else "-",
                f"{g.p_adjusted:.3g}" if g.p_adjusted is not None else "-",
                "differs" if g.flagged else "",
            ]
            for g in report.groups
        ],
    )
