"""Continuous monitoring over HTTP: declared monitors, their windows and the alerts.

Everything served is aggregates (per-group counts, rates, means) — no decision, no person —
so the routes need ``fairness:read`` like stored audits, and are not written to the access log;
they still need an authenticated key. Running a pass stays a CLI/cron job: a web request should
not scan the decision log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from trustcart.api.auth import get_workspace, requires
from trustcart.governance import Scope
from trustcart.monitoring import list_alerts, list_results, load_monitors, monitor_status, series
from trustcart.monitoring import statuses as monitor_statuses
from trustcart.workspace import Workspace

router = APIRouter(prefix="/v1", tags=["monitoring"])
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
NameArg = Annotated[str, Path(max_length=64, description="The monitor's name")]


@router.get("/monitors", **requires(Scope.FAIRNESS_READ))
def get_monitors(ws: WorkspaceDep) -> list[dict[str, Any]]:
    """Declared monitors with their configuration, newest window and open alert."""
    return monitor_statuses(ws.store, load_monitors(ws.settings))


@router.get("/monitors/{name}", **requires(Scope.FAIRNESS_READ))
def get_monitor(ws: WorkspaceDep, name: NameArg) -> dict[str, Any]:
    """One monitor's configuration and status (404 naming the declared ones)."""
    return monitor_status(ws.store, load_monitors(ws.settings).get(name))


@router.get("/monitors/{name}/results", **requires(Scope.FAIRNESS_READ))
def get_monitor_results(
    ws: WorkspaceDep,
    name: NameArg,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    full: bool = False,
) -> list[dict[str, Any]]:
    """Stored windows, newest first: bounds, status, breaches, metric values per group
    (``full=true`` adds each window's whole audit document)."""
    load_monitors(ws.settings).get(name)
    return list_results(ws.store, name, since=since, limit=limit, full=full)


@router.get("/monitors/{name}/series", **requires(Scope.FAIRNESS_READ))
def get_monitor_series(
    ws: WorkspaceDep,
    name: NameArg,
    metric: Annotated[str, Query(max_length=80, description="e.g. selection_rate")],
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """One metric's values per group over windows, oldest first (the dashboard's chart)."""
    load_monitors(ws.settings).get(name)
    return [
        {
            "window_end": p.window_end.isoformat(),
            "group": p.group,
            "value": p.value,
            "ci": [p.ci_low, p.ci_high] if p.ci_low is not None else None,
            "count": p.count,
        }
        for p in series(ws.store, name, metric, since=since)
    ]


@router.get("/monitor-alerts", **requires(Scope.FAIRNESS_READ))
def get_monitor_alerts(
    ws: WorkspaceDep,
    monitor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Alert events (raised, resolved), newest first, with their delivery state."""
    return list_alerts(ws.store, monitor, limit=limit)
