"""``trustcart monitor``: continuous fairness monitoring (thin shell over trustcart.monitoring).

``monitor run`` is one idempotent pass (for cron or a systemd timer); ``--every 1h`` keeps it
running as a loop. It exits 1 when an alert could not be delivered to the webhook (so cron
mails someone), 2 on a configuration error, 0 otherwise — drift itself is not a failure of the
command: it is recorded, alerted and shown in the dashboard.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
    workspace_dir,
)
from trustcart.errors import ConfigError, ValidationError

app = typer.Typer(
    help="Continuous monitoring: audits over sliding windows of the decision log, drift alerts.",
    no_args_is_help=True,
)


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError("--now needs an ISO time such as 2026-11-01T00:00Z") from None
    if t.tzinfo is None:
        raise ValidationError("--now needs a time zone (e.g. a trailing Z for UTC)")
    return t.astimezone(UTC)


def _pass(ctx: typer.Context, names: list[str] | None, now: datetime | None, fmt: str) -> int:
    """One pass; returns the number of failed deliveries."""
    from trustcart.monitoring import run_monitors

    with open_workspace(ctx) as ws:
        report = run_monitors(ws, names=names or None, now=now)
    if fmt == OutputFormat.json:
        print_json(report.to_dict())
    else:
        by_monitor: dict[str, list[str]] = {}
        for w in report.windows:
            by_monitor.setdefault(w.monitor, []).append(w.status)
        for name, statuses in by_monitor.items():
            counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
            console.print(f"{name}: {len(statuses)} window(s) evaluated ({counts})")
        if not report.windows:
            console.print("no window completed since the last pass: nothing to evaluate")
        for w in report.alerts:
            console.print(f"alert {w.alert} {w.event}: {w.monitor} window ending {w.window.end}")
        for d in report.failed_deliveries:
            err_console.print(f"webhook delivery of {d['alert']} failed: {d['error']}")
    return len(report.failed_deliveries)


@app.command("run")
def run(
    ctx: typer.Context,
    name: Annotated[
        list[str] | None, typer.Option("--name", "-n", help="Only this monitor; repeat.")
    ] = None,
    every: Annotated[
        str | None,
        typer.Option("--every", help="Keep running: a pass at every multiple of this (1h, 15m)."),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Evaluate as of this ISO time (backfills, tests)."),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Evaluate every completed window not yet stored, detect drift, send alerts."""
    at = _parse_now(now)
    if every is None:
        failed = _pass(ctx, name, at, fmt)
        raise typer.Exit(1 if failed else 0)
    if at is not None:
        raise ValidationError("--now and --every do not go together")
    from trustcart.monitoring import parse_duration, run_every

    try:
        period = parse_duration(every, "--every")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None

    def report_error(exc: BaseException) -> None:
        message = getattr(exc, "message", None) or type(exc).__name__
        err_console.print(f"monitor pass failed: {message}; trying again at the next tick")

    err_console.print(f"monitoring {workspace_dir(ctx)} every {every} (Ctrl-C or SIGTERM stops it)")

    def one_pass() -> None:
        _pass(ctx, name, None, fmt)  # failed deliveries are retried by the next pass

    run_every(period, one_pass, on_error=report_error)


@app.command("validate")
def validate(ctx: typer.Context) -> None:
    """Check the monitors file (unknown keys, durations, metrics) without running anything."""
    from trustcart.monitoring import load_monitors, monitors_path

    with open_workspace(ctx) as ws:
        config = load_monitors(ws.settings, required=True)
        path = monitors_path(ws.settings)
    console.print(f"{path}: {len(config.monitors)} monitor(s) valid")


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Declared monitors, their newest window and whether an alert is open."""
    from trustcart.monitoring import load_monitors, statuses

    with open_workspace(ctx) as ws:
        rows = statuses(ws.store, load_monitors(ws.settings))
    if fmt == OutputFormat.json:
        print_json(rows)
        return
    print_table(
        "Monitors",
        ["name", "source", "kind", "window/step", "windows", "last window end", "status"],
        [
            (
                r["name"],
                r["source"],
                r["kind"],
                f"{r['window']}/{r['step']}",
                r["windows_stored"],
                r["last_window_end"],
                "ALERT" if r["alerting"] else (r["last_status"] or "never run"),
            )
            for r in rows
        ],
    )


@app.command("results")
def results(
    ctx: typer.Context,
    monitor: Annotated[str, typer.Argument(help="The monitor's name.")],
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Stored windows of a monitor, newest first, with the metric values per group."""
    from trustcart.monitoring import list_results, load_monitors

    with open_workspace(ctx) as ws:
        load_monitors(ws.settings, required=True).get(monitor)
        rows = list_results(ws.store, monitor, limit=limit)
    if fmt == OutputFormat.json:
        print_json(rows)
        return
    print_table(
        f"Windows of {monitor}",
        ["window end", "status", "rows", "values"],
        [
            (
                r["window"]["end"],
                r["status"],
                r["rows"],
                "; ".join(
                    f"{v['metric']} {v['group']}={v['value']:.3g}"
                    for v in r["values"]
                    if v["value"] is not None
                ),
            )
            for r in rows
        ],
    )


@app.command("alerts")
def alerts(
    ctx: typer.Context,
    monitor: Annotated[str | None, typer.Option("--monitor", help="Only this monitor.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Alert events (raised, resolved), newest first, with their delivery state."""
    from trustcart.monitoring import list_alerts

    with open_workspace(ctx) as ws:
        rows = list_alerts(ws.store, monitor, limit=limit)
    if fmt == OutputFormat.json:
        print_json(rows)
        return
    print_table(
        "Monitor alerts",
        ["alert", "monitor", "event", "window end", "outbox", "webhook", "message"],
        [
            (
                a["id"],
                a["monitor"],
                a["event"],
                a["window"]["end"],
                a["outbox"],
                a["webhook"],
                a["message"],
            )
            for a in rows
        ],
    )
