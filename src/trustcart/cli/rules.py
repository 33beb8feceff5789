"""``trustcart rules``: the legal facts TrustCart applies, with their citations."""

from __future__ import annotations

from typing import Annotated

import typer

from trustcart.cli._common import FormatOption, OutputFormat, console, print_json, print_table
from trustcart.rules import load_rules

app = typer.Typer(help="Legal facts (rule pack) with citations.", no_args_is_help=True)


@app.command("list")
def list_(fmt: FormatOption = OutputFormat.table) -> None:
    """Jurisdictions in the rule pack with their response deadlines."""
    rules = load_rules()
    items = list(rules.jurisdictions.values())
    if fmt is OutputFormat.json:
        print_json(
            {
                "rules_version": rules.version,
                "jurisdictions": [
                    j.model_dump(mode="json", include={"code", "name", "regime"}) for j in items
                ],
            }
        )
        return
    print_table(
        f"Rule pack {rules.version}",
        ["code", "name", "regime", "respond within", "extension", "rights"],
        [
            (
                j.code,
                j.name,
                j.regime,
                j.deadline.response,
                j.deadline.extension or "-",
                len(j.rights),
            )
            for j in items
        ],
    )


@app.command()
def show(
    code: Annotated[str, typer.Argument(help="Jurisdiction code, e.g. EU, US-CA, or FR.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """One jurisdiction: rights, deadline, consent model, sensitive data — each with citation."""
    j = load_rules().resolve(code)
    if fmt is OutputFormat.json:
        print_json(j.model_dump(mode="json"))
        return
    if j.is_fallback:
        console.print(f"[yellow]{j.fallback_reason}[/]")
    console.print(f"[bold]{j.code}[/] {j.name} — {j.law}")
    d = j.deadline
    console.print(
        f"Respond within {d.response}"
        + (f", extendable by {d.extension}" if d.extension else "")
        + f" ({d.citation}; {d.confidence})"
    )
    print_table(
        "Rights",
        ["right", "citation", "from", "confidence"],
        [(r.kind, r.citation, r.effective_from, r.confidence) for r in j.rights],
    )
    print_table(
        "Consent model",
        ["purpose type", "model", "citation", "confidence"],
        [(pt, c.model, c.citation, c.confidence) for pt, c in j.consent_model.items()],
    )
    print_table(
        "Sensitive data categories",
        ["fideslang category", "label", "citation"],
        [(s.data_category, s.label, s.citation) for s in j.sensitive_categories],
    )
