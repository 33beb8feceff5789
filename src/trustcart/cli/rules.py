"""``trustcart rules``: the legal facts TrustCart applies, with their citations."""

from __future__ import annotations

from pathlib import Path
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


@app.command()
def diff(
    ctx: typer.Context,
    old: Annotated[Path, typer.Argument(help="Old rule-pack directory (holds pack.yaml).")],
    new: Annotated[Path, typer.Argument(help="New rule-pack directory.")],
    fmt: FormatOption = OutputFormat.table,
    findings: Annotated[
        bool,
        typer.Option(help="Also scan the workspace with both packs and compare the findings."),
    ] = True,
    on: Annotated[str | None, typer.Option("--on", help="Scan day (YYYY-MM-DD).")] = None,
) -> None:
    """What changed between two rule packs, and which findings appear or disappear."""
    from trustcart.cli._common import err_console, open_workspace
    from trustcart.cli.vendors import parse_day
    from trustcart.compliance import scan
    from trustcart.errors import WorkspaceNotFound
    from trustcart.rules.diff import diff_findings, diff_rules

    old_rules, new_rules = load_rules(old), load_rules(new)
    result = diff_rules(old_rules, new_rules)
    if findings:
        day = parse_day(on)
        try:
            with open_workspace(ctx) as ws:
                result.findings = diff_findings(
                    scan(ws, rules=old_rules, on=day), scan(ws, rules=new_rules, on=day)
                )
        except WorkspaceNotFound:
            err_console.print("no workspace: comparing the rule packs only")
    if fmt is OutputFormat.json:
        print_json(result.to_dict())
        return
    print_table(
        f"Rule pack {result.old_version} -> {result.new_version}: {len(result.changes)} change(s)",
        ["change", "fact", "old", "new"],
        [
            (("date " if c.is_date else "") + c.kind, c.path, _short(c.old), _short(c.new))
            for c in result.changes
        ],
    )
    if result.findings is not None:
        print_table(
            f"Findings: {len(result.findings)} change(s)",
            ["change", "severity", "id", "object", "message"],
            [
                (f.kind, f.finding.severity, f.finding.id, f.finding.object, f.finding.message)
                for f in result.findings
            ],
        )


def _short(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
