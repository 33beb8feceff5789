"""``trustcart rights`` and ``trustcart retention``: data-subject requests from the terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from trustcart.errors import ValidationError

if TYPE_CHECKING:
    from trustcart.rights import RightsRequest

app = typer.Typer(
    help="Data-subject requests: access, erasure, correction, objection, explanation.",
    no_args_is_help=True,
)
retention_app = typer.Typer(
    help="Delete or anonymise rows kept past the data map's retention.", no_args_is_help=True
)

RequestId = Annotated[str, typer.Argument(help="Request id (rr_...).")]
Reason = Annotated[str, typer.Option(help="Why (sent to the person).")]


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values or []:
        key, sep, val = v.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"{what} {v!r}: write KIND=VALUE, e.g. email=ana@example.com")
        out[key.strip()] = val.strip()
    return out


def _show(req: RightsRequest, fmt: OutputFormat) -> None:
    today = datetime.now(UTC).date()
    if fmt is OutputFormat.json:
        print_json(req.to_dict(today))
        return
    d = req.to_dict(today)
    statutory = f"yes ({req.citation})" if req.statutory else "no (voluntary)"
    console.print(
        f"[bold]{req.id}[/bold]  {req.type}  [bold]{req.status}[/bold]\n"
        f"  jurisdiction {req.jurisdiction}; statutory right: {statutory}\n"
        f"  received {req.received_at:%Y-%m-%d %H:%M}Z; due {req.due_on} "
        f"({d['days_left']} days left{'; OVERDUE' if d['overdue'] else ''})"
        + (f"; acknowledge by {req.acknowledge_by}" if req.acknowledge_by else "")
        + ("; extended" if req.extended else "")
    )
    if req.reason:
        console.print(f"  reason: {req.reason}")
    result = req.result or {}
    changes = result.get("changes", [])
    if changes:
        print_table(
            "stores",
            ["dataset", "connector", "strategy", "found", "changed", "status", "note"],
            [
                [
                    c["dataset"],
                    c["connector"],
                    c.get("strategy"),
                    c["rows_found"],
                    c["rows_changed"],
                    c["status"],
                    c.get("note"),
                ]
                for c in changes
            ],
        )
    v = result.get("verification")
    if v:
        console.print(
            "  verification scan: "
            + (
                "[green]no identifier remains[/green]"
                if not v["remaining"]
                else f"[red]identifiers remain in {v['remaining']}[/red]"
            )
            + (f"; not checked: {', '.join(v['unchecked'])}" if v["unchecked"] else "")
        )
    if result.get("not_reachable"):
        console.print(f"  no connector (handle by hand): {', '.join(result['not_reachable'])}")


def _service(ws: Any) -> Any:
    from trustcart.rights import RightsService

    return RightsService(ws)


@app.command()
def submit(
    ctx: typer.Context,
    type_: Annotated[
        str,
        typer.Argument(
            metavar="TYPE",
            help="access, erasure, portability, "
            "rectification, restriction, objection, opt_out_*, "
            "limit_sensitive, explanation.",
        ),
    ],
    identifier: Annotated[
        list[str], typer.Option("--id", help="KIND=VALUE, e.g. email=ana@example.com (repeatable).")
    ],
    jurisdiction: Annotated[str | None, typer.Option("--jurisdiction", "-j")] = None,
    contact: Annotated[str | None, typer.Option(help="E-mail for the code and the answer.")] = None,
    change: Annotated[
        list[str] | None, typer.Option(help="FIELD=VALUE to correct (rectification; repeatable).")
    ] = None,
    decision: Annotated[str | None, typer.Option(help="Decision id (explanation).")] = None,
    channel: Annotated[str, typer.Option(help="How the request arrived.")] = "cli",
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Record a request (idempotent); a one-time code goes to the contact if needed."""
    from trustcart.rights import parse_request, parse_request_type

    details: dict[str, Any] = {}
    if change:
        details["changes"] = _pairs(change, "--change")
    if decision:
        details["decision_id"] = decision
    req_in = parse_request(
        type=parse_request_type(type_),
        identifiers=_pairs(identifier, "--id"),
        jurisdiction=jurisdiction,
        contact=contact,
        details=details,
        channel=channel,
    )
    with open_workspace(ctx) as ws:
        req, new = _service(ws).submit(req_in)
    if not new:
        err_console.print(f"an open {req.type} request for these identifiers exists: {req.id}")
    elif req.needs_verification:
        err_console.print(
            "a one-time code was sent (see `trustcart rights outbox`); then run "
            f"`trustcart rights verify {req.id} CODE`"
        )
    _show(req, fmt)


@app.command()
def verify(
    ctx: typer.Context,
    request_id: RequestId,
    code: Annotated[str, typer.Argument(help="The 6-digit code.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Check the one-time code the person received."""
    with open_workspace(ctx) as ws:
        _show(_service(ws).verify(request_id, code), fmt)


@app.command("send-code")
def send_code(ctx: typer.Context, request_id: RequestId) -> None:
    """Send a fresh one-time code (limited per request)."""
    with open_workspace(ctx) as ws:
        _service(ws).send_code(request_id)
    err_console.print("code sent")


@app.command("mark-verified")
def mark_verified(
    ctx: typer.Context,
    request_id: RequestId,
    method: Annotated[str, typer.Option(help="How identity was checked.")],
) -> None:
    """DPO: record an identity check made another way (logged-in session, in person)."""
    with open_workspace(ctx) as ws:
        _show(_service(ws).mark_verified(request_id, method=method), OutputFormat.table)


@app.command()
def run(ctx: typer.Context, request_id: RequestId, fmt: FormatOption = OutputFormat.table) -> None:
    """Carry the request out over every store (safe to repeat)."""
    with open_workspace(ctx) as ws:
        svc = _service(ws)
        try:
            req = svc.run(request_id)
        finally:
            if fmt is OutputFormat.table:
                _show(svc.get(request_id), fmt)
    if fmt is OutputFormat.json:
        print_json(req.to_dict(datetime.now(UTC).date()))


@app.command()
def status(
    ctx: typer.Context,
    request_id: Annotated[str | None, typer.Argument(help="One request (default: list).")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open requests.")] = False,
    steps: Annotated[bool, typer.Option(help="Show the request's log.")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """One request in detail, or the list (most urgent first)."""
    today = datetime.now(UTC).date()
    with open_workspace(ctx) as ws:
        svc = _service(ws)
        if request_id:
            req = svc.get(request_id)
            log = svc.steps(request_id) if steps else []
            if fmt is OutputFormat.json:
                print_json({**req.to_dict(today), **({"steps": log} if steps else {})})
                return
            _show(req, fmt)
            for s in log:
                extra = {k: v for k, v in s.items() if k not in ("request_id", "step", "at", "seq")}
                console.print(f"  {s['at']}  {s['step']}  {extra if extra else ''}")
            return
        reqs = svc.requests(open_only=open_only)
    _list(reqs, fmt, "rights requests")


def _list(reqs: list[Any], fmt: OutputFormat, title: str) -> None:
    today = datetime.now(UTC).date()
    if fmt is OutputFormat.json:
        print_json([r.to_dict(today) for r in reqs])
        return
    print_table(
        title,
        ["id", "type", "jurisdiction", "status", "due", "days left"],
        [
            [r.id, r.type, r.jurisdiction, r.status, r.due_on, r.days_left(today) if r.open else ""]
            for r in reqs
        ],
    )


@app.command()
def overdue(
    ctx: typer.Context,
    within: Annotated[
        int, typer.Option("--due-within", help="Also list requests due within this many days.")
    ] = 0,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Open requests past their legal deadline (and, with --due-within, those due soon)."""
    with open_workspace(ctx) as ws:
        svc = _service(ws)
        reqs = svc.overdue() + (svc.due_soon(within) if within else [])
    _list(reqs, fmt, "overdue" + (f" or due within {within} days" if within else ""))
    if any(r.due_on < datetime.now(UTC).date() for r in reqs):
        raise typer.Exit(1)


@app.command()
def extend(
    ctx: typer.Context,
    request_id: RequestId,
    reason: Reason,
) -> None:
    """Extend the period where the law allows; the person is told why and until when."""
    with open_workspace(ctx) as ws:
        _show(_service(ws).extend(request_id, reason), OutputFormat.table)


@app.command()
def deny(
    ctx: typer.Context,
    request_id: RequestId,
    reason: Reason,
) -> None:
    """Refuse the request; the person gets the reason and what the law lets them do next."""
    with open_workspace(ctx) as ws:
        _show(_service(ws).deny(request_id, reason), OutputFormat.table)


@app.command()
def package(
    ctx: typer.Context,
    request_id: RequestId,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="A .zip (JSON + CSV + HTML) or .html file.")
    ],
) -> None:
    """Write the access package of a completed access/portability/explanation request."""
    with open_workspace(ctx) as ws:
        zip_bytes, html = _service(ws).package(request_id)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".html":
        output.write_text(html)
    else:
        output.write_bytes(zip_bytes)
    err_console.print(f"wrote {output}")


@app.command()
def outbox(
    ctx: typer.Context,
    request: Annotated[str | None, typer.Option(help="Only this request.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Messages to people (codes, notices, answers) written by the default sender."""
    with open_workspace(ctx) as ws:
        msgs = _service(ws).outbox.messages(request)
    if fmt is OutputFormat.json:
        print_json([m.__dict__ for m in msgs])
        return
    for m in msgs:
        console.print(
            f"[bold]{m.created_at:%Y-%m-%d %H:%M}[/bold] {m.request_id} → {m.recipient}"
            f"\n  {m.subject}\n  {m.body}\n"
        )


@app.command()
def tasks(
    ctx: typer.Context,
    pending: Annotated[bool, typer.Option(help="Only tasks still waiting.")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Per-store tasks of requests (vendors that have not answered yet show as pending)."""
    with open_workspace(ctx) as ws:
        rows = _service(ws).tasks(pending_only=pending)
    if fmt is OutputFormat.json:
        print_json(rows)
        return
    print_table(
        "tasks",
        ["task", "request", "dataset", "action", "status", "updated"],
        [
            [t["id"], t["request_id"], t["dataset"], t["action"], t["status"], t["updated_at"]]
            for t in rows
        ],
    )


@retention_app.command("run")
def retention_run(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only; change nothing.")] = False,
    dataset: Annotated[list[str] | None, typer.Option(help="Only these datasets.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Apply every dataset's retention (its erase strategy on rows past the period)."""
    from trustcart.catalog.repository import load_datamap
    from trustcart.rights import run_retention

    with open_workspace(ctx) as ws:
        report = run_retention(
            load_datamap(ws.store),
            root=ws.root,
            now=datetime.now(UTC),
            dry_run=dry_run,
            datasets=dataset,
        )
    if fmt is OutputFormat.json:
        print_json(report.to_dict())
        return
    print_table(
        "retention" + (" (dry run: nothing changed)" if dry_run else ""),
        ["dataset", "strategy", "past retention", "changed", "status", "note"],
        [
            [
                c["dataset"],
                c.get("strategy"),
                c["rows_found"],
                c["rows_changed"],
                c["status"],
                c.get("note"),
            ]
            for c in report.changes
        ],
    )
    if report.no_retention:
        err_console.print(f"no retention declared: {', '.join(report.no_retention)}")
    if report.no_connector:
        err_console.print(f"no connector (not enforced): {', '.join(report.no_connector)}")
