"""Rendering an audit for people: a terminal table (rich) and an HTML page with a plot.

matplotlib is imported lazily (Agg backend) so the CLI's JSON path and the library never pay
its start-up cost.
"""

from __future__ import annotations

import io
from importlib import resources
from typing import Any

from jinja2 import Environment, select_autoescape
from rich.console import Group
from rich.table import Table
from rich.text import Text

from trustcart.fairness.findings import label
from trustcart.fairness.result import AuditResult

#: Per kind: the headline metric, its CI key, and the per-group columns shown.
_COLUMNS: dict[str, tuple[str, str, list[str]]] = {
    "binary": (
        "selection_rate",
        "selection_rate_ci",
        [
            "selection_rate",
            "disparate_impact_ratio",
            "true_positive_rate",
            "false_positive_rate",
            "p_value_holm",
        ],
    ),
    "continuous": (
        "mean",
        "mean_ci",
        ["mean", "median", "p10", "p90", "mean_ratio", "p_value_holm"],
    ),
    "ranking": (
        "mean_exposure",
        "mean_exposure_ci",
        [
            "share_of_impressions",
            "share_of_exposure",
            "mean_exposure",
            "exposure_ratio",
            "p_value_holm",
        ],
    ),
}


_SHORT = {
    "selection_rate": "rate",
    "disparate_impact_ratio": "DI ratio",
    "true_positive_rate": "TPR",
    "false_positive_rate": "FPR",
    "p_value_holm": "p (Holm)",
    "share_of_impressions": "impr. share",
    "share_of_exposure": "exp. share",
    "mean_exposure": "mean exp.",
    "exposure_ratio": "exp. ratio",
}


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2g}" if abs(value) < 1e-3 and value != 0 else f"{value:.3g}"
    if isinstance(value, list | tuple) and len(value) == 2:
        return f"[{_fmt(value[0])}, {_fmt(value[1])}]"
    if isinstance(value, dict):
        return label(value)
    return str(value)


def _table_data(result: AuditResult) -> tuple[list[str], list[list[str]]]:
    _, ci, cols = _COLUMNS[result.kind]
    if result.kind == "binary" and result.parameters.get("label") is None:
        cols = [c for c in cols if "positive_rate" not in c]
    headers = ["group", "count", *(_SHORT.get(c, c) for c in cols[:1]), "95% CI"]
    headers += [_SHORT.get(c, c) for c in cols[1:]]
    rows = []
    for c in result.groups:
        if c.suppressed:
            rows.append([label(c.group), "suppressed"] + [""] * (len(headers) - 2))
            continue
        m = c.metrics
        vals = [_fmt(m.get(cols[0])), _fmt(m.get(ci))] + [_fmt(m.get(k)) for k in cols[1:]]
        rows.append([label(c.group), str(c.count), *vals])
    return headers, rows


def _summary(result: AuditResult) -> list[tuple[str, str]]:
    return [(k, _fmt(v)) for k, v in result.metrics.items()]


def to_rich(result: AuditResult) -> Group:
    """Groups table, summary metrics and findings as rich renderables."""
    headers, rows = _table_data(result)
    src = result.source.get("description", "")
    groups = Table(
        title=f"{result.kind} audit of {src}: {result.rows} rows, {result.excluded} excluded",
        title_justify="left",
    )
    for h in headers:
        groups.add_column(h, justify="left" if h == "group" else "right")
    for row in rows:
        groups.add_row(*row)
    summary = Table(title="summary", title_justify="left", show_header=False)
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for k, v in _summary(result):
        summary.add_row(k, v)
    parts: list[Any] = [groups, summary]
    if result.findings:
        for f in result.findings:
            style = "bold red" if f.severity == "high" else "yellow"
            parts.append(Text(f"[{f.severity}] {f.message} — {f.rule}", style=style))
    else:
        parts.append(Text("no finding: no disparity both significant and material", style="green"))
    parts += [Text(n, style="dim") for n in result.notes]
    return Group(*parts)


def plot_svg(result: AuditResult) -> str:
    """Headline metric per reported group with 95% CI bars, as inline SVG text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    headline, ci_key, _ = _COLUMNS[result.kind]
    cells = result.reported
    names = [label(c.group) for c in cells]
    values = [float(c.metrics[headline]) for c in cells]
    lows, highs = [], []
    for c, v in zip(cells, values, strict=True):
        ci = c.metrics.get(ci_key)
        lows.append(v - ci[0] if ci else 0.0)
        highs.append(ci[1] - v if ci else 0.0)
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(3, len(cells)) + 1))
    try:
        ax.barh(names, values, xerr=[lows, highs], capsize=3, color="#4a7ab5")
        ax.invert_yaxis()
        ax.set_xlabel(f"{headline.replace('_', ' ')} (95% CI)")
        by = " × ".join(result.parameters.get("groups", []))
        ax.set_title(f"{result.parameters.get('outcome')} by {by}")
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    finally:
        plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


def to_html(result: AuditResult) -> str:
    """A standalone HTML report: findings, the plot, the groups table and summary metrics."""
    env = Environment(autoescape=select_autoescape(default=True))
    template = env.from_string(
        (resources.files("trustcart.fairness") / "templates" / "audit.html.j2").read_text()
    )
    headers, rows = _table_data(result)
    return template.render(
        doc=result.to_dict(),
        plot=plot_svg(result) if result.reported else "<p>No group large enough to plot.</p>",
        headers=headers,
        rows=rows,
        summary=_summary(result),
    )
