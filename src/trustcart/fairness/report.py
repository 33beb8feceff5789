"""Rendering an audit for people: a terminal table (rich) and an HTML page with a plot.

matplotlib is imported lazily (Agg backend) so the CLI's JSON path and the library never pay
its start-up cost.
"""

from __future__ import annotations

import io
from importlib import resources
from typing import Any

from jinja2 import Environment, Template, select_autoescape
from rich.console import Group
from rich.table import Table
from rich.text import Text

from trustcart.fairness.findings import label
from trustcart.fairness.mitigation import MitigationResult
from trustcart.fairness.proxies import ProxyReport
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
        ["mean", "p10", "p25", "median", "p75", "p90", "mean_ratio", "p_value_holm"],
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


def headline_metric(kind: str) -> tuple[str, str] | None:
    """The per-group metric a report of audit ``kind`` leads with, and its 95% CI key (None
    for kinds that are not disparity audits, e.g. proxy scans)."""
    entry = _COLUMNS.get(kind)
    return (entry[0], entry[1]) if entry else None


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


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    """The figure as inline SVG text (closed afterwards)."""
    plt = _pyplot()
    try:
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    finally:
        plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


def _template(name: str) -> Template:
    env = Environment(autoescape=select_autoescape(default=True))
    return env.from_string((resources.files("trustcart.fairness") / "templates" / name).read_text())


def plot_svg(result: AuditResult) -> str:
    """Headline metric per reported group with 95% CI bars, as inline SVG text."""
    plt = _pyplot()

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
    ax.barh(names, values, xerr=[lows, highs], capsize=3, color="#4a7ab5")
    ax.invert_yaxis()
    ax.set_xlabel(f"{headline.replace('_', ' ')} (95% CI)")
    by = " × ".join(result.parameters.get("groups", []))
    ax.set_title(f"{result.parameters.get('outcome')} by {by}")
    return _svg(fig)


def distribution_chart(doc: dict[str, Any], chart_id: str = "distribution") -> Any:
    """Price (outcome) distribution per reported group of a continuous audit document, as
    server-rendered SVG: p10/p25/median/p75/p90 box and mean with its 95% CI — numbers the
    engine already returned, no extra query. None for other kinds, or stored audits made
    before p25/p75 were computed."""
    from trustcart.dashboard.charts import Spread, quantile_chart

    if doc.get("kind") != "continuous":
        return None
    keys = ("p10", "p25", "median", "p75", "p90", "mean")
    rows = []
    for g in doc.get("groups", []):
        if g.get("suppressed"):
            continue
        if any(g.get(k) is None for k in keys):
            return None
        ci = g.get("mean_ci") or [None, None]
        p10, p25, median, p75, p90, mean = (float(g[k]) for k in keys)
        rows.append(Spread(label(g["group"]), p10, p25, median, p75, p90, mean, ci[0], ci[1]))
    if not rows:
        return None
    params = doc.get("parameters", {})
    outcome = params.get("outcome", "")
    return quantile_chart(
        chart_id,
        rows,
        title=f"distribution of {outcome} by {' × '.join(params.get('groups', []))}",
        x_label=str(outcome),
    )


def to_html(result: AuditResult) -> str:
    """A standalone HTML report: findings, the plots, the groups table and summary metrics."""
    headers, rows = _table_data(result)
    doc = result.to_dict()
    return _template("audit.html.j2").render(
        doc=doc,
        plot=plot_svg(result) if result.reported else "<p>No group large enough to plot.</p>",
        distribution=distribution_chart(doc),
        headers=headers,
        rows=rows,
        summary=_summary(result),
    )


# -- proxy scans ---------------------------------------------------------------------------------

_PROXY_HEADERS = [
    "feature",
    "treatment",
    "levels",
    "Cramér's V",
    "MI (nats)",
    "U",
    "AUC",
    "p (Holm)",
    "proxy",
]


def _proxy_rows(report: ProxyReport) -> list[list[str]]:
    return [
        [
            s.feature,
            s.treatment,
            str(s.levels),
            _fmt(s.cramers_v),
            _fmt(s.mutual_information),
            _fmt(s.uncertainty_coefficient),
            _fmt(s.auc),
            _fmt(s.p_value_holm),
            "PROXY" if s.proxy else "",
        ]
        for s in report.features
    ]


def proxies_rich(report: ProxyReport) -> Group:
    """The scores table and the findings as rich renderables."""
    table = Table(
        title=f"proxies of {report.protected} in {report.source.get('description', '')}: "
        f"{report.rows} rows, {report.classes} values",
        title_justify="left",
    )
    for h in _PROXY_HEADERS:
        table.add_column(h, justify="left" if h in ("feature", "treatment") else "right")
    for row in _proxy_rows(report):
        table.add_row(*row)
    parts: list[Any] = [table]
    parts += [
        Text(f"[{f.severity}] {f.message} — {f.rule}", style="yellow") for f in report.findings
    ]
    if not report.findings:
        parts.append(
            Text("no proxy: no feature both significant and above a threshold", style="green")
        )
    parts += [Text(n, style="dim") for n in report.notes]
    return Group(*parts)


def proxies_svg(report: ProxyReport) -> str:
    """Cramér's V and AUC per feature, with the thresholds, as inline SVG."""
    plt = _pyplot()
    feats = report.features
    names = [s.feature for s in feats]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 0.4 * max(3, len(feats)) + 1.2), sharey=True)
    colours = ["#b54a4a" if s.proxy else "#4a7ab5" for s in feats]
    a1.barh(names, [s.cramers_v or 0.0 for s in feats], color=colours)
    a1.axvline(report.parameters["v_threshold"], color="#333", linestyle="--", linewidth=1)
    a1.set_xlim(0, 1)
    a1.set_xlabel("Cramér's V")
    a1.invert_yaxis()
    a2.barh(names, [s.auc or 0.5 for s in feats], color=colours)
    a2.axvline(report.parameters["auc_threshold"], color="#333", linestyle="--", linewidth=1)
    a2.set_xlim(0.5, 1)
    a2.set_xlabel("AUC (feature alone predicting the attribute)")
    fig.suptitle(f"association with {report.protected} (red: proxy)")
    return _svg(fig)


def proxies_html(report: ProxyReport) -> str:
    """A standalone HTML page: findings, the plot and the scores table."""
    return _template("proxies.html.j2").render(
        doc=report.to_dict(),
        plot=proxies_svg(report) if report.features else "<p>No feature scored.</p>",
        headers=_PROXY_HEADERS,
        rows=_proxy_rows(report),
    )


# -- mitigations ---------------------------------------------------------------------------------

#: Per method: the per-group detail columns shown beside before / after.
_DETAIL = {
    "reweighing": ["weight_positive", "weight_negative"],
    "price_adjustment": ["factor", "change_percent"],
    "exponentiated_gradient": [],
}


def _mitigation_rows(result: MitigationResult) -> tuple[list[str], list[list[str]]]:
    m = result.metric
    extra = ["accuracy"] if result.method == "exponentiated_gradient" else []
    details = _DETAIL.get(result.method, [])
    headers = ["group", "count", f"{m} before", f"{m} after"]
    headers += [f"{e} before" for e in extra] + [f"{e} after" for e in extra] + details
    rows = []
    for g in result.groups:
        row = [label(g.group), str(g.count), _fmt(g.before.get(m)), _fmt(g.after.get(m))]
        row += [_fmt(g.before.get(e)) for e in extra] + [_fmt(g.after.get(e)) for e in extra]
        row += [_fmt(g.detail.get(d)) for d in details]
        rows.append(row)
    return headers, rows


def _mitigation_summary(result: MitigationResult) -> list[tuple[str, str, str]]:
    keys = list(dict.fromkeys([*result.before, *result.after]))
    return [(k, _fmt(result.before.get(k)), _fmt(result.after.get(k))) for k in keys]


def mitigation_rich(result: MitigationResult) -> Group:
    """Per-group before/after, the summary before/after and the trade-off statement."""
    headers, rows = _mitigation_rows(result)
    table = Table(
        title=f"{result.method} ({result.stage}) of {result.source.get('description', '')}",
        title_justify="left",
    )
    for h in headers:
        table.add_column(h, justify="left" if h == "group" else "right")
    for row in rows:
        table.add_row(*row)
    summary = Table(title="summary", title_justify="left")
    for h in ("metric", "before", "after"):
        summary.add_column(h, justify="left" if h == "metric" else "right")
    for row3 in _mitigation_summary(result):
        summary.add_row(*row3)
    parts: list[Any] = [
        table,
        summary,
        Text(f"trade-off: {result.tradeoff['statement']}", style="bold"),
    ]
    parts += [Text(n, style="dim") for n in result.notes]
    return Group(*parts)


def mitigation_svg(result: MitigationResult) -> str:
    """Before/after bars of the headline metric per group (and accuracy for classifiers)."""
    import numpy as np

    plt = _pyplot()
    panels = [result.metric] + (["accuracy"] if result.method == "exponentiated_gradient" else [])
    names = [label(g.group) for g in result.groups]
    pos = np.arange(len(names))
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(4.5 * len(panels) + 2, 0.5 * max(3, len(names)) + 1.4),
        squeeze=False,
    )
    for ax, metric in zip(axes[0], panels, strict=True):
        before = [float(g.before.get(metric) or 0.0) for g in result.groups]
        after = [float(g.after.get(metric) or 0.0) for g in result.groups]
        ax.barh(pos - 0.2, before, height=0.4, color="#9aa5b1", label="before")
        ax.barh(pos + 0.2, after, height=0.4, color="#4a7ab5", label="after")
        ax.set_yticks(pos, names)
        ax.invert_yaxis()
        ax.set_xlabel(metric.replace("_", " "))
        ax.legend(loc="best", fontsize="small", framealpha=0.9)
    fig.suptitle(f"{result.method.replace('_', ' ')}: before and after")
    return _svg(fig)


def mitigation_html(result: MitigationResult) -> str:
    """A standalone HTML page: the trade-off, the before/after plot and tables."""
    headers, rows = _mitigation_rows(result)
    return _template("mitigation.html.j2").render(
        doc=result.to_dict(),
        plot=mitigation_svg(result) if result.groups else "<p>No group.</p>",
        headers=headers,
        rows=rows,
        summary=_mitigation_summary(result),
    )
