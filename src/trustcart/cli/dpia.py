"""``trustcart dpia``: screen purposes (WP248, Art. 35(3)), export and sign off DPIAs."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    OutputOption,
    err_console,
    open_workspace,
    print_json,
    print_table,
    write_output,
)
from trustcart.cli.vendors import parse_day
from trustcart.errors import NotFound, ValidationError

app = typer.Typer(help="DPIA screening, export and sign-off.", no_args_is_help=True)


class DocFormat(StrEnum):
    """Export formats of a DPIA."""

    markdown = "markdown"
    html = "html"
    pdf = "pdf"


@app.command()
def screen(
    ctx: typer.Context,
    purpose: Annotated[str | None, typer.Argument(help="One purpose; default all.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Which purposes need a DPIA: WP248 criteria met (from the data map and assessor answers)."""
    from trustcart.assessments import load_records, screen_datamap, screen_purpose
    from trustcart.catalog.repository import load_datamap
    from trustcart.rules import load_rules

    rules = load_rules()
    with open_workspace(ctx) as ws:
        dm = load_datamap(ws.store)
        records = load_records(ws.store)
    if purpose is not None:
        found = [screen_purpose(dm, rules, purpose, records.screening(purpose))]
    else:
        found = screen_datamap(dm, rules, records.screenings)
    covered = {p for d in records.dpias for p in d.purposes}
    if fmt is OutputFormat.json:
        print_json([{**s.to_dict(), "dpia": s.purpose in covered} for s in found])
        return
    print_table(
        "DPIA screening (WP248 rev.01; GDPR Art. 35(3))",
        ["purpose", "criteria met", "Art. 35(3)", "required", "DPIA", "not answered"],
        [
            (s.purpose, f"{s.count}: " + ", ".join(str(c.number) for c in s.met),
             ", ".join(m.citation for m in s.mandatory) or "-",
             "yes" if s.required else "no", "yes" if s.purpose in covered else "no",
             ", ".join(s.unanswered))
            for s in found
        ],
    )  # fmt: skip


@app.command("export")
def export(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="DPIA key.")],
    fmt: Annotated[DocFormat, typer.Option("--format", "-f")] = DocFormat.markdown,
    output: OutputOption = None,
) -> None:
    """The DPIA as Markdown, HTML or PDF, with the screening of each purpose it covers."""
    from trustcart.assessments import load_records, render_dpia, screen_purpose
    from trustcart.catalog.repository import load_datamap
    from trustcart.rules import load_rules

    rules = load_rules()
    with open_workspace(ctx) as ws:
        records = load_records(ws.store)
        dm = load_datamap(ws.store)
    record = records.dpia(key)
    if record is None:
        raise NotFound(f"no DPIA {key!r}; load it with trustcart records load")
    screenings = [
        screen_purpose(dm, rules, p, records.screening(p))
        for p in record.purposes
        if dm.purpose(p) is not None
    ]
    if fmt is DocFormat.pdf:
        if output is None:
            raise ValidationError("--format pdf writes a binary file: give it with --output")
        from trustcart.pdfdoc import markdown_to_pdf

        text = render_dpia(record, rules, "markdown", screenings)
        write_output(markdown_to_pdf(text, title=f"DPIA: {record.title}"), output)
        return
    kind: Literal["markdown", "html"] = "html" if fmt is DocFormat.html else "markdown"
    write_output(render_dpia(record, rules, kind, screenings), output)


@app.command("sign-off")
def sign_off(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="DPIA key.")],
    by: Annotated[str, typer.Option("--by", help="Who signs off.")],
    role: Annotated[str, typer.Option("--role", help="Their role, e.g. 'dpo' or 'CEO'.")],
    opinion: Annotated[
        str | None, typer.Option("--opinion", help="Record this as the DPO's opinion too.")
    ] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="Date (YYYY-MM-DD); default today.")
    ] = None,
) -> None:
    """Sign a DPIA off (a new version bound to its current content)."""
    from trustcart.assessments import sign_off_dpia

    with open_workspace(ctx) as ws:
        d = sign_off_dpia(ws.store, key, by=by, role=role, on=parse_day(on), dpo_opinion=opinion)
    assert d.sign_off is not None
    err_console.print(f"DPIA {key} signed off by {by} ({role}) on {d.sign_off.signed_on}")
