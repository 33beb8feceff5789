"""``trustcart audience audit``: who a campaign audience includes and excludes, by group, with
the four-fifths rule (thin shell over :func:`trustcart.fairness.audit_audience`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustcart.cli._common import FormatOption, OutputFormat, console, print_json, print_table

app = typer.Typer(help="Audience guardrails: segment audits of campaign audiences.")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


@app.command()
def audit(
    population: Annotated[
        str, typer.Argument(help="The population: .parquet/.csv file, or postgres://… (--table).")
    ],
    group: Annotated[list[str], typer.Option("--group", help="Group column (repeatable).")],
    audience: Annotated[
        Path | None,
        typer.Option(help="Audience ids: .txt (one per line), .csv or .parquet file."),
    ] = None,
    audience_column: Annotated[
        str | None, typer.Option(help="Id column of a .csv/.parquet audience file.")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="The population's subject id column.")
    ] = None,
    where: Annotated[
        str | None, typer.Option(help="The audience as a SQL predicate over the population.")
    ] = None,
    vulnerable: Annotated[
        list[str] | None,
        typer.Option("--vulnerable", help="Vulnerable-segment flag column (repeatable)."),
    ] = None,
    table: Annotated[str | None, typer.Option(help="Table of a database population.")] = None,
    min_group_size: Annotated[
        int, typer.Option(min=0, help="Groups smaller than this are suppressed.")
    ] = 10,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Selection rate of each group into the audience; exit 1 when a group falls below
    four-fifths of the best group's rate (29 CFR 1607.4(D)) or a flagged vulnerable person is
    in the audience (EU AI Act Art. 5(1)(b))."""
    from trustcart.fairness import audit_audience, read_ids

    ids = None if audience is None else read_ids(audience, audience_column)
    result = audit_audience(
        population,
        group,
        ids=ids,
        where=where,
        id_column=id_column,
        table=table,
        vulnerable=vulnerable or [],
        min_group_size=min_group_size,
    )
    if fmt is OutputFormat.json:
        print_json(result.to_dict())
    else:
        print_table(
            f"Audience: {result.audience} of {result.population} people "
            f"(four-fifths rule, 29 CFR 1607.4(D))",
            ["group", "population", "in", "out", "selection rate", "ratio to best", "4/5"],
            [
                (
                    ", ".join(f"{k}={v}" for k, v in g.group.items()),
                    g.population if g.included is not None else "<suppressed>",
                    "—" if g.included is None else g.included,
                    "—" if g.excluded is None else g.excluded,
                    _pct(g.selection_rate),
                    "—" if g.ratio_to_best is None else f"{g.ratio_to_best:.2f}",
                    {True: "pass", False: "FAIL", None: "—"}[g.passes_four_fifths],
                )
                for g in result.groups
            ],
        )
        for col, n in result.vulnerable.items():
            console.print(f"vulnerable {col}: {n} in the audience")
        for f in result.result.findings:
            console.print(f"[{f.severity}] {f.message} ({f.rule})", highlight=False)
        for note in result.notes:
            console.print(note, highlight=False)
    if not result.passes:
        raise typer.Exit(1)
