"""Rights over HTTP, vendor webhooks, retention and the CLI, on the example shop's stores."""

# ruff: noqa: E402
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from conftest import db_url_for_shop
from trustcart.api.app import create_app
from trustcart.catalog import DataMap, load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.cli import app as cli
from trustcart.consent import ConsentService
from trustcart.demo.stores import build_shop_stores, customer_id, email
from trustcart.gateway import Gateway
from trustcart.governance import Role, create_key
from trustcart.rights import RequestIn, RequestStatus, RightsService, run_retention, sign
from trustcart.rights.retention import cutoff_for
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
N = 40
SECRET = "vendor-secret-for-tests"


@pytest.fixture
def db_url(shop_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One run per shop backend (SQLite, PostgreSQL, MariaDB), see conftest.db_url_for_shop."""
    return db_url_for_shop(shop_backend, request, tmp_path)


@pytest.fixture
def shop(
    workspace: Workspace,
    consent: ConsentService,
    monkeypatch: pytest.MonkeyPatch,
    shop_sql_url: str,
) -> Workspace:
    url = shop_sql_url
    monkeypatch.setenv("SHOP_DB_URL", url)
    build_shop_stores(workspace.root, customers=N, seed=5, sql_url=url)
    save_datamap(workspace.store, without_vendor_webhook())
    consent.reload()
    return workspace


def without_vendor_webhook() -> DataMap:
    """The example map with the analytics vendor's webhook removed (the vendor test adds a
    reachable one; elsewhere an unreachable vendor would keep every request open)."""
    raw = load_manifest(EXAMPLE).model_dump(by_alias=True, exclude_none=True)
    for d in raw["datasets"]:
        if d["key"] == "analytics_events":
            del d["connector"]
    return DataMap.model_validate(raw)


@pytest.fixture
def client(shop: Workspace, consent: ConsentService, gateway: Gateway) -> Iterator[TestClient]:
    app = create_app(shop)
    app.state.consent = consent
    app.state.gateway = gateway
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def auth(ws: Workspace, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(ws.store, role=role, name=f't-{role}')[0]}"}


def latest_code(client: TestClient, dpo: dict[str, str], request_id: str) -> str:
    msgs = client.get("/v1/rights/outbox", headers=dpo, params={"request": request_id}).json()
    m = re.search(r"\b(\d{6})\b", msgs[0]["body"])
    assert m
    return m.group(1)


def test_http_workflow_with_scopes(client: TestClient, shop: Workspace) -> None:
    support, dpo, analyst = (auth(shop, r) for r in (Role.SUPPORT, Role.DPO, Role.ANALYST))
    body = {"type": "access", "identifiers": {"email": email(6)}, "jurisdiction": "DE"}
    r = client.post("/v1/rights/requests", headers=support, json=body)
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "received" and req["citation"] == "GDPR Art. 15"
    assert email(6) not in r.text  # identifiers are never echoed
    again = client.post("/v1/rights/requests", headers=support, json=body)
    assert again.status_code == 200 and again.json()["id"] == req["id"]
    rid = req["id"]
    # support may not run requests or read the outbox; analysts see nothing
    assert client.post(f"/v1/rights/requests/{rid}/run", headers=support).status_code == 403
    assert client.get("/v1/rights/requests", headers=analyst).status_code == 403
    # verification: wrong code -> 422 saying how many attempts are left
    code = latest_code(client, dpo, rid)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    r = client.post(f"/v1/rights/requests/{rid}/verify", headers=support, json={"code": wrong})
    assert r.status_code == 422 and "attempt" in r.json()["message"]
    r = client.post(f"/v1/rights/requests/{rid}/verify", headers=support, json={"code": "12ab"})
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    r = client.post(f"/v1/rights/requests/{rid}/verify", headers=support, json={"code": code})
    assert r.status_code == 200 and r.json()["status"] == "identity_verified"
    r = client.post(f"/v1/rights/requests/{rid}/run", headers=dpo)
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    html = client.get(f"/v1/rights/requests/{rid}/package", headers=dpo, params={"format": "html"})
    assert html.status_code == 200 and email(6) in html.text
    assert html.headers["cache-control"] == "no-store"
    z = client.get(f"/v1/rights/requests/{rid}/package", headers=dpo)
    assert z.headers["content-type"] == "application/zip" and z.content[:2] == b"PK"
    steps = client.get(f"/v1/rights/requests/{rid}", headers=support, params={"steps": "true"})
    names = [s["step"] for s in steps.json()["steps"]]
    assert names == [
        "received",
        "code_sent",
        "duplicate_submission",
        "code_rejected",
        "identity_verified",
        "started",
        "completed",
    ]


def test_http_bad_requests_are_clear_4xx(client: TestClient, shop: Workspace) -> None:
    service = auth(shop, Role.SERVICE)
    cases = [
        ({"type": "forget_me", "identifiers": {"email": "a@b.example"}}, "type"),
        ({"type": "access", "identifiers": {}}, "identifiers"),
        ({"type": "access"}, "identifiers"),
        ({"type": "access", "identifiers": {"passport": "X"}}, "passport"),
        (
            {"type": "access", "identifiers": {"email": "a@b.example"}, "jurisdiction": "Mars"},
            "jurisdiction",
        ),
    ]
    for body, word in cases:
        r = client.post("/v1/rights/requests", headers=service, json=body)
        assert r.status_code == 422, (body, r.text)
        assert word in r.text and "Traceback" not in r.text
    r = client.get("/v1/rights/requests/rr_NOPE", headers=auth(shop, Role.DPO))
    assert r.status_code == 404 and "rr_NOPE" in r.json()["message"]


# -- a vendor behind a webhook ---------------------------------------------------------------
class Vendor:
    """A fake vendor endpoint that checks the signature and answers as configured."""

    def __init__(self) -> None:
        self.mode = "done"
        self.calls: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.erased: set[str] = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ts = self.headers["X-TrustCart-Timestamp"]
                if sign(SECRET.encode(), ts, body) != self.headers["X-TrustCart-Signature"]:
                    outer.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                call = json.loads(body)
                outer.calls.append(call)
                key = json.dumps(call["identities"], sort_keys=True)
                if outer.mode == "slow":
                    time.sleep(1.5)
                if outer.mode == "pending" and call["action"] == "erase":
                    code, answer = 202, {"status": "pending"}
                elif call["action"] == "count":  # what the vendor still holds
                    code, answer = (
                        200,
                        {"status": "done", "rows_found": 0 if key in outer.erased else 2},
                    )
                else:
                    if call["action"] == "erase":
                        outer.erased.add(key)
                    code, answer = (
                        200,
                        {
                            "status": "done",
                            "rows_found": 2,
                            "rows_changed": 2,
                            "rows": [{"device_id": "D1", "pages_viewed": "/sale"}],
                        },
                    )
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/privacy"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def vendor(
    shop: Workspace, consent: ConsentService, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Vendor]:
    v = Vendor()
    monkeypatch.setenv("METRICLY_SECRET", SECRET)
    dm = load_manifest(EXAMPLE)
    ds = next(d for d in dm.datasets if d.key == "analytics_events")
    raw = dm.model_dump(by_alias=True, exclude_none=True)
    for d in raw["datasets"]:
        if d["key"] == ds.key:
            d["connector"] = {
                "type": "webhook",
                "endpoint": v.url,
                "secret_env": "METRICLY_SECRET",
                "timeout_seconds": 1,
            }
    save_datamap(shop.store, DataMap.model_validate(raw))
    consent.reload()
    yield v
    v.server.shutdown()


def test_webhook_vendor_done_pending_and_callback(
    client: TestClient, shop: Workspace, vendor: Vendor
) -> None:
    support, dpo = auth(shop, Role.SUPPORT), auth(shop, Role.DPO)

    def erasure(i: int) -> str:
        body = {"type": "erasure", "identifiers": {"email": email(i)}}
        rid: str = client.post("/v1/rights/requests", headers=support, json=body).json()["id"]
        code = latest_code(client, dpo, rid)
        client.post(f"/v1/rights/requests/{rid}/verify", headers=support, json={"code": code})
        return rid

    # 1. the vendor answers at once
    rid = erasure(3)
    r = client.post(f"/v1/rights/requests/{rid}/run", headers=dpo).json()
    assert r.get("status") == "completed", r
    call = vendor.calls[-1]
    assert [c["action"] for c in vendor.calls] == ["erase", "count"]
    assert vendor.bad_signatures == 0
    assert call["identities"]["customer_id"] == [customer_id(3)]  # linked through the CRM
    stores = {s["dataset"]: s for s in r["result"]["certificate"]["stores"]}
    assert stores["analytics_events"]["rows_changed"] == 2
    assert r["result"]["certificate"]["not_reachable"] == []

    # 2. the vendor accepts and calls back later: a visible pending task until then
    vendor.mode = "pending"
    rid = erasure(4)
    r = client.post(f"/v1/rights/requests/{rid}/run", headers=dpo).json()
    assert r.get("status") == "in_progress", r
    pending = client.get("/v1/rights/tasks", headers=support, params={"pending": "true"}).json()
    assert [t["dataset"] for t in pending] == ["analytics_events"]
    task = pending[0]["id"]
    body = json.dumps({"status": "done", "rows_found": 1, "rows_changed": 1}).encode()
    ts = str(int(time.time()))
    bad = client.post(
        f"/hooks/rights/tasks/{task}",
        content=body,
        headers={"X-TrustCart-Timestamp": ts, "X-TrustCart-Signature": "sha256=" + "0" * 64},
    )
    assert bad.status_code == 401
    stale = str(int(time.time()) - 3600)
    r = client.post(
        f"/hooks/rights/tasks/{task}",
        content=body,
        headers={
            "X-TrustCart-Timestamp": stale,
            "X-TrustCart-Signature": sign(SECRET.encode(), stale, body),
        },
    )
    assert r.status_code == 401
    r = client.post(
        f"/hooks/rights/tasks/{task}",
        content=body,
        headers={
            "X-TrustCart-Timestamp": ts,
            "X-TrustCart-Signature": sign(SECRET.encode(), ts, body),
        },
    )
    assert r.status_code == 200, r.text
    assert client.get(f"/v1/rights/requests/{rid}", headers=support).json()["status"] == "completed"

    # 3. the vendor is too slow: pending task, the request stays open, a re-run polls again
    vendor.mode = "slow"
    rid = erasure(5)
    r = client.post(f"/v1/rights/requests/{rid}/run", headers=dpo).json()
    assert r["status"] == "in_progress"
    note = next(c for c in r["result"]["changes"] if c["dataset"] == "analytics_events")["note"]
    assert "unreachable or slow" in note
    vendor.mode = "done"
    assert (
        client.post(f"/v1/rights/requests/{rid}/run", headers=dpo).json()["status"] == "completed"
    )


# -- retention -------------------------------------------------------------------------------
def test_cutoff_arithmetic() -> None:
    now = datetime(2027, 3, 31, 12, tzinfo=UTC)
    assert cutoff_for("P1M", now) == datetime(2027, 2, 28, 12, tzinfo=UTC)
    assert cutoff_for("P13M", now) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert cutoff_for("P10Y", now) == datetime(2017, 3, 31, 12, tzinfo=UTC)
    assert cutoff_for("P30D", now) == now - timedelta(days=30)
    assert cutoff_for("PT5H", now) is None


def test_retention_dry_run_then_apply(shop: Workspace) -> None:
    import os

    now = datetime.now(UTC)
    dm = without_vendor_webhook()
    eng = create_engine(os.environ["SHOP_DB_URL"])
    events = str(shop.root / "shop-data" / "browsing" / "*.parquet")

    def sql(q: str, **p: Any) -> int:
        with eng.connect() as conn:
            return int(conn.execute(text(q), p).scalar_one())

    def old_events() -> int:
        cut = cutoff_for("P13M", now)
        row = duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{events}') WHERE created_at < ?::TIMESTAMPTZ",
            params=[cut.isoformat()] if cut else [],
        ).fetchone()
        return int(row[0]) if row else 0

    old_orders = sql("SELECT count(*) FROM orders WHERE created_at < :c", c=cutoff_for("P10Y", now))
    old_customers = sql(
        "SELECT count(*) FROM customers WHERE created_at < :c", c=cutoff_for("P3Y", now)
    )
    n_events = old_events()
    assert old_orders and old_customers and n_events  # the generator planted expired rows
    dry = run_retention(dm, root=shop.root, now=now, dry_run=True)
    found = {c["dataset"]: c["rows_found"] for c in dry.changes}
    assert found["orders"] == old_orders and found["customers"] == old_customers
    assert found["browsing_events"] == n_events
    assert all(c["rows_changed"] == 0 for c in dry.changes)
    assert sql("SELECT count(*) FROM customers") == N  # dry run changed nothing
    report = run_retention(dm, root=shop.root, now=now)
    changed = {c["dataset"]: c["rows_changed"] for c in report.changes}
    assert changed["customers"] == old_customers and changed["orders"] == old_orders
    assert sql("SELECT count(*) FROM customers") == N - old_customers
    # orders are anonymised, not deleted (accounting): their amounts stay
    assert sql("SELECT count(*) FROM orders") == 2 * N
    assert (
        sql(
            "SELECT count(*) FROM orders WHERE created_at < :c AND customer_id NOT LIKE 'erased_%'",
            c=cutoff_for("P10Y", now),
        )
        == 0
    )
    assert old_events() == 0
    again = run_retention(dm, root=shop.root, now=now)
    assert again.rows_found == 0
    assert report.no_connector == ["analytics_events"]
    eng.dispose()


# -- CLI -------------------------------------------------------------------------------------
def test_cli_submit_verify_run_status(shop: Workspace, consent: ConsentService) -> None:
    runner = CliRunner()
    ws = ["-w", str(shop.root)]
    r = runner.invoke(
        cli,
        [
            *ws,
            "rights",
            "submit",
            "access",
            "--id",
            f"email={email(2)}",
            "-j",
            "US-CA",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    req = json.loads(r.stdout)
    assert req["acknowledge_by"] and req["status"] == "received"
    svc = RightsService(shop, consent=consent)
    code = re.search(r"\b(\d{6})\b", svc.outbox.messages(req["id"])[0].body)
    assert code
    r = runner.invoke(cli, [*ws, "rights", "verify", req["id"], "000000"])
    assert r.exit_code == 2 and "attempt" in r.output
    assert runner.invoke(cli, [*ws, "rights", "verify", req["id"], code.group(1)]).exit_code == 0
    r = runner.invoke(cli, [*ws, "rights", "run", req["id"], "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] == "completed"
    out = shop.root / "pkg.zip"
    assert runner.invoke(cli, [*ws, "rights", "package", req["id"], "-o", str(out)]).exit_code == 0
    assert out.read_bytes()[:2] == b"PK"
    r = runner.invoke(cli, [*ws, "rights", "status", "--format", "json"])
    assert [x["id"] for x in json.loads(r.stdout)] == [req["id"]]
    r = runner.invoke(cli, [*ws, "rights", "submit", "access", "--id", "email"])
    assert r.exit_code == 2 and "KIND=VALUE" in r.output
    r = runner.invoke(cli, [*ws, "rights", "overdue"])
    assert r.exit_code == 0
    r = runner.invoke(cli, [*ws, "retention", "run", "--dry-run", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["dry_run"] is True
    assert svc.get(req["id"]).status is RequestStatus.COMPLETED
    assert RequestIn  # the same model the API validates with
