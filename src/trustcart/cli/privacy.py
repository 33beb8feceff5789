"""``trustcart privacy``: measure identifiability, anonymize, and find undeclared personal data.

Contract (scripts rely on it):
``trustcart privacy check SOURCE --qi COL … [--sensitive COL …] [--population SRC]
[--threshold P] [--table NAME] [--format table|json]``;
``trustcart privacy anonymize SOURCE --qi COL … --k N [--l N --sensitive COL …]
[--hierarchy COL=zip|age|date|interval|categorical …] [--max-suppression SHARE]
--output OUT.parquet [--format table|json]``;
``trustcart privacy classify SOURCE [--sample N] [--dataset KEY] [--format table|json]``;
``trustcart privacy rotate-key [--window 30d]``, ``retire-keys``, ``key-status`` (pseudonym key
rotation, see :mod:`trustcart.privacy.keyring`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from trustcart.errors import NotFound, ValidationError

app = typer.Typer(
    help="Privacy engineering: k-anonymity, l-diversity, t-closeness, risk, anonymization, PII, "
    "pseudonym key rotation.",
    no_args_is_help=True,
)

SourceArg = Annotated[
    str,
    typer.Argument(
        help="A .parquet/.csv file (or folder/glob of them), or a database URL with --table."
    ),
]
QiOption = Annotated[
    list[str], typer.Option("--qi", help="Quasi-identifier column; repeat for several.")
]
SensitiveOption = Annotated[
    list[str] | None,
    typer.Option("--sensitive", "-s", help="Sensitive column (for l and t); repeatable."),
]
TableOption = Annotated[
    str | None, typer.Option("--table", help="Table to read, with a database URL.")
]


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.4g}"


@app.command()
def check(
    source: SourceArg,
    qi: QiOption,
    sensitive: SensitiveOption = None,
    population: Annotated[
        str | None,
        typer.Option("--population", help="Population table for journalist risk (same QIs)."),
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Acceptable re-identification probability.")
    ] = 0.2,
    table: TableOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """k-anonymity, l-diversity, t-closeness and re-identification risk of a table."""
    from trustcart.privacy.anonymity import measure
    from trustcart.privacy.risk import reidentification_risk

    report = measure(source, qi, sensitive or [], table=table)
    risk = reidentification_risk(
        source, qi, population=population, threshold=threshold, table=table
    )
    if fmt is OutputFormat.json:
        print_json({"anonymity": report.to_dict(), "risk": risk.to_dict()})
        return
    rows = [
        ("rows", report.rows),
        ("equivalence classes", report.classes),
        ("k (smallest class)", report.k),
        ("unique records (class of 1)", report.singletons),
        ("prosecutor risk max / avg", f"{_fmt(risk.prosecutor_max)} / {_fmt(risk.prosecutor_avg)}"),
        (
            f"records with risk > {threshold:g}",
            f"{risk.records_at_risk} ({risk.share_at_risk:.1%})",
        ),
        ("journalist risk max / avg", f"{_fmt(risk.journalist_max)} / {_fmt(risk.journalist_avg)}"),
    ]
    print_table(f"Anonymity of {report.source} on {', '.join(qi)}", ["measure", "value"], rows)
    if report.sensitive:
        print_table(
            "Sensitive attributes",
            ["column", "kind", "distinct l", "entropy l", "t (EMD)"],
            [
                (s.column, s.kind, s.l_distinct, _fmt(s.l_entropy), _fmt(s.t_closeness))
                for s in report.sensitive
            ],
        )
    if risk.note:
        err_console.print(f"note: {risk.note}")


def _hierarchies(specs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in specs:
        column, sep, name = spec.partition("=")
        if not sep or not column or not name:
            raise ValidationError(
                f"--hierarchy {spec!r}: write COLUMN=NAME, e.g. --hierarchy zip_code=zip"
            )
        out[column.strip()] = name.strip()
    return out


@app.command()
def anonymize(
    source: SourceArg,
    qi: QiOption,
    k: Annotated[int, typer.Option("--k", help="Smallest equivalence class to reach.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Anonymized Parquet file.")],
    l_div: Annotated[
        int | None, typer.Option("--l", help="Distinct l-diversity to reach (needs --sensitive).")
    ] = None,
    sensitive: SensitiveOption = None,
    hierarchy: Annotated[
        list[str] | None,
        typer.Option(
            "--hierarchy",
            help="COL=zip|age[:W]|date|interval[:W]|categorical; default by column type.",
        ),
    ] = None,
    max_suppression: Annotated[
        float, typer.Option("--max-suppression", help="Share of rows that may be dropped.")
    ] = 0.0,
    table: TableOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Generalize the quasi-identifiers with Mondrian until k (and l) hold; write Parquet."""
    import pyarrow.parquet as pq

    from trustcart.privacy.generalize import mondrian

    result = mondrian(
        source,
        qi,
        k,
        l_diversity=l_div,
        sensitive=sensitive or [],
        hierarchies=_hierarchies(hierarchy or []),
        max_suppression=max_suppression,
        table=table,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(result.table, output)
    err_console.print(f"wrote {output} ({result.table.num_rows} rows)")
    if fmt is OutputFormat.json:
        print_json({"output": str(output), **result.to_dict()})
        return
    a = result.achieved
    print_table(
        f"Mondrian anonymization of {source}",
        ["measure", "value"],
        [
            ("target k / l", f"{result.target_k} / {result.target_l or '-'}"),
            ("achieved k", a.k),
            ("achieved distinct l", "" if a.l_distinct is None else a.l_distinct),
            ("achieved t", _fmt(a.t_closeness)),
            ("rows in / out", f"{result.rows_in} / {result.table.num_rows}"),
            ("suppressed (budget)", f"{result.suppressed} ({result.max_suppressed})"),
            ("equivalence classes", a.classes),
            ("NCP (0 exact … 1 all *)", f"{result.ncp:.4f}"),
            ("discernibility Σ|E|²", result.discernibility),
        ],
    )


@app.command()
def classify(
    ctx: typer.Context,
    source: SourceArg,
    sample: Annotated[int, typer.Option("--sample", help="Rows to sample.")] = 1000,
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", help="Registered dataset: print fields it does not label yet."),
    ] = None,
    min_share: Annotated[
        float, typer.Option("--min-share", help="Share of values that must match.")
    ] = 0.5,
    table: TableOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Suggest fideslang data categories for each column from the personal data found in it."""
    from trustcart.privacy.pii import classify_source, manifest_snippet

    result = classify_source(source, sample=sample, table=table, min_share=min_share)
    missing: dict[str, list[object]] | None = None
    snippet = ""
    if dataset is not None:
        from trustcart.catalog.repository import load_datamap

        with open_workspace(ctx) as ws:
            dm = load_datamap(ws.store)
        ds = dm.dataset(dataset)
        if ds is None:
            keys = ", ".join(d.key for d in dm.datasets) or "(none loaded)"
            raise NotFound(f"dataset {dataset!r} is not in the data map; datasets: {keys}")
        unlabelled = {c: s for c, s in result.columns.items() if s and ds.field(c) is None}
        missing = {c: [x.category for x in s] for c, s in unlabelled.items()}
        snippet = manifest_snippet(dataset, unlabelled) if unlabelled else ""
    if fmt is OutputFormat.json:
        data = result.to_dict()
        if dataset is not None:
            data["dataset"] = {"key": dataset, "unlabelled": missing, "snippet": snippet}
        print_json(data)
        return
    print_table(
        f"Suggested categories for {result.source} ({result.rows_sampled} rows sampled)",
        ["column", "category", "share", "confidence"],
        [
            (c, s.category, f"{s.share:.0%}", f"{s.confidence:.2f}")
            for c, found in result.columns.items()
            for s in found
        ]
        or [("(none)", "no personal data pattern found", "", "")],
    )
    if dataset is not None:
        if snippet:
            console.print(snippet, highlight=False, markup=False)
        else:
            err_console.print(f"every suggested column is already labelled in {dataset}")


@app.command("rotate-key")
def rotate_key_cmd(
    ctx: typer.Context,
    window: Annotated[
        str,
        typer.Option(
            "--window",
            help="How long the previous key stays resolvable: 30d, 12h, 90m (0 = retire now).",
        ),
    ] = "30d",
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Make a new current pseudonym key; the previous one resolves until the window ends."""
    from trustcart.privacy import rotate_key

    with open_workspace(ctx) as ws:
        done = rotate_key(ws.settings, ws.store, window=window)
    if fmt is OutputFormat.json:
        print_json(done.to_dict())
        return
    where = f" ({done.path}, mode 0600)" if done.path else " (from TRUSTCART_SECRET_KEYS)"
    console.print(f"current pseudonym key: {done.kid}{where}", highlight=False)
    console.print(
        f"{done.previous} stays resolvable until {done.retire_after.isoformat(timespec='seconds')}"
        "; then run `trustcart privacy retire-keys` to destroy it",
        highlight=False,
    )
    for r in done.retired:
        err_console.print(f"retired {r.kid}: {r.action}", highlight=False)


@app.command("retire-keys")
def retire_keys_cmd(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Destroy pseudonym keys whose rotation window has ended (safe to run from cron)."""
    from trustcart.privacy import retire_keys

    with open_workspace(ctx) as ws:
        done = retire_keys(ws.settings, ws.store)
    if fmt is OutputFormat.json:
        print_json([r.to_dict() for r in done])
        return
    if not done:
        err_console.print("no key's window has ended")
    for r in done:
        console.print(f"retired {r.kid}: {r.action}", highlight=False)


@app.command("key-status")
def key_status_cmd(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """The pseudonym key ring: versions, which is current, which still resolve."""
    from trustcart.privacy import key_versions

    with open_workspace(ctx) as ws:
        versions = key_versions(ws.settings, ws.store)
    if fmt is OutputFormat.json:
        print_json([v.to_dict() for v in versions])
        return

    def _t(x: object) -> str:
        return x.isoformat(timespec="seconds") if hasattr(x, "isoformat") else "-"

    print_table(
        "Pseudonym keys",
        ["kid", "source", "created", "retire after", "retired", "state"],
        [
            (v.kid, v.source, _t(v.created_at), _t(v.retire_after), _t(v.retired_at),
             "current" if v.current else "live" if v.live else "retired" if v.retired_at
             else "expired (run retire-keys)")
            for v in versions
        ],
    )  # fmt: skip
