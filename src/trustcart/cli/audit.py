"""``trustcart audit``: fairness audits, proxy scans and mitigations (thin shell).

Contract (other tools script it): ``trustcart audit SOURCE --group COL [--group COL …]
--outcome COL [--kind binary|continuous|ranking] [--label COL] [--position COL]
[--min-group-size N] [--table NAME] [--format table|json|html] [--output PATH]``.
``trustcart audit run SOURCE …`` is the same command spelled out; ``trustcart audit proxies``
and ``trustcart audit mitigate …`` are the sub-commands (a source file literally named like a
sub-command is given as ``./proxies``).
"""

from __future__ import annotations

import io
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console, RenderableType
from typer import _click
from typer.core import TyperGroup

from trustcart.cli._common import OutputOption, console, err_console, workspace_dir, write_output
from trustcart.config import CONFIG_FILE
from trustcart.errors import ValidationError

_DEFAULT = "run"


class _AuditGroup(TyperGroup):
    """``trustcart audit SOURCE …`` runs ``audit run``: the first argument is a sub-command
    only when it names one, so the original contract keeps working beside the sub-commands."""

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [_DEFAULT, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_AuditGroup,
    help="Fairness audits: disparities (default: `trustcart audit SOURCE …`), proxies, mitigation.",
    no_args_is_help=True,
)


class AuditFormat(StrEnum):
    """``--format`` of an audit."""

    table = "table"
    json = "json"
    html = "html"


class AuditKind(StrEnum):
    """``--kind`` of an audit."""

    binary = "binary"
    continuous = "continuous"
    ranking = "ranking"


class Favourable(StrEnum):
    """Which direction of a continuous outcome favours the person."""

    higher = "higher"
    lower = "lower"  # type: ignore[assignment]  # shadows str.lower; the value is what counts


class Estimator(StrEnum):
    """``--estimator`` of an audit with inferred groups."""

    regression = "regression"
    weighted = "weighted"


@app.command(_DEFAULT)
def audit(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="A .parquet/.csv file (or folder/glob of them), a database URL "
            "(postgres://user@host/db) or a Spark master (spark://local[2], spark://host:7077) "
            "with --table, or decisions[:KIND] (the workspace log)."
        ),
    ],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column.")],
    group: Annotated[
        list[str] | None,
        typer.Option("--group", "-g", help="Group column; repeat for intersectional groups."),
    ] = None,
    kind: Annotated[AuditKind, typer.Option("--kind", help="Kind of outcome.")] = (
        AuditKind.binary
    ),
    label: Annotated[
        str | None, typer.Option("--label", help="Ground-truth 0/1 column (binary): TPR/FPR.")
    ] = None,
    position: Annotated[
        str | None,
        typer.Option("--position", help="1-based rank column (ranking; default: the outcome)."),
    ] = None,
    min_group_size: Annotated[
        int, typer.Option("--min-group-size", help="Suppress groups with fewer usable rows.")
    ] = 10,
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            help="Table to audit, with a database or Spark URL (Spark: also parquet:PATH, "
            "csv:PATH).",
        ),
    ] = None,
    favourable: Annotated[
        Favourable,
        typer.Option("--favourable", help="Continuous outcomes: is higher or lower better?"),
    ] = Favourable.higher,
    group_shares: Annotated[
        Path | None,
        typer.Option(
            "--group-shares",
            help="CSV of geography → group shares: infer groups instead of --group.",
        ),
    ] = None,
    geo: Annotated[
        str | None, typer.Option("--geo", help="The source's geography column (--group-shares).")
    ] = None,
    estimator: Annotated[
        Estimator,
        typer.Option("--estimator", help="Inferred groups: regression or weighted."),
    ] = Estimator.regression,
    fmt: Annotated[
        AuditFormat, typer.Option("--format", "-f", help="table, json (scripts) or html.")
    ] = AuditFormat.table,
    output: OutputOption = None,
) -> None:
    """Fairness audit: group metrics, significance and findings; stored in the workspace."""
    from trustcart.fairness import audit as run_audit
    from trustcart.fairness import report

    result = run_audit(
        _source(ctx, source),
        groups=group or [],
        outcome=outcome,
        kind=kind.value,
        label=label,
        position=position,
        min_group_size=min_group_size,
        table=table,
        favourable=favourable.value,
        group_shares=group_shares,
        geo=geo,
        estimator=estimator.value,
    )
    _store(ctx, result)
    _emit(fmt, result.to_dict(), report.to_rich(result), lambda: report.to_html(result), output)


def _source(ctx: typer.Context, source: str) -> Any:
    """``decisions[:KIND]`` opened from the workspace's log; any other source as given."""
    from trustcart.fairness.decision_source import is_decisions, open_decisions

    if not is_decisions(source):
        return source
    folder = workspace_dir(ctx)
    if not (folder / CONFIG_FILE).is_file():
        raise ValidationError(
            f"source {source!r} is the workspace decision log, but {folder} is not a "
            f"workspace (no {CONFIG_FILE}): give -w DIR"
        )
    from trustcart.workspace import Workspace

    with Workspace.open(folder) as ws:
        return open_decisions(ws.store, source)


def _store(ctx: typer.Context, result: Any) -> str | None:
    """Keep ``result`` in the workspace, if there is one; its id, else None (said on stderr)."""
    from trustcart.fairness.store import save_audit

    folder = workspace_dir(ctx)
    if not (folder / CONFIG_FILE).is_file():
        err_console.print(
            f"not stored: {folder} is not a workspace (no {CONFIG_FILE}); "
            "give -w DIR to keep audits as evidence"
        )
        return None
    from trustcart.workspace import Workspace

    with Workspace.open(folder) as ws:
        audit_id = save_audit(ws.store, result)
    err_console.print(f"stored audit {audit_id} ({result.kind}) in workspace {folder}")
    return audit_id


def _emit(
    fmt: AuditFormat, doc: dict[str, Any], rich: RenderableType, html: Any, output: Path | None
) -> None:
    """Write JSON, HTML (``html()`` is called only then) or the rich rendering."""
    if fmt is AuditFormat.json:
        write_output(orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode(), output)
    elif fmt is AuditFormat.html:
        write_output(html(), output)
    elif output is None:
        console.print(rich)
    else:
        capture = Console(record=True, width=120, file=io.StringIO())
        capture.print(rich)
        write_output(capture.export_text(), output)


@app.command("proxies")
def proxies(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="A .parquet/.csv file (or folder/glob), a database or Spark URL, or decisions."
        ),
    ],
    protected: Annotated[
        str, typer.Option("--protected", "-p", help="The protected attribute's column.")
    ],
    feature: Annotated[
        list[str] | None,
        typer.Option("--feature", help="Candidate feature; repeat. Default: every other column."),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option("--threshold", help="Cramér's V at or above which a feature is a proxy."),
    ] = 0.3,
    auc_threshold: Annotated[
        float, typer.Option("--auc-threshold", help="AUC at or above which a feature is a proxy.")
    ] = 0.7,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level (Holm).")] = 0.05,
    bins: Annotated[int, typer.Option("--bins", help="Quantile bins for numeric features.")] = 10,
    min_level_size: Annotated[
        int, typer.Option("--min-level-size", help="Pool levels with fewer rows into one.")
    ] = 10,
    table: Annotated[
        str | None, typer.Option("--table", help="Table to scan, with a database or Spark URL.")
    ] = None,
    register: Annotated[
        bool,
        typer.Option("--register", help="Block the proxies found in the workspace's gateways."),
    ] = False,
    fmt: Annotated[
        AuditFormat, typer.Option("--format", "-f", help="table, json (scripts) or html.")
    ] = AuditFormat.table,
    output: OutputOption = None,
) -> None:
    """Which features act as proxies of a protected attribute (Cramér's V, MI, AUC)."""
    from trustcart.fairness import report
    from trustcart.fairness.proxies import detect_proxies, register_proxies

    folder = workspace_dir(ctx)
    if register and not (folder / CONFIG_FILE).is_file():
        raise ValidationError(
            f"--register needs a workspace (-w DIR): {folder} has no {CONFIG_FILE}"
        )
    result = detect_proxies(
        _source(ctx, source),
        protected,
        feature or None,
        table=table,
        v_threshold=threshold,
        auc_threshold=auc_threshold,
        alpha=alpha,
        bins=bins,
        min_level_size=min_level_size,
    )
    audit_id = _store(ctx, result)
    if register and audit_id is not None:
        from trustcart.workspace import Workspace

        with Workspace.open(folder) as ws:
            done = register_proxies(ws.store, result, audit_id)
        err_console.print(
            f"registered {len(done)} proxy feature(s) in the gateway blocklist"
            + (f": {', '.join(done)}" if done else "")
        )
    _emit(
        fmt,
        result.to_dict(),
        report.proxies_rich(result),
        lambda: report.proxies_html(result),
        output,
    )


mitigate_app = typer.Typer(
    help="Mitigation with its trade-off stated: reweigh (training data), classifier "
    "(fairlearn reductions), prices (post-processing).",
    no_args_is_help=True,
)
app.add_typer(mitigate_app, name="mitigate")

SourceArg = Annotated[
    str,
    typer.Argument(
        help="A .parquet/.csv file (or folder/glob), a database or Spark URL, or decisions."
    ),
]
GroupOpt = Annotated[
    list[str], typer.Option("--group", "-g", help="Group column; repeat for intersections.")
]
TableOpt = Annotated[
    str | None, typer.Option("--table", help="Table to read, with a database or Spark URL.")
]
FormatOpt = Annotated[
    AuditFormat, typer.Option("--format", "-f", help="table, json (scripts) or html.")
]
WriteOpt = Annotated[
    Path | None,
    typer.Option("--write", help="Also write the source with the mitigation applied (.parquet)."),
]


def _mitigation_out(ctx: typer.Context, result: Any, fmt: AuditFormat, output: Path | None) -> None:
    from trustcart.fairness import report

    _store(ctx, result)
    _emit(
        fmt,
        result.to_dict(),
        report.mitigation_rich(result),
        lambda: report.mitigation_html(result),
        output,
    )


@mitigate_app.command("reweigh")
def mitigate_reweigh(
    ctx: typer.Context,
    source: SourceArg,
    group: GroupOpt,
    label: Annotated[str, typer.Option("--label", help="The 0/1 training label.")],
    write: WriteOpt = None,
    weight_column: Annotated[
        str, typer.Option("--weight-column", help="Name of the weight column written.")
    ] = "weight",
    table: TableOpt = None,
    fmt: FormatOpt = AuditFormat.table,
    output: OutputOption = None,
) -> None:
    """Kamiran–Calders reweighing: weights making label and group independent."""
    from trustcart.fairness.mitigation import reweigh

    result = reweigh(
        _source(ctx, source), group, label, table=table, write=write, weight_column=weight_column
    )
    _mitigation_out(ctx, result, fmt, output)


class Constraint(StrEnum):
    """``--constraint`` of ``mitigate classifier``."""

    demographic_parity = "demographic_parity"
    equalized_odds = "equalized_odds"


@mitigate_app.command("classifier")
def mitigate_classifier(
    ctx: typer.Context,
    source: SourceArg,
    group: GroupOpt,
    label: Annotated[str, typer.Option("--label", help="The 0/1 label (offer taken).")],
    feature: Annotated[list[str], typer.Option("--feature", help="Model input column; repeat.")],
    constraint: Annotated[
        Constraint, typer.Option("--constraint", help="Fairness constraint.")
    ] = Constraint.demographic_parity,
    eps: Annotated[float, typer.Option("--eps", help="Allowed constraint violation.")] = 0.02,
    test_size: Annotated[
        float, typer.Option("--test-size", help="Held-out share for before/after.")
    ] = 0.3,
    seed: Annotated[int, typer.Option("--seed", help="Split and sampling seed.")] = 0,
    max_rows: Annotated[
        int, typer.Option("--max-rows", help="Sample larger sources to this many rows.")
    ] = 500_000,
    table: TableOpt = None,
    fmt: FormatOpt = AuditFormat.table,
    output: OutputOption = None,
) -> None:
    """Offer classifier trained with fairlearn ExponentiatedGradient vs unconstrained."""
    from trustcart.fairness.reductions import fair_classifier

    result = fair_classifier(
        _source(ctx, source),
        group,
        label,
        feature,
        constraint=constraint.value,
        eps=eps,
        test_size=test_size,
        seed=seed,
        max_rows=max_rows,
        table=table,
    )
    _mitigation_out(ctx, result, fmt, output)


class PriceMode(StrEnum):
    """``--mode`` of ``mitigate prices``."""

    lower = "lower"  # type: ignore[assignment]  # shadows str.lower; the value is what counts
    band = "band"


@mitigate_app.command("prices")
def mitigate_prices(
    ctx: typer.Context,
    source: SourceArg,
    group: GroupOpt,
    price: Annotated[str, typer.Option("--price", help="Price paid column.")],
    list_price: Annotated[
        str | None,
        typer.Option("--list-price", help="Compare price / list price instead of price."),
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Target: min / max group mean ≥ 1 − tolerance.")
    ] = 0.05,
    mode: Annotated[
        PriceMode,
        typer.Option("--mode", help="lower: only cut prices; band: least total change."),
    ] = PriceMode.lower,
    write: WriteOpt = None,
    table: TableOpt = None,
    fmt: FormatOpt = AuditFormat.table,
    output: OutputOption = None,
) -> None:
    """Smallest per-group price scaling within tolerance, with revenue before/after."""
    from trustcart.fairness.mitigation import adjust_prices

    result = adjust_prices(
        _source(ctx, source),
        group,
        price,
        list_price=list_price,
        tolerance=tolerance,
        mode=mode.value,
        table=table,
        write=write,
    )
    _mitigation_out(ctx, result, fmt, output)


@app.command("competition")
def competition(
    ctx: typer.Context,
    window: Annotated[
        str, typer.Option(help="Time window of a price cell: hour, day, week or month.")
    ] = "day",
    min_decisions: Annotated[
        int, typer.Option(min=2, help="Decisions a cell needs before its prices are compared.")
    ] = 2,
    top: Annotated[int, typer.Option(min=1, max=10_000, help="Cells shown in detail.")] = 10,
    fmt: Annotated[AuditFormat, typer.Option("--format", "-f")] = AuditFormat.table,
    output: OutputOption = None,
) -> None:
    """Competition signals from the decision log: price dispersion per product price point and
    window, and the share of shoppers shown a worse price than one offered to others."""
    from rich.table import Table

    from trustcart.fairness import competition_signals

    if fmt is AuditFormat.html:
        raise ValidationError("competition signals render as table or json")
    source = _source(ctx, "decisions:price")
    report = competition_signals(
        source,
        window=window,  # type: ignore[arg-type]  # validated by competition_signals
        min_decisions=min_decisions,
        top=top,
    )

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.1%}"

    rich = Table(
        title=(
            f"Competition signals per {window}: {report.decisions} price decisions in "
            f"{report.cells} cells; {pct(report.share_worse)} shown a worse price than the "
            f"best offered to others (mean excess {pct(report.mean_excess)} of list price); "
            f"widest spread {pct(report.max_spread)}"
        ),
        title_justify="left",
    )
    for col in ("window", "currency", "list price", "n", "best", "worst", "spread", "CV",
                "worse than best"):  # fmt: skip
        rich.add_column(col)
    for c in report.top_cells:
        rich.add_row(
            c.window_start, c.currency, f"{c.list_price:.2f}", str(c.decisions),
            f"{c.best_price:.2f}", f"{c.worst_price:.2f}", pct(c.spread), f"{c.cv:.3f}",
            pct(c.share_worse),
        )  # fmt: skip
    _emit(fmt, report.to_dict(), rich, lambda: "", output)
