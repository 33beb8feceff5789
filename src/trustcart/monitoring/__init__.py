"""Continuous monitoring: fairness audits re-run over sliding windows, drift alerts.

Library first: :func:`run_monitors` is one pass (what ``trustcart monitor run`` calls from cron,
a systemd timer or its own ``--every`` loop); monitors are declared in the workspace's
``monitors.yaml`` (:func:`load_monitors`); results, metric series and alerts are read back with
:func:`list_results`, :func:`series` and :func:`list_alerts`. Each window is one
:func:`trustcart.fairness.audit` over the rows in it, computed where the data lives.
"""

from trustcart.monitoring.config import (
    AlertsConfig,
    ChangeRule,
    MetricRule,
    MonitorsFile,
    MonitorSpec,
    WebhookConfig,
    load_monitors,
    monitors_path,
    parse_duration,
    parse_monitors,
)
from trustcart.monitoring.delivery import Delivery, post_signed
from trustcart.monitoring.drift import Breach, breaches_of
from trustcart.monitoring.engine import (
    ALERT_LOG,
    RunReport,
    WindowOutcome,
    deliver_pending,
    evaluate_window,
    run_monitor,
    run_monitors,
)
from trustcart.monitoring.queries import (
    SeriesPoint,
    list_alerts,
    list_results,
    monitor_status,
    series,
    statuses,
)
from trustcart.monitoring.schedule import next_tick, run_every
from trustcart.monitoring.windows import Window, due_windows

__all__ = [
    "ALERT_LOG",
    "AlertsConfig",
    "Breach",
    "ChangeRule",
    "Delivery",
    "MetricRule",
    "MonitorSpec",
    "MonitorsFile",
    "RunReport",
    "SeriesPoint",
    "WebhookConfig",
    "Window",
    "WindowOutcome",
    "breaches_of",
    "deliver_pending",
    "due_windows",
    "evaluate_window",
    "list_alerts",
    "list_results",
    "load_monitors",
    "monitor_status",
    "monitors_path",
    "next_tick",
    "parse_duration",
    "parse_monitors",
    "post_signed",
    "run_every",
    "run_monitor",
    "run_monitors",
    "series",
    "statuses",
]
