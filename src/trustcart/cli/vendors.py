"""``trustcart vendors``: the vendor registry with risk scores."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    console,
    open_workspace,
    print_json,
    print_table,
)
from trustcart.errors import NotFound

app = typer.Typer(help="Vendor registry: DPAs, certifications, audits, risk.", no_args_is_help=True)

OnOption = Annotated[
    str | None, typer.Option("--on", help="Judge dates on this day (YYYY-MM-DD); default today.")
]


def parse_day(value: str | None) -> date | None:
    """``--on`` as a date (``ValidationError`` when malformed)."""
    from trustcart.errors import ValidationError

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"invalid date {value!r}: use YYYY-MM-DD") from None


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = OutputFormat.table, on: OnOption = None) -> None:
    """Every vendor with its DPA status and risk score (formula: docs/vendors-assessments.md)."""
    from trustcart.assessments import load_records
    from trustcart.catalog.repository import load_datamap
    from trustcart.clock import utcnow
    from trustcart.rules import load_rules
    from trustcart.vendors.risk import vendor_risk, vendor_summary

    day = parse_day(on) or utcnow().date()
    rules = load_rules()
    with open_workspace(ctx) as ws:
        records = load_records(ws.store)
        dm = load_datamap(ws.store)
    scored = [
        (v, vendor_risk(v, rules, on=day, checklist=records.dpa_checklist, datamap=dm))
        for v in records.vendors
    ]
    if fmt is OutputFormat.json:
        print_json([vendor_summary(v, r) for v, r in scored])
        return
    print_table(
        f"Vendors on {day}",
        ["key", "name", "country", "systems", "DPA", "risk", "band"],
        [
            (v.key, v.name, v.country, ", ".join(v.systems + v.recipients), v.dpa.status,
             r.score, r.band)
            for v, r in scored
        ],
    )  # fmt: skip


@app.command()
def show(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Vendor key.")],
    fmt: FormatOption = OutputFormat.table,
    on: OnOption = None,
) -> None:
    """One vendor: the full record and each term of its risk score."""
    from trustcart.assessments import load_records
    from trustcart.catalog.repository import load_datamap
    from trustcart.clock import utcnow
    from trustcart.rules import load_rules
    from trustcart.vendors import vendor_risk

    day = parse_day(on) or utcnow().date()
    with open_workspace(ctx) as ws:
        records = load_records(ws.store)
        dm = load_datamap(ws.store)
    vendor = records.vendor(key)
    if vendor is None:
        raise NotFound(f"no vendor {key!r} in the registry")
    risk = vendor_risk(vendor, load_rules(), on=day, checklist=records.dpa_checklist, datamap=dm)
    if fmt is OutputFormat.json:
        print_json(
            {
                "vendor": vendor.model_dump(mode="json"),
                "risk": {"score": risk.score, "band": risk.band},
                "factors": [f.__dict__ for f in risk.factors],
            }
        )
        return
    console.print(f"[bold]{vendor.name}[/] ({vendor.country}) — risk {risk.score} ({risk.band})")
    print_table("Risk factors", ["factor", "points", "reason"],
                [(f.name, f.points, f.reason) for f in risk.factors])  # fmt: skip
