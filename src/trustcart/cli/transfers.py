"""``trustcart transfers``: every third-country transfer and its basis."""

from __future__ import annotations

from dataclasses import asdict

import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    open_workspace,
    print_json,
    print_table,
)
from trustcart.cli.vendors import OnOption, parse_day

app = typer.Typer(help="Cross-border transfers and their basis.", no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = OutputFormat.table, on: OnOption = None) -> None:
    """Transfers out of the EEA: destination, basis, and what is missing."""
    from trustcart.assessments import load_records
    from trustcart.catalog.repository import load_datamap
    from trustcart.rules import load_rules
    from trustcart.transfers import assess_transfers, localisation_flags

    rules = load_rules()
    with open_workspace(ctx) as ws:
        dm = load_datamap(ws.store)
        records = load_records(ws.store)
    found = assess_transfers(dm, rules, vendors=records.vendors, on=parse_day(on))
    flags = localisation_flags(dm, rules)
    if fmt is OutputFormat.json:
        print_json(
            {
                "transfers": [a.to_dict() for a in found],
                "localisation": [asdict(f) for f in flags],
            }
        )
        return
    print_table(
        "Transfers out of the EEA",
        ["object", "destination", "country", "basis", "problems"],
        [
            (a.object, a.transfer.destination, a.transfer.country,
             a.covered_by or (a.basis.describe() if a.basis else "none"),
             "; ".join(f"{p.severity}: {p.code}" for p in a.problems) or "-")
            for a in found
        ],
    )  # fmt: skip
    if flags:
        print_table("Localisation", ["regime", "object", "severity", "message"],
                    [(f.law, f.object, f.severity, f.message) for f in flags])  # fmt: skip
