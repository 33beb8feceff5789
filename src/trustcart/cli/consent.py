"""``trustcart consent``: record, show, check, prove; notices; stats; preference links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    OutputOption,
    console,
    err_console,
    open_workspace,
    print_json,
    print_table,
    write_output,
)
from trustcart.consent import Decision, Mechanism

app = typer.Typer(
    help="Consent ledger: record choices, check permissions, prove consent.", no_args_is_help=True
)
notice_app = typer.Typer(
    help="Notice versions (the exact text people are shown).", no_args_is_help=True
)
app.add_typer(notice_app, name="notice")

Jurisdiction = Annotated[
    str | None, typer.Option("--jurisdiction", "-j", help="e.g. EU, US-CA (default: settings).")
]


class ProofFormat(StrEnum):
    """Formats of a consent proof."""

    json = "json"
    html = "html"


@app.command()
def record(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="The shop's id for the person.")],
    purposes: Annotated[list[str], typer.Option("--purpose", "-p", help="Purpose (repeatable).")],
    decision: Annotated[Decision, typer.Option(help="granted, denied or withdrawn.")],
    mechanism: Annotated[Mechanism, typer.Option(help="How the choice was made.")] = (
        Mechanism.API
    ),
    jurisdiction: Jurisdiction = None,
    notice: Annotated[
        str | None, typer.Option(help="Notice version shown (needed for grants).")
    ] = None,
    channel: Annotated[str, typer.Option(help="Where the choice was made.")] = "cli",
    gpc: Annotated[bool, typer.Option(help="The request carried a GPC signal.")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Record a consent choice in the ledger (one event per purpose)."""
    from trustcart.consent import ConsentEventIn, ConsentService

    with open_workspace(ctx) as ws:
        result = ConsentService(ws).record(
            ConsentEventIn(
                subject=subject,
                purposes=purposes,
                decision=decision,
                mechanism=mechanism,
                jurisdiction=jurisdiction,
                notice_version=notice,
                channel=channel,
            ),
            gpc=gpc,
        )
    if fmt is OutputFormat.json:
        print_json(
            {
                "events": [vars_of(e) for e in result.events],
                "gpc_applied": result.gpc_applied,
                "warnings": result.warnings,
            }
        )
    else:
        print_table(
            "Recorded",
            ["seq", "purpose", "decision", "mechanism", "valid", "why"],
            [
                (
                    e.seq,
                    e.purpose,
                    e.decision.value,
                    e.mechanism,
                    "yes" if e.valid else "NO",
                    e.validity,
                )
                for e in result.events
            ],
        )
        for w in result.warnings:
            err_console.print(f"[yellow]warning:[/] {w}", highlight=False)


def vars_of(obj: object) -> dict[str, object]:
    """A dataclass with slots as a dict."""
    from dataclasses import asdict

    return asdict(obj)  # type: ignore[call-overload, no-any-return]


@app.command()
def show(ctx: typer.Context, subject: str, fmt: FormatOption = OutputFormat.table) -> None:
    """A person's latest choice per purpose."""
    from trustcart.consent import ConsentService

    with open_workspace(ctx) as ws:
        state = ConsentService(ws).state(subject)
    if fmt is OutputFormat.json:
        print_json({p: vars_of(e) for p, e in sorted(state.items())})
    else:
        print_table(
            f"Consent of {subject}",
            ["purpose", "decision", "mechanism", "valid", "at"],
            [
                (p, e.decision.value, e.mechanism, "yes" if e.valid else "NO", e.at)
                for p, e in sorted(state.items())
            ],
        )


@app.command()
def check(
    ctx: typer.Context,
    subject: str,
    purpose: str,
    categories: Annotated[
        list[str] | None, typer.Option("--category", "-c", help="Data category (repeatable).")
    ] = None,
    jurisdiction: Jurisdiction = None,
    at: Annotated[datetime | None, typer.Option(help="Answer for this past moment (UTC).")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """May PURPOSE use these data of SUBJECT? Exit 0 if allowed, 1 if not."""
    from datetime import UTC

    from trustcart.consent import ConsentService

    when = at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
    with open_workspace(ctx) as ws:
        p = ConsentService(ws).may_use(subject, purpose, categories or [], jurisdiction, when)
    if fmt is OutputFormat.json:
        print_json(vars_of(p))
    else:
        verdict = "[green]allowed[/]" if p.allowed else "[red]not allowed[/]"
        console.print(f"{verdict}: {p.reason}", highlight=False)
        console.print(
            f"legal basis: {p.legal_basis}; citation: {p.citation or '-'}; "
            f"evidence: {', '.join(p.evidence_event_ids) or '-'}",
            highlight=False,
        )
    if not p.allowed:
        raise typer.Exit(1)


@app.command()
def proof(
    ctx: typer.Context,
    subject: str,
    fmt: Annotated[ProofFormat, typer.Option("--format", "-f")] = ProofFormat.json,
    output: OutputOption = None,
) -> None:
    """Proof of consent for one person (GDPR Art. 7(1)): events, evidence, notice texts."""
    import orjson

    from trustcart.consent import ConsentService, build_proof, proof_html

    with open_workspace(ctx) as ws:
        data = build_proof(ConsentService(ws), subject)
    if fmt is ProofFormat.html:
        write_output(proof_html(data), output)
    else:
        write_output(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode(), output)


@app.command()
def receipt(
    ctx: typer.Context,
    subject: str,
    output: OutputOption = None,
) -> None:
    """Consent receipt for one person: every consent record as JSON in the style of
    ISO/IEC TS 27560 (one record per purpose, every event, the processing it covers)."""
    import orjson

    from trustcart.consent import ConsentService, build_receipt

    with open_workspace(ctx) as ws:
        data = build_receipt(ConsentService(ws), subject)
    write_output(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode(), output)


@app.command()
def stats(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Consent rates per day × purpose × jurisdiction × mechanism."""
    from trustcart.consent import consent_rates

    with open_workspace(ctx) as ws:
        rows = consent_rates(ws.store)
    if fmt is OutputFormat.json:
        print_json(rows)
    else:
        print_table(
            "Consent rates",
            [
                "day",
                "purpose",
                "jurisdiction",
                "mechanism",
                "events",
                "granted",
                "denied",
                "withdrawn",
                "grant rate",
            ],
            [
                (
                    r["day"],
                    r["purpose"],
                    r["jurisdiction"],
                    r["mechanism"],
                    r["events"],
                    r["granted"],
                    r["denied"],
                    r["withdrawn"],
                    f"{r['grant_rate']:.0%}",
                )
                for r in rows
            ],
        )


@app.command()
def link(
    ctx: typer.Context,
    subject: str,
    base_url: Annotated[str, typer.Option(help="Where TrustCart is served.")] = (
        "http://127.0.0.1:8000"
    ),
    ttl: Annotated[int, typer.Option(help="Validity in seconds.")] = 7 * 24 * 3600,
) -> None:
    """A signed preference-center link for SUBJECT (the URL holds only a pseudonym)."""
    from trustcart.consent.tokens import make_subject_token
    from trustcart.privacy import Pseudonymizer

    with open_workspace(ctx) as ws:
        key = ws.settings.pseudonym_key()
        token = make_subject_token(Pseudonymizer(key), key, subject, ttl=ttl)
    console.print(
        f"{base_url.rstrip('/')}/privacy/preferences?token={token}", highlight=False, soft_wrap=True
    )


@notice_app.command("register")
def notice_register(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="Text file of the notice (omit with --from-datamap).")
    ] = None,
    from_datamap: Annotated[
        bool, typer.Option(help="Register the data map's layered privacy notice.")
    ] = False,
    purposes: Annotated[
        list[str] | None, typer.Option("--purpose", "-p", help="Purposes the text asks about.")
    ] = None,
    title: str = "Notice",
    kind: str = "custom",
    language: str = "en",
    jurisdiction: Jurisdiction = None,
) -> None:
    """Register a notice version (idempotent: the same text is the same version)."""
    from trustcart.consent import ConsentService, datamap_notice, register_notice, text_hash
    from trustcart.errors import ValidationError

    with open_workspace(ctx) as ws:
        svc = ConsentService(ws)
        if from_datamap:
            n = register_notice(ws.store, **datamap_notice(svc.datamap, jurisdiction))
        else:
            if file is None or not purposes:
                raise ValidationError(
                    "give a notice FILE and at least one --purpose, or use --from-datamap"
                )
            body = file.read_text()
            keys = [svc.purpose(p).key for p in purposes]
            n = register_notice(
                ws.store,
                text=body,
                purposes={k: text_hash(body) for k in keys},
                title=title,
                kind=kind,
                language=language,
            )
    console.print(n.version, highlight=False)
    err_console.print(f"notice {n.version[:16]} covers: {', '.join(sorted(n.purposes))}")


@notice_app.command("list")
def notice_list(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Registered notice versions."""
    from trustcart.consent import list_notices

    with open_workspace(ctx) as ws:
        notices = list_notices(ws.store)
    if fmt is OutputFormat.json:
        print_json([n.to_dict(with_text=False) for n in notices])
    else:
        print_table(
            "Notices",
            ["version", "kind", "language", "effective", "purposes"],
            [
                (n.version[:16], n.kind, n.language, n.effective_at, ", ".join(sorted(n.purposes)))
                for n in notices
            ],
        )
