"""Dashboard pages of continuous monitoring: the monitors, their metric series, the alerts.

Thin, like :mod:`trustcart.dashboard.pages`: windows, values and alerts come from
:mod:`trustcart.monitoring`; the chart is :func:`trustcart.dashboard.charts.line_chart` with the
rule's thresholds drawn as lines. Aggregates only, so the pages need ``fairness:read``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from markupsafe import Markup

from trustcart.api.auth import get_workspace
from trustcart.dashboard import charts
from trustcart.dashboard.pages import router
from trustcart.dashboard.web import Viewer, need, render
from trustcart.governance import Scope

#: At most this many windows are drawn (the newest); the API serves the whole history.
MAX_POINTS = 90


@router.get("/monitoring", name="dashboard_monitoring")
def monitoring(
    request: Request, v: Annotated[Viewer, Depends(need(Scope.FAIRNESS_READ))]
) -> Response:
    """Every declared monitor with its newest window and state, and the latest alerts."""
    from trustcart.monitoring import list_alerts, load_monitors, monitors_path, statuses

    ws = get_workspace(request)
    config = load_monitors(ws.settings)
    return render(
        request,
        "monitoring.html.j2",
        monitors=statuses(ws.store, config),
        alerts=list_alerts(ws.store, limit=50),
        path=monitors_path(ws.settings).name,
    )


def _chart(name: str, metric: str, title: str, points: list[Any], rule: Any) -> Markup:
    ends = sorted({p.window_end for p in points})[-MAX_POINTS:]
    index = {e: i for i, e in enumerate(ends)}
    by_group: dict[str, list[float | None]] = {}
    for p in points:
        if p.window_end in index:
            by_group.setdefault(p.group, [None] * len(ends))[index[p.window_end]] = p.value
    lines = [
        charts.Series("summary" if g == "*" else g, vals) for g, vals in sorted(by_group.items())
    ]
    thresholds = [(rule.min, f"min {rule.min:g}")] if rule.min is not None else []
    thresholds += [(rule.max, f"max {rule.max:g}")] if rule.max is not None else []
    return charts.line_chart(
        f"m-{name}-{metric}".replace(":", "-").replace(".", "-"),
        [f"{e:%m-%d %H:%M}" if e.hour or e.minute else f"{e:%Y-%m-%d}" for e in ends],
        lines,
        title=title,
        thresholds=thresholds,
    )


@router.get("/monitoring/{name}", name="dashboard_monitor")
def monitor(
    request: Request,
    name: str,
    v: Annotated[Viewer, Depends(need(Scope.FAIRNESS_READ))],
) -> Response:
    """One monitor: per rule, the metric per group over windows with its threshold line;
    the newest windows with their breaches; this monitor's alerts."""
    from trustcart.monitoring import list_alerts, list_results, load_monitors, monitor_status
    from trustcart.monitoring import series as metric_series

    ws = get_workspace(request)
    spec = load_monitors(ws.settings).get(name)
    panels = []
    for rule in spec.metrics:
        summary = spec.scope_of(rule) == "summary"
        metric = rule.metric + (":summary" if summary else "")
        points = metric_series(ws.store, name, metric)
        title = f"{rule.metric.replace('_', ' ')} {'(summary)' if summary else 'per group'}"
        rules = []
        if rule.min is not None:
            rules.append(f"alert below {rule.min:g}")
        if rule.max is not None:
            rules.append(f"alert above {rule.max:g}")
        if rule.change is not None:
            rules.append(
                f"alert on a change of at least {rule.change.min_change:g} against the previous "
                f"window (Holm-adjusted p < {rule.change.alpha:g})"
            )
        panels.append(
            {
                "title": title,
                "rules": rules,
                "chart": _chart(name, metric, title, points, rule) if points else None,
            }
        )
    return render(
        request,
        "monitor.html.j2",
        m=monitor_status(ws.store, spec),
        panels=panels,
        results=list_results(ws.store, name, limit=30),
        alerts=list_alerts(ws.store, name, limit=50),
    )
