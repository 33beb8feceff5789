"""Record of processing activities (GDPR Art. 30(1)) generated from the data map.

Why generated: a RoPA kept by hand in a spreadsheet drifts from the systems it describes. Here
each processing activity is one purpose of the map, and every column is derived from the
purpose, the systems and datasets that serve it, its recipients and the derived transfers.
Columns that Art. 30(1) requires carry their letter (a)-(g); extra columns (legal basis,
automated decisions, systems, datasets) carry none.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from trustcart.catalog._describe import Describer
from trustcart.catalog._render import jinja_env
from trustcart.catalog._rules import ensure_rules
from trustcart.catalog.primitives import describe_duration
from trustcart.errors import ValidationError

if TYPE_CHECKING:
    from trustcart.catalog.model import DataMap, Organization, Purpose
    from trustcart.rules import Rules

RopaFormat = Literal["markdown", "html", "csv"]
NOT_RECORDED = "not recorded"


@dataclass(frozen=True, slots=True)
class RopaColumn:
    """One column of the record; ``letter`` is the Art. 30(1) point, "" when not required."""

    letter: str
    label: str
    values: tuple[str, ...]

    @property
    def heading(self) -> str:
        """``"(a) Name and contact details …"`` or the bare label."""
        return f"({self.letter}) {self.label}" if self.letter else self.label


@dataclass(frozen=True, slots=True)
class RopaEntry:
    """One processing activity (one purpose)."""

    key: str
    name: str
    columns: tuple[RopaColumn, ...]


def build_ropa(dm: DataMap, rules: Rules | None = None) -> list[RopaEntry]:
    """The record as data, one entry per purpose, in manifest order."""
    org = _organization(dm)
    describe = Describer(dm, ensure_rules(rules))
    controller = _controller(org)
    return [_entry(dm, org, p, describe, controller) for p in dm.purposes]


def render_ropa(dm: DataMap, rules: Rules | None = None, fmt: RopaFormat = "markdown") -> str:
    """The RoPA as Markdown, HTML (Jinja2, autoescaped) or CSV (one row per purpose)."""
    entries = build_ropa(dm, rules)
    org = _organization(dm)
    if fmt == "csv":
        return _csv(entries)
    if fmt == "markdown":
        return _markdown(org.name, entries)
    if fmt == "html":
        template = jinja_env().get_template("ropa.html.j2")
        return template.render(organization=org, entries=entries)
    raise ValidationError(
        f"unknown RoPA format {fmt!r}", details={"allowed": ["markdown", "html", "csv"]}
    )


def _organization(dm: DataMap) -> Organization:
    if dm.organization is None:
        raise ValidationError(
            "the data map has no organization: a RoPA and a notice need the controller",
            details=[{"path": "organization", "message": "missing", "allowed": []}],
        )
    return dm.organization


def _controller(org: Organization) -> tuple[str, ...]:
    c = org.controller
    lines = [f"Controller: {c.name}, {c.address}, {c.email}"]
    if org.dpo is not None:
        lines.append(f"DPO: {org.dpo.name}, {org.dpo.email}")
    if org.eu_representative is not None:
        r = org.eu_representative
        lines.append(f"EU representative: {r.name}, {r.address}, {r.email}")
    return tuple(lines)


def _entry(
    dm: DataMap, org: Organization, p: Purpose, d: Describer, controller: tuple[str, ...]
) -> RopaEntry:
    bases = [
        f"{code}: {p.legal_basis[code].label}"
        if code in p.legal_basis
        else f"{code}: {NOT_RECORDED}"
        for code in org.jurisdictions
    ]
    retention = [describe_duration(p.retention)]
    for ds, _f in dm.fields_for(p.key):
        line = f"{ds.name}: {describe_duration(ds.retention)}"
        if ds.retention and line not in retention:
            retention.append(line)
    adm = p.automated_decision_making
    adm_text = ["no"]
    if adm.enabled:
        adm_text = [f"yes: {adm.logic}"]
        if adm.significance:
            adm_text.append(f"significance: {adm.significance}")
    columns = (
        RopaColumn("a", "Name and contact details of the controller and DPO", controller),
        RopaColumn(
            "b",
            "Purposes of the processing",
            (f"{p.name}: {p.description}", f"data use: {d.taxonomy.name('data_use', p.data_use)}"),
        ),
        RopaColumn("", "Legal basis per jurisdiction", tuple(bases)),
        RopaColumn("c", "Categories of data subjects", tuple(d.subjects(p))),
        RopaColumn(
            "c", "Categories of personal data", tuple(d.category_label(k) for k in d.categories(p))
        ),
        RopaColumn("d", "Categories of recipients", tuple(d.recipients(p)) or ("none",)),
        RopaColumn(
            "e",
            "Transfers to third countries and safeguards",
            tuple(d.transfer_label(t) for t in d.transfers(p)) or ("none",),
        ),
        RopaColumn("f", "Time limits for erasure", tuple(retention)),
        RopaColumn(
            "g",
            "Technical and organisational security measures",
            tuple(d.security(p)) or (NOT_RECORDED,),
        ),
        RopaColumn("", "Automated decision-making", tuple(adm_text)),
        RopaColumn("", "Systems", tuple(d.systems(p)) or ("none",)),
        RopaColumn("", "Datasets", tuple(d.datasets(p)) or ("none",)),
    )
    return RopaEntry(p.key, p.name, columns)


def _md_cell(values: tuple[str, ...]) -> str:
    return "<br>".join(v.replace("|", "\\|").replace("\n", " ") for v in values)


def _markdown(org_name: str, entries: list[RopaEntry]) -> str:
    out = [
        f"# Record of processing activities — {org_name}",
        "",
        "Generated from the data map. Letters (a)–(g) refer to GDPR Art. 30(1).",
        "",
    ]
    for i, entry in enumerate(entries, start=1):
        out += [f"## {i}. {entry.name} (`{entry.key}`)", "", "| Art. 30(1) | Record |", "|---|---|"]
        for col in entry.columns:
            out.append(f"| {col.heading} | {_md_cell(col.values)} |")
        out.append("")
    return "\n".join(out)


def _csv(entries: list[RopaEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if entries:
        writer.writerow(["Activity", *(c.heading for c in entries[0].columns)])
    for entry in entries:
        writer.writerow([entry.key, *("; ".join(c.values) for c in entry.columns)])
    return buffer.getvalue()
