"""The consent model of the rule pack as Markdown tables, for ``docs/consent-model.md``.

Why generated: a handwritten table drifts from the YAML the moment a fact changes, and a
user-facing page that contradicts the rules the product applies is worse than no page. The doc
embeds this function's output verbatim and a test checks that it still matches.
"""

from __future__ import annotations

from trustcart.rules.jurisdiction import Jurisdiction
from trustcart.rules.kinds import Mechanism, PurposeType
from trustcart.rules.loader import load_rules
from trustcart.rules.rules import Rules

UNCONFIRMED_MARK = "†"
"""Appended to a value whose entry is ``confidence: unconfirmed`` (or not stated at all)."""


def _cell(text: str | None) -> str:
    """Markdown table cell text: no pipes, no line breaks."""
    return (text or "").replace("|", "\\|").replace("\n", " ").strip() or "-"


def _mark(value: str, confidence: str) -> str:
    return value + (UNCONFIRMED_MARK if confidence == "unconfirmed" else "")


def _overview(js: list[Jurisdiction]) -> list[str]:
    codes = [j.code for j in js]
    lines = [
        "### Overview: consent model per purpose type",
        "",
        "| Purpose type | " + " | ".join(codes) + " |",
        "|---|" + "---|" * len(codes),
    ]
    for pt in PurposeType:
        cells = []
        for j in js:
            req = j.consent_requirement(pt)
            cells.append(_mark(req.model, req.confidence))
        lines.append(f"| {pt.value} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Overview: what a grant through each mechanism is worth (default per mechanism)",
        "",
        "| Mechanism | " + " | ".join(codes) + " |",
        "|---|" + "---|" * len(codes),
    ]
    for m in Mechanism:
        cells = []
        for j in js:
            entry = j.consent_mechanisms.get(m)
            if entry is None:
                cells.append(_mark("invalid", "unconfirmed"))
                continue
            value = _mark(entry.grant, entry.confidence)
            if entry.purpose_types:
                value += "*"
            cells.append(value)
        lines.append(f"| {m.value} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "`*` = different for some purpose types (see the jurisdiction's section).",
        "",
        "### Overview: Global Privacy Control",
        "",
        "| Jurisdiction | Duty to honour stated | GPC opts out of | Citation |",
        "|---|---|---|---|",
    ]
    for j in js:
        g = j.gpc_rule()
        lines.append(
            f"| {j.code} | {'yes' if g.honoured else 'no'} | "
            + _mark(", ".join(pt.value for pt in g.opts_out_of) or "-", g.confidence)
            + f" | {_cell(g.citation)} |"
        )
    return lines


def _section(j: Jurisdiction) -> list[str]:
    lines = [
        f"### {j.code}: {j.name} ({j.regime})",
        "",
        "| Purpose type | Model | Citation | Notes |",
        "|---|---|---|---|",
    ]
    for pt in PurposeType:
        req = j.consent_requirement(pt)
        lines.append(
            f"| {pt.value} | {_mark(req.model, req.confidence)} | {_cell(req.citation)} | "
            f"{_cell(req.notes)} |"
        )
    lines += [
        "",
        "| Mechanism | Purpose types | Grant | Condition | Citation |",
        "|---|---|---|---|---|",
    ]
    for m in Mechanism:
        entry = j.consent_mechanisms.get(m)
        if entry is None:
            rule = j.mechanism_rule(m, PurposeType.ESSENTIAL)
            lines.append(
                f"| {m.value} | all | {_mark(rule.grant, rule.confidence)} | - | "
                f"{_cell(rule.citation)} |"
            )
            continue
        others = "all" if not entry.purpose_types else "all others"
        for pt, g in entry.purpose_types.items():
            lines.append(
                f"| {m.value} | {pt.value} | {_mark(g.grant, g.confidence)} | "
                f"{_cell(g.condition)} | {_cell(g.citation)} |"
            )
        lines.append(
            f"| {m.value} | {others} | {_mark(entry.grant, entry.confidence)} | "
            f"{_cell(entry.condition)} | {_cell(entry.citation)} |"
        )
    refusal = j.mechanism_rule(Mechanism.OPT_IN_CHECKBOX, PurposeType.MARKETING)
    gpc = j.gpc_rule()
    lines += [
        "",
        f"- Refusal or withdrawal (every mechanism except gpc_signal): "
        f"{_mark(refusal.refusal, refusal.refusal_confidence)}, {refusal.refusal_citation}.",
        f"- gpc_signal refuses: "
        f"{_mark(', '.join(pt.value for pt in gpc.opts_out_of) or 'nothing', gpc.confidence)} "
        f"({gpc.citation}); duty to honour stated: {'yes' if gpc.honoured else 'no'}.",
        "",
    ]
    return lines


def consent_table_markdown(rules: Rules | None = None) -> str:
    """Markdown tables of the consent model, mechanisms and GPC for every pack jurisdiction.

    Values marked ``†`` are ``unconfirmed`` in the rule pack (or not stated there, in which case
    the strictest answer is shown). Deterministic: same rule pack, same text.
    """
    rules = rules if rules is not None else load_rules()
    js = list(rules.jurisdictions.values())
    lines = [
        f"<!-- generated by trustcart.rules.consent_table_markdown() from rule pack "
        f"{rules.version}; do not edit by hand -->",
        "",
        *_overview(js),
        "",
        f"`{UNCONFIRMED_MARK}` = unconfirmed in the rule pack, or not stated there and the "
        "strictest answer assumed.",
        "",
    ]
    for j in js:
        lines += _section(j)
    return "\n".join(lines).rstrip() + "\n"
