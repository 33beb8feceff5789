"""Continuous monitoring: windows, drift, de-duplicated alerts, deliveries, config errors.

Decisions are planted over ~two months by pinning the decision log's clock batch by batch, so
the hash chain and the copy table carry the planted times. Windows are checked against an
independent pandas computation; the webhook is a real local HTTP server verifying signatures.
The storage tests run on SQLite and PostgreSQL (the ``workspace`` fixture).
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from trustcart.cli import app as cli
from trustcart.errors import ConfigError
from trustcart.gateway import DecisionLog
from trustcart.ids import new_id
from trustcart.monitoring import (
    ALERT_LOG,
    Window,
    due_windows,
    list_alerts,
    list_results,
    load_monitors,
    parse_monitors,
    run_monitors,
    series,
)
from trustcart.rights.connectors.webhook import verify_signature
from trustcart.rights.outbox import OutboxSender
from trustcart.workspace import Workspace

START = datetime(2026, 9, 1, tzinfo=UTC)
GROUPS = ("EU", "US-CA", "BR")
HOURS = (3, 9, 15, 21)  # four batches a day
PER_BATCH = 20  # decisions per group per batch: 560 per group per 7-day window
SECRET = "s3cret-for-the-test-webhook-0123456789"


def plant(
    ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    days: int,
    rate: Any,
    *,
    seed: int = 7,
    first_day: int = 0,
) -> pd.DataFrame:
    """Offer decisions for ``days`` days; ``rate(group, day)`` is the offer probability."""
    rng = np.random.default_rng(seed)
    log = DecisionLog(ws.store, mode="sync")
    rows = []
    with monkeypatch.context() as m:
        _plant_days(ws, m, log, rng, rows, range(first_day, first_day + days), rate)
    log.close()
    return pd.DataFrame(rows)


def _plant_days(
    ws: Workspace,
    m: pytest.MonkeyPatch,
    log: DecisionLog,
    rng: np.random.Generator,
    rows: list[dict[str, Any]],
    days: range,
    rate: Any,
) -> None:
    import trustcart.store.hashlog as hashlog

    for day in days:
        for hour in HOURS:
            at = START + timedelta(days=day, hours=hour)
            payloads = []
            for g in GROUPS:
                for _ in range(PER_BATCH):
                    made = bool(rng.random() < rate(g, day))
                    payloads.append(
                        {
                            "id": new_id("dec_"),
                            "subject": f"ps_{len(rows) % 97:04d}",
                            "kind": "offer",
                            "model": "offer-ref",
                            "model_version": "1",
                            "jurisdiction": g,
                            "personalised": True,
                            "group": None,
                            "output": {"offer": "WELCOME10" if made else None, "score": 0.5},
                            "latency_us": 100,
                        }
                    )
                    rows.append({"created_at": at, "jurisdiction": g, "offered": int(made)})
            m.setattr(hashlog, "utcnow", lambda at=at: at)
            log.append_many(payloads)


def write_monitors(ws: Workspace, doc: dict[str, Any]) -> None:
    (ws.root / "monitors.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def offer_monitor(**extra: Any) -> dict[str, Any]:
    return {
        "name": "offers",
        "source": "decisions:offer",
        "groups": ["jurisdiction"],
        "outcome": "offered",
        "kind": "binary",
        "window": "7d",
        "step": "1d",
        "backfill": "120d",
        "metrics": [
            # thresholds sized for 560 decisions per group and window: the planted drift
            # (0.5 -> 0.2) is far beyond them, chance swings of a stable 0.5 rate are not
            {"metric": "disparate_impact_ratio", "min": 0.7},
            {"metric": "selection_rate", "change": {"alpha": 0.001, "min_change": 0.15}},
        ],
        **extra,
    }


class Receiver:
    """A real HTTP server on a free port recording each POST (headers, body)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = 500 if len(outer.calls) <= outer.fail_first else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/trustcart?token=abc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _drift(g: str, day: int) -> float:
    return 0.2 if g == "BR" and day >= 35 else 0.5


def _stable(g: str, day: int) -> float:
    return 0.5


NOW = START + timedelta(days=56, hours=1)


# --- windows ------------------------------------------------------------------------------------


def test_window_grid_is_aligned_and_complete_only() -> None:
    now = datetime(2026, 9, 10, 0, 3, tzinfo=UTC)
    ws = due_windows(
        window=timedelta(days=7),
        step=timedelta(days=1),
        now=now,
        grace=timedelta(minutes=5),
        backfill=timedelta(days=30),
        after=None,
        first_data=datetime(2026, 9, 1, 3, tzinfo=UTC),
    )
    # the window ending at 2026-09-10 00:00 is not complete yet (grace of 5 minutes)
    # no partial leading window: the first one starts at the first row's day
    assert [w.end.day for w in ws] == [8, 9]
    assert ws[0] == Window(datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 8, tzinfo=UTC))
    assert ws[0].previous == Window(
        datetime(2026, 8, 25, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)
    )
    later = due_windows(
        window=timedelta(days=7),
        step=timedelta(days=1),
        now=now + timedelta(days=2),
        grace=timedelta(minutes=5),
        backfill=timedelta(days=30),
        after=ws[-1].end,
        first_data=None,
    )
    assert [w.end.day for w in later] == [10, 11]


def test_windows_match_an_independent_pandas_computation(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = plant(workspace, monkeypatch, 21, _drift)
    write_monitors(workspace, {"monitors": [offer_monitor()]})
    now = START + timedelta(days=21, hours=2)
    report = run_monitors(workspace, now=now)
    ends = [w.window.end for w in report.windows]
    assert ends == [START + timedelta(days=d) for d in range(7, 22)]
    points = series(workspace.store, "offers", "selection_rate")
    assert len(points) == 15 * 3
    for p in points:
        start = p.window_end - timedelta(days=7)
        inside = frame[(frame.created_at >= start) & (frame.created_at < p.window_end)]
        g = inside[inside.jurisdiction == p.group.removeprefix("jurisdiction=")]
        assert p.count == len(g)
        assert p.value == pytest.approx(g.offered.mean(), rel=1e-12)
        assert p.ci_low is not None and p.ci_low <= p.value <= (p.ci_high or 0)
    di = series(workspace.store, "offers", "disparate_impact_ratio")
    last = [p for p in di if p.window_end == ends[-1]]
    inside = frame[frame.created_at >= ends[-1] - timedelta(days=7)]
    rates = inside.groupby("jurisdiction").offered.mean()
    for p in last:
        assert p.value == pytest.approx(
            rates[p.group.removeprefix("jurisdiction=")] / rates.max(), rel=1e-12
        )
    # idempotent: the same pass again evaluates nothing and stores nothing new
    again = run_monitors(workspace, now=now)
    assert again.windows == []
    assert len(list_results(workspace.store, "offers", limit=1000)) == 15


# --- drift and alerts ---------------------------------------------------------------------------


def test_planted_drift_raises_exactly_one_alert_to_outbox_and_webhook(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    plant(workspace, monkeypatch, 56, _drift)
    monkeypatch.setenv("MONITOR_WEBHOOK_SECRET", SECRET)
    write_monitors(
        workspace,
        {
            "alerts": {
                "recipient": "dpo@stylesense.example",
                "webhook": {
                    "url": receiver.url,
                    "secret_env": "MONITOR_WEBHOOK_SECRET",
                    "backoff_seconds": 0,
                },
            },
            "monitors": [offer_monitor()],
        },
    )
    report = run_monitors(workspace, now=NOW)
    assert len(report.windows) == 50
    breached = [w for w in report.windows if w.breaches]
    # before the shift (day 35) no window breaches; after it, the drift persists to the end
    assert breached and all(w.window.end > START + timedelta(days=35) for w in breached)
    assert breached[-1].window.end == NOW.replace(hour=0)
    raised = [w for w in report.windows if w.event == "raised"]
    assert len(raised) == 1 and not [w for w in report.windows if w.event == "resolved"]
    alert_window = raised[0]
    assert alert_window is breached[0]
    assert {b.group for b in alert_window.breaches} == {"jurisdiction=BR"}

    alerts = list_alerts(workspace.store)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["event"] == "raised" and alert["outbox"] == "sent"
    assert alert["webhook"] == "sent" and alert["webhook_attempts"] == 1

    messages = OutboxSender(workspace.store).messages(alert["id"])
    assert len(messages) == 1
    assert messages[0].recipient == "dpo@stylesense.example"
    assert "jurisdiction=BR" in messages[0].body

    assert len(receiver.calls) == 1
    headers, body = receiver.calls[0]
    assert verify_signature(
        SECRET.encode(), headers["x-trustcart-timestamp"], body, headers["x-trustcart-signature"]
    )
    assert not verify_signature(
        b"another secret", headers["x-trustcart-timestamp"], body, headers["x-trustcart-signature"]
    )
    sent = json.loads(body)
    assert sent["alert"] == alert["id"] and sent["monitor"] == "offers"
    assert headers["x-trustcart-delivery"] == alert["id"]
    assert {b["group"] for b in sent["breaches"]} == {"jurisdiction=BR"}

    chain = workspace.store.log(ALERT_LOG)
    assert chain.verify().ok and len(chain) == 1
    assert next(iter(chain)).payload["alert"] == alert["id"]

    # later passes while the drift persists: new windows, still in breach, no new alert
    plant(workspace, monkeypatch, 3, _drift, seed=8, first_day=56)
    later = run_monitors(workspace, now=NOW + timedelta(days=3))
    assert [w.status for w in later.windows] == ["breach"] * 3
    assert not later.alerts and len(list_alerts(workspace.store)) == 1
    assert len(receiver.calls) == 1 and len(chain) == 1


def test_stable_series_raises_no_alert(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    plant(workspace, monkeypatch, 56, _stable)
    monkeypatch.setenv("MONITOR_WEBHOOK_SECRET", SECRET)
    write_monitors(
        workspace,
        {
            "alerts": {"webhook": {"url": receiver.url, "secret_env": "MONITOR_WEBHOOK_SECRET"}},
            "monitors": [offer_monitor()],
        },
    )
    report = run_monitors(workspace, now=NOW)
    assert len(report.windows) == 50
    assert [w for w in report.windows if w.breaches] == []
    assert list_alerts(workspace.store) == [] and receiver.calls == []
    assert OutboxSender(workspace.store).messages() == []


def test_recovery_is_recorded_once_and_not_sent_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace.create(tmp_path / "ws")

    def rate(g: str, day: int) -> float:
        return 0.2 if g == "BR" and 21 <= day < 35 else 0.5

    plant(ws, monkeypatch, 63, rate)
    write_monitors(ws, {"monitors": [offer_monitor()]})
    report = run_monitors(ws, now=START + timedelta(days=63, hours=1))
    events = [(w.event, w.window.end) for w in report.windows if w.event]
    assert [e for e, _ in events] == ["raised", "resolved"]
    # resolved after 7 clean windows: the drift (to day 35) and the jump back (compared with
    # the previous, drifted, window) have both rolled out of the windows
    assert events[1][1] > START + timedelta(days=49)
    alerts = list_alerts(ws.store)
    assert [a["event"] for a in alerts] == ["resolved", "raised"]
    assert alerts[0]["outbox"] == "skipped" and alerts[1]["outbox"] == "sent"
    assert len(OutboxSender(ws.store).messages()) == 1
    assert len(ws.store.log(ALERT_LOG)) == 2
    ws.close()


def test_failed_webhook_is_retried_then_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace.create(tmp_path / "ws")
    plant(ws, monkeypatch, 42, _drift)
    monkeypatch.setenv("MONITOR_WEBHOOK_SECRET", SECRET)
    flaky = Receiver(fail_first=3)
    try:
        write_monitors(
            ws,
            {
                "alerts": {
                    "webhook": {
                        "url": flaky.url,
                        "secret_env": "MONITOR_WEBHOOK_SECRET",
                        "retries": 1,
                        "backoff_seconds": 0,
                    }
                },
                "monitors": [offer_monitor()],
            },
        )
        now = START + timedelta(days=42, hours=1)
        first = run_monitors(ws, now=now)
        assert len(first.alerts) == 1 and len(first.failed_deliveries) == 1
        (alert,) = list_alerts(ws.store)
        assert alert["webhook"] == "failed" and alert["webhook_attempts"] == 2
        assert "HTTP 500" in alert["webhook_error"] and "token" not in alert["webhook_error"]
        second = run_monitors(ws, now=now)  # no new window; the delivery is tried again
        assert second.windows == [] and second.failed_deliveries == []
        (alert,) = list_alerts(ws.store)
        assert alert["webhook"] == "sent" and alert["webhook_attempts"] == 4
        ids = {h["x-trustcart-delivery"] for h, _ in flaky.calls}
        assert ids == {alert["id"]} and len(flaky.calls) == 4
    finally:
        flaky.close()
        ws.close()


def test_missing_webhook_secret_fails_delivery_without_leaking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ws = Workspace.create(tmp_path / "ws")
    plant(ws, monkeypatch, 42, _drift)
    write_monitors(
        ws,
        {
            "alerts": {
                "webhook": {
                    "url": "http://127.0.0.1:9/hook?token=SENSITIVE",
                    "secret_env": "MONITOR_WEBHOOK_SECRET",
                    "retries": 0,
                }
            },
            "monitors": [offer_monitor()],
        },
    )
    report = run_monitors(ws, now=START + timedelta(days=42, hours=1))
    (failed,) = report.failed_deliveries
    assert "MONITOR_WEBHOOK_SECRET is not set" in failed["error"]
    monkeypatch.setenv("MONITOR_WEBHOOK_SECRET", SECRET)
    with caplog.at_level("WARNING", logger="trustcart.monitoring"):
        again = run_monitors(ws, now=START + timedelta(days=42, hours=1))
    (failed,) = again.failed_deliveries
    assert "http://127.0.0.1:9 unreachable" in failed["error"]
    assert "SENSITIVE" not in caplog.text and SECRET not in caplog.text
    assert caplog.records  # the failure was logged
    ws.close()


# --- other sources ------------------------------------------------------------------------------


def _price_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 4000
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(START)
            + pd.to_timedelta(rng.uniform(0, 14 * 86400, n).round(), unit="s"),
            "band": rng.choice(["a", "b"], n),
            "price": rng.normal(50, 5, n),
        }
    )
    frame.loc[(frame.band == "b") & (frame.ts >= START + timedelta(days=10)), "price"] += 20
    return frame


def _price_monitor(source: str, table: str | None = None) -> dict[str, Any]:
    return {
        "name": "prices",
        "source": source,
        **({"table": table} if table else {}),
        "time_column": "ts",
        "groups": ["band"],
        "outcome": "price",
        "kind": "continuous",
        "favourable": "lower",
        "window": "2d",
        "step": "1d",
        "metrics": [
            {"metric": "mean_ratio", "scope": "summary", "min": 0.8},
            {"metric": "mean", "change": {"min_change": 5}},
        ],
    }


def _check_price_monitor(ws: Workspace, frame: pd.DataFrame) -> None:
    report = run_monitors(ws, now=START + timedelta(days=14, hours=1))
    assert len(report.windows) == 13
    for p in series(ws.store, "prices", "mean"):
        part = frame[(frame.ts >= p.window_end - timedelta(days=2)) & (frame.ts < p.window_end)]
        g = part[part.band == p.group.removeprefix("band=")]
        assert p.count == len(g) and p.value == pytest.approx(g.price.mean(), rel=1e-9)
    summary = series(ws.store, "prices", "mean_ratio:summary")
    assert {p.group for p in summary} == {"*"} and len(summary) == 13
    (alert,) = report.alerts
    assert alert.window.end == START + timedelta(days=11)  # the first window with drifted rows
    assert {b.rule for b in alert.breaches} == {"change"}


def test_monitor_over_a_parquet_source_with_duckdb(tmp_path: Path) -> None:
    frame = _price_frame()
    path = tmp_path / "prices.parquet"
    frame.to_parquet(path)
    ws = Workspace.create(tmp_path / "ws")
    write_monitors(ws, {"monitors": [_price_monitor(str(path))]})
    _check_price_monitor(ws, frame)
    ws.close()


@pytest.mark.spark
def test_monitor_over_a_spark_source(tmp_path: Path, spark_session: Any) -> None:
    """The same monitor through the Spark backend (local mode, the session shared with the
    audit tests): same windows, values and single alert as on DuckDB."""
    frame = _price_frame()
    path = tmp_path / "prices.parquet"
    frame.to_parquet(path)
    ws = Workspace.create(tmp_path / "ws")
    write_monitors(ws, {"monitors": [_price_monitor("spark://local[2]", f"parquet:{path}")]})
    _check_price_monitor(ws, frame)
    ws.close()


@pytest.mark.postgres
def test_monitor_over_a_postgres_table(tmp_path: Path) -> None:
    import uuid

    from sqlalchemy import create_engine, text

    from conftest import PG_URL

    frame = _price_frame()
    schema = f"tc_mon_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        frame.to_sql("quotes", engine, schema=schema, index=False)
        ws = Workspace.create(tmp_path / "ws")
        url = "postgres://" + PG_URL.split("://", 1)[1]
        write_monitors(ws, {"monitors": [_price_monitor(url, f"{schema}.quotes")]})
        _check_price_monitor(ws, frame)
        ws.close()
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"windw": "7d"}, "monitors[0].windw: unknown key"),
        ({"window": "7 days"}, "is not a duration"),
        ({"step": "5d"}, "whole multiple of step"),
        ({"step": "8d"}, "longer than the window"),
        ({"metrics": [{"metric": "accuracy", "min": 1}]}, "'accuracy' is not a binary metric"),
        ({"metrics": [{"metric": "selection_rate"}]}, "give a threshold"),
        ({"metrics": [{"metric": "selection_rate", "min": 1, "mx": 2}]}, "metrics[0].mx"),
        (
            {"metrics": [{"metric": "disparate_impact_ratio", "change": True}]},
            "change detection applies to the per-group 'selection_rate'",
        ),
        ({"source": "prices.parquet"}, "time_column is required"),
        ({"kind": "regression"}, "monitors[0].kind"),
    ],
)
def test_bad_config_names_the_key(change: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_monitors({"monitors": [{**offer_monitor(), **change}]})
    assert needle in err.value.message


def test_bad_alerts_config_and_duplicate_names() -> None:
    with pytest.raises(ConfigError, match="without the TRUSTCART_ prefix"):
        parse_monitors(
            {"alerts": {"webhook": {"url": "https://h.example", "secret_env": "TRUSTCART_X"}}}
        )
    with pytest.raises(ConfigError, match=r"alerts\.webhook\.url"):
        parse_monitors({"alerts": {"webhook": {"url": "ftp://h", "secret_env": "X"}}})
    with pytest.raises(ConfigError, match="used twice: offers"):
        parse_monitors({"monitors": [offer_monitor(), offer_monitor()]})
    with pytest.raises(ConfigError, match="unknown key"):
        parse_monitors({"monitor": []})


def test_unknown_column_at_run_time_and_cli_exit_2(workspace: Workspace) -> None:
    write_monitors(workspace, {"monitors": [offer_monitor(groups=["country"])]})
    result = CliRunner().invoke(cli, ["-w", str(workspace.root), "monitor", "run"])
    assert result.exit_code == 2
    assert "groups names column 'country'" in result.output
    assert "available columns" in result.output
    (workspace.root / "monitors.yaml").write_text("monitors:\n  - name: x\n    windw: 1d\n")
    bad = CliRunner().invoke(cli, ["-w", str(workspace.root), "monitor", "validate"])
    assert bad.exit_code == 2 and "monitors[0].windw: unknown key" in bad.output


def test_no_monitors_file_is_a_clear_error(workspace: Workspace) -> None:
    assert load_monitors(workspace.settings).monitors == []
    with pytest.raises(ConfigError, match="no monitors file"):
        run_monitors(workspace)


# --- HTTP API and dashboard ---------------------------------------------------------------------

PASSWORD = "correct horse battery staple"


@pytest.fixture
def monitored(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    plant(workspace, monkeypatch, 49, _drift)
    write_monitors(workspace, {"monitors": [offer_monitor()]})
    run_monitors(workspace, now=START + timedelta(days=49, hours=1))
    return workspace


def test_api_serves_monitors_results_series_and_alerts(monitored: Workspace) -> None:
    from fastapi.testclient import TestClient

    from trustcart.api.app import create_app
    from trustcart.governance import create_key

    analyst, _ = create_key(monitored.store, role="analyst", name="a")
    support, _ = create_key(monitored.store, role="support", name="s")
    with TestClient(create_app(monitored)) as c:
        assert c.get("/v1/monitors").status_code == 401
        r = c.get("/v1/monitors", headers={"Authorization": f"Bearer {support}"})
        assert r.status_code == 403  # support never sees group-level fairness data
        auth = {"Authorization": f"Bearer {analyst}"}
        (m,) = c.get("/v1/monitors", headers=auth).json()
        assert m["name"] == "offers" and m["alerting"] is True and m["window"] == "1w"
        assert m["windows_stored"] == 43
        results = c.get("/v1/monitors/offers/results?limit=3", headers=auth).json()
        assert [r["status"] for r in results] == ["breach"] * 3
        newest = results[0]
        assert newest["window"]["end"] == (START + timedelta(days=49)).isoformat()
        br = next(
            v
            for v in newest["values"]
            if v["metric"] == "selection_rate" and v["group"] == "jurisdiction=BR"
        )
        assert br["count"] == 560 and br["value"] < 0.3
        assert "subject" not in str(results)  # aggregates only
        points = c.get("/v1/monitors/offers/series?metric=selection_rate", headers=auth).json()
        assert len(points) == 43 * 3
        (alert,) = c.get("/v1/monitor-alerts", headers=auth).json()
        assert alert["event"] == "raised" and alert["monitor"] == "offers"
        missing = c.get("/v1/monitors/nope/results", headers=auth)
        assert missing.status_code == 404 and "declared: offers" in missing.json()["message"]


def test_dashboard_monitoring_pages_show_series_thresholds_and_alerts(
    monitored: Workspace,
) -> None:
    import re
    import xml.etree.ElementTree as ET

    from fastapi.testclient import TestClient

    from trustcart.api.app import create_app
    from trustcart.governance import create_user

    create_user(monitored.store, username="dpo", role="dpo", password=PASSWORD)
    create_user(monitored.store, username="sam", role="support", password=PASSWORD)
    with TestClient(create_app(monitored)) as c:

        def login(user: str) -> None:
            page = c.get("/dashboard/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token
            r = c.post(
                "/dashboard/login",
                data={"csrf": token.group(1), "username": user, "password": PASSWORD},
                follow_redirects=False,
            )
            assert r.status_code == 303

        login("sam")
        assert c.get("/dashboard/monitoring").status_code == 403
        c.cookies.clear()
        login("dpo")
        home = c.get("/dashboard/")
        assert 'href="/dashboard/monitoring"' in home.text  # in the navigation
        page = c.get("/dashboard/monitoring")
        assert page.status_code == 200
        assert 'href="/dashboard/monitoring/offers"' in page.text and "alert open" in page.text
        (alert,) = list_alerts(monitored.store)
        assert alert["id"] in page.text
        detail = c.get("/dashboard/monitoring/offers")
        assert detail.status_code == 200
        svgs = re.findall(r"<svg .*?</svg>", detail.text, flags=re.S)
        assert len(svgs) == 2  # one chart per rule
        di = ET.fromstring(svgs[0])
        ns = {"s": "http://www.w3.org/2000/svg"}
        lines = di.findall("s:line[@class='threshold']", ns)
        assert [ln.find("s:title", ns).text for ln in lines] == ["min 0.7"]  # type: ignore[union-attr]
        assert len(di.findall("s:polyline", ns)) == 3  # one line per group
        desc = di.find("s:desc", ns).text or ""  # type: ignore[union-attr]
        assert "jurisdiction=BR" in desc and "threshold min 0.7" in desc
        newest = series(monitored.store, "offers", "disparate_impact_ratio")[-1]
        assert f"{newest.window_end:%Y-%m-%d}" in desc
        assert "jurisdiction=BR" in detail.text and alert["id"] in detail.text
        assert c.get("/dashboard/monitoring/nope").status_code == 404


# --- CLI and the loop ---------------------------------------------------------------------------


def test_cli_run_list_results_alerts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.create(tmp_path / "ws")
    plant(ws, monkeypatch, 42, _drift)
    write_monitors(ws, {"monitors": [offer_monitor()]})
    ws.close()
    w = ["-w", str(tmp_path / "ws")]
    now = (START + timedelta(days=42, hours=1)).isoformat()
    runner = CliRunner()
    first = runner.invoke(cli, [*w, "monitor", "run", "--now", now])
    assert first.exit_code == 0, first.output
    assert "offers: 36 window(s) evaluated" in first.output and "raised" in first.output
    again = runner.invoke(cli, [*w, "monitor", "run", "--now", now, "--format", "json"])
    assert again.exit_code == 0 and json.loads(again.output)["windows"] == []
    listed = json.loads(runner.invoke(cli, [*w, "monitor", "list", "-f", "json"]).output)
    assert listed[0]["alerting"] is True and listed[0]["windows_stored"] == 36
    results = json.loads(
        runner.invoke(
            cli, [*w, "monitor", "results", "offers", "--limit", "2", "-f", "json"]
        ).output
    )
    assert [r["status"] for r in results] == ["breach", "breach"]
    alerts = json.loads(runner.invoke(cli, [*w, "monitor", "alerts", "-f", "json"]).output)
    assert [a["event"] for a in alerts] == ["raised"]
    verify = runner.invoke(cli, [*w, "ledger", "verify", ALERT_LOG])
    assert verify.exit_code == 0, verify.output
    bad = runner.invoke(cli, [*w, "monitor", "run", "--every", "soon"])
    assert bad.exit_code == 2 and "is not a duration" in bad.output


def test_run_every_runs_passes_and_survives_an_error() -> None:
    from trustcart.monitoring import next_tick, run_every

    stop = threading.Event()
    calls: list[int] = []
    errors: list[BaseException] = []

    def one_pass() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConfigError("database briefly down")
        stop.set()  # the second pass ends the loop (as SIGTERM would)

    waits: list[float] = []
    passes = run_every(
        timedelta(hours=1), one_pass, stop=stop, on_error=errors.append, wait=waits.append
    )
    assert passes == 2 and len(calls) == 2 and isinstance(errors[0], ConfigError)
    assert len(waits) == 2 and all(1.0 <= s <= 3601.0 for s in waits)  # until the next hour
    assert next_tick(datetime(2026, 9, 1, 10, 30, tzinfo=UTC), timedelta(hours=1)) == datetime(
        2026, 9, 1, 11, tzinfo=UTC
    )
