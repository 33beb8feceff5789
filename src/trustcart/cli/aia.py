"""``trustcart aia``: algorithmic impact assessments and EU AI Act screening."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from trustcart.assessments.aia import Decision
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
from trustcart.errors import NotFound, ValidationError

app = typer.Typer(
    help="Algorithmic impact assessments (EU AI Act screening).", no_args_is_help=True
)

DateOverrides = Annotated[
    list[str] | None,
    typer.Option(
        "--date", help="Override an AI Act milestone: KEY=YYYY-MM-DD (e.g. annex_iii=2027-12-02)."
    ),
]


def _overrides(values: list[str] | None) -> dict[str, date]:
    out: dict[str, date] = {}
    for v in values or []:
        key, sep, day = v.partition("=")
        parsed = parse_day(day) if sep else None
        if parsed is None:
            raise ValidationError(f"--date {v!r}: use KEY=YYYY-MM-DD")
        out[key.strip()] = parsed
    return out


@app.command("use-cases")
def use_cases(fmt: FormatOption = OutputFormat.table) -> None:
    """The AI Act use cases of the rule pack, with tier, citation and date."""
    from trustcart.rules import load_rules

    ai = load_rules().require_ai_act()
    if fmt is OutputFormat.json:
        print_json(ai.model_dump(mode="json"))
        return
    print_table(
        f"{ai.law}: use cases",
        ["key", "tier", "label", "citation", "applies from", "confidence"],
        [
            (u.key, u.tier, u.label, u.citation,
             f"{ai.dates[u.applies_from].date} ({u.applies_from})" if u.applies_from else "-",
             u.confidence)
            for u in ai.use_cases
        ],
    )  # fmt: skip


@app.command()
def show(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="AIA key.")],
    fmt: FormatOption = OutputFormat.table,
    on: OnOption = None,
    dates: DateOverrides = None,
) -> None:
    """An AIA with its AI Act screening on the day and the fairness audit attached."""
    from trustcart.assessments import (
        aia_document,
        audit_summary,
        latest_audit_for,
        load_records,
        screen_ai_act,
    )
    from trustcart.clock import utcnow
    from trustcart.rules import load_rules

    with open_workspace(ctx) as ws:
        record = load_records(ws.store).aia(key)
        if record is None:
            raise NotFound(f"no AIA {key!r}; load it with trustcart records load")
        audit = latest_audit_for(ws.store, record)
    day = parse_day(on) or utcnow().date()
    screening = screen_ai_act(
        load_rules(), record.use_cases, profiling=record.profiling, on=day, dates=_overrides(dates)
    )
    attached = audit_summary(audit) if audit else None
    if fmt is OutputFormat.json:
        print_json(aia_document(record, screening, audit))
        return
    console.print(f"[bold]{record.key}[/] — model {record.model}: AI Act tier {screening.tier}")
    for n in screening.notes:
        console.print(f"  {n}")
    print_table(
        "AI Act screening",
        ["use case", "tier", "citation", "applies from", "in force", "confidence"],
        [(u.key, u.tier, u.citation, u.applies_from or "-", "yes" if u.in_force else "no",
          u.confidence) for u in screening.use_cases],
    )  # fmt: skip
    if attached:
        console.print(
            f"Fairness audit {attached['id']} ({attached['created_at']}, {attached['source']}): "
            f"{attached['findings']}"
        )
    else:
        console.print("No fairness audit stored.")
    a = record.approval
    if a is None:
        console.print("Not reviewed.")
    else:
        state = "" if record.approved or a.decision == "rejected" else " (outdated: changed since)"
        conds = f"; conditions: {'; '.join(a.conditions)}" if a.conditions else ""
        console.print(f"{a.decision} by {a.by} on {a.decided_on}{state}{conds}")


@app.command()
def approve(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="AIA key.")],
    by: Annotated[str, typer.Option("--by", help="Reviewer (ethics committee).")],
    decision: Annotated[
        str, typer.Option("--decision", help="approved, approved_with_conditions or rejected")
    ] = "approved",
    condition: Annotated[list[str] | None, typer.Option("--condition", help="Repeatable.")] = None,
    on: OnOption = None,
) -> None:
    """Record the ethics committee's decision on an AIA."""
    from trustcart.assessments import approve_aia

    allowed = ("approved", "approved_with_conditions", "rejected")
    if decision not in allowed:
        raise ValidationError(f"invalid --decision {decision!r}; one of: {', '.join(allowed)}")
    choice: Decision = decision  # type: ignore[assignment]
    with open_workspace(ctx) as ws:
        a = approve_aia(
            ws.store, key, by=by, decision=choice, conditions=condition, on=parse_day(on)
        )
    assert a.approval is not None
    err_console.print(f"AIA {key}: {a.approval.decision} by {by} on {a.approval.decided_on}")
