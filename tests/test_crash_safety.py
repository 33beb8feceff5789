"""An acknowledged consent event or decision survives `kill -9` of the server (SQLite and
PostgreSQL).

The real server (`trustcart serve`, uvicorn) runs in its own process; this test process posts
events to it over loopback, kills it with SIGKILL mid-stream, restarts it and checks that every
event it acknowledged (201) is stored and that the ledger and its copies verify. Decisions are
posted by several clients at once to a server with two workers, so group commits of both
workers are in flight (and queued on the SQLite write gate) when every process is killed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from _gateway_fixtures import training_frame  # noqa: E402
from trustcart.catalog import load_manifest  # noqa: E402
from trustcart.catalog.repository import save_datamap  # noqa: E402
from trustcart.consent import (  # noqa: E402
    CONSENT_LOG,
    ConsentService,
    datamap_notice,
    register_notice,
    verify_consent_copies,
)
from trustcart.gateway import DecisionLog  # noqa: E402
from trustcart.governance import create_key  # noqa: E402
from trustcart.models import train_model  # noqa: E402
from trustcart.workspace import Workspace  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
TRUSTCART = str(Path(sys.executable).parent / "trustcart")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(root: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [TRUSTCART, "-w", str(root), "serve", "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
        start_new_session=True,  # its own process group: kill -9 takes every worker
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start within 60 s")


def test_acknowledged_events_survive_sigkill(
    workspace: Workspace, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db_url.startswith("sqlite"):
        monkeypatch.setenv("TRUSTCART_DATABASE_URL", db_url)
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    svc = ConsentService(workspace)
    notice = register_notice(workspace.store, **datamap_notice(svc.datamap)).version
    key = create_key(workspace.store, role="service", name="crash-test")[0]
    port = _free_port()
    server = _start(workspace.root, port)
    acked: list[str] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=2,
            headers={"Authorization": f"Bearer {key}"},
        ) as http:
            i = 0
            while not stop.is_set():
                i += 1
                body = {
                    "subject": f"crash-{i}",
                    "purposes": ["personalization"],
                    "decision": "granted",
                    "mechanism": "opt_in_checkbox",
                    "jurisdiction": "EU",
                    "notice_version": notice,
                }
                try:
                    r = http.post("/v1/consent/events", json=body)
                except httpx.HTTPError:
                    continue  # not acknowledged: the server is gone
                if r.status_code == 201:
                    acked.extend(e["id"] for e in r.json()["events"])

    thread = threading.Thread(target=client)
    thread.start()
    deadline = time.monotonic() + 20
    while len(acked) < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(server.pid, signal.SIGKILL)  # mid-stream: requests are in flight
    server.wait(10)
    time.sleep(0.3)
    stop.set()
    thread.join(10)
    assert len(acked) >= 100, "too few events acknowledged before the kill"

    server = _start(workspace.root, port)  # recovery: the server comes back on the same store
    try:
        with Workspace.open(workspace.root) as ws, ws.store.read() as conn:
            from sqlalchemy import text

            stored = {r[0] for r in conn.execute(text("SELECT id FROM consent_events"))}
            missing = set(acked) - stored
            assert not missing, f"{len(missing)} acknowledged events lost"
            assert ws.store.log(CONSENT_LOG).verify().ok
            assert verify_consent_copies(ws.store).ok
        r = httpx.get(
            f"http://127.0.0.1:{port}/v1/consent/subjects/crash-1",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.json()["purposes"]["personalization"]["decision"] == "granted"
    finally:
        server.terminate()
        server.wait(10)


PRICE_FEATURES = [
    "loyalty_tier=price_quotes.segment",
    "basket_size=user.behavior.purchase_history",
    "stock_level=system.operations",
]


def test_acknowledged_decisions_survive_sigkill_of_every_worker(
    workspace: Workspace, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not db_url.startswith("sqlite"):
        monkeypatch.setenv("TRUSTCART_DATABASE_URL", db_url)
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    svc = ConsentService(workspace)
    register_notice(workspace.store, **datamap_notice(svc.datamap))
    svc.reload()
    quotes = tmp_path / "quotes.parquet"
    training_frame(300, seed=3).to_parquet(quotes, index=False)
    train_model(
        workspace,
        "price",
        quotes,
        target="adjustment",
        features=PRICE_FEATURES,
        purpose="dynamic_pricing",
        rounds=10,
        consent=svc,
    )
    key = create_key(workspace.store, role="service", name="crash-test")[0]
    port = _free_port()
    server = _start(workspace.root, port, workers=2)
    acked: list[str] = []
    stop = threading.Event()

    def client(k: int) -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=5,
            headers={"Authorization": f"Bearer {key}"},
        ) as http:
            i = 0
            while not stop.is_set():
                i += 1
                body = {
                    "subject": f"c-{k}-{i % 50}",
                    "context": {"loyalty_tier": 2, "basket_size": i % 7, "stock_level": 0.4},
                    "jurisdiction": "EU",
                    "list_price": "49.90",
                }
                try:
                    r = http.post("/v1/decisions/price", json=body)
                except httpx.HTTPError:
                    continue  # not acknowledged: the server is gone
                if r.status_code == 201:
                    acked.append(r.json()["id"])

    threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(server.pid, signal.SIGKILL)  # every process of the server, mid-stream
    server.wait(10)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) >= 200, "too few decisions acknowledged before the kill"

    with Workspace.open(workspace.root) as ws:
        with ws.store.read() as conn:
            from sqlalchemy import text

            stored = {r[0] for r in conn.execute(text("SELECT id FROM decisions"))}
        missing = set(acked) - stored
        assert not missing, f"{len(missing)} acknowledged decisions lost"
        chain, copies = DecisionLog(ws.store).verify()
        assert chain.ok and copies.ok
        assert chain.checked >= len(acked)
