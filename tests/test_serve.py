"""A fresh `trustcart serve` process (real uvicorn, 2 workers) answers decisions with the models
registered in the workspace, as configured; and the Python SDK example of docs/gateway.md runs
against it."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from _gateway_fixtures import choose, training_frame
from trustcart.consent import ConsentService
from trustcart.governance import create_key
from trustcart.models import train_model
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TRUSTCART = str(Path(sys.executable).parent / "trustcart")
OFFER = [
    "orders_last_year=user.behavior.purchase_history",
    "days_since_visit=browsing_events.pages_viewed",
]
PRICE = [
    "loyalty_tier=price_quotes.segment",
    "basket_size=user.behavior.purchase_history",
    "stock_level=system.operations",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(root: Path, log: Path, workers: int = 2) -> Iterator[str]:
    """`trustcart serve` in its own process until the block ends; yields the base URL."""
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [TRUSTCART, "-w", str(root), "serve", "--port", str(port), "--workers", str(workers)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _train(ws: Workspace, consent: ConsentService, tmp: Path) -> dict[str, str]:
    first, second, quotes = tmp / "offers1.csv", tmp / "offers2.csv", tmp / "quotes.parquet"
    training_frame(300, seed=1).to_csv(first, index=False)
    training_frame(300, seed=2).to_csv(second, index=False)
    training_frame(300, seed=3).to_parquet(quotes, index=False)
    kw = {"features": OFFER, "purpose": "targeted_offers", "consent": consent}
    old = train_model(ws, "offer", first, target="accepted", **kw).record  # type: ignore[arg-type]
    new = train_model(ws, "offer", second, target="accepted", **kw).record  # type: ignore[arg-type]
    price = train_model(
        ws,
        "price",
        quotes,
        target="adjustment",
        features=PRICE,
        purpose="dynamic_pricing",
        rounds=20,
        consent=consent,
    ).record
    return {"old_offer": old.ref, "new_offer": new.ref, "price": price.ref}


def test_fresh_serve_process_uses_registered_models(
    workspace: Workspace, consent: ConsentService, tmp_path: Path
) -> None:
    refs = _train(workspace, consent, tmp_path)
    # pin the older offer version: configuration, not recency, decides
    toml = workspace.root / "trustcart.toml"
    toml.write_text(toml.read_text() + f'serve_models = {{offer = "{refs["old_offer"]}"}}\n')
    key = create_key(workspace.store, role="service", name="serve-test")[0]
    choose(consent, "c-1", ["targeted_offers", "dynamic_pricing"], "granted")
    log = tmp_path / "serve.log"
    with (
        serving(workspace.root, log) as url,
        httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {key}"}) as http,
    ):
        for _ in range(4):  # several requests: both workers answer from the same registry
            r = http.post(
                "/v1/decisions/offer",
                json={"subject": "c-1", "context": {"orders_last_year": 9, "days_since_visit": 2}},
            )
            assert r.status_code == 201, r.text
            d = r.json()
            assert f"{d['model']}@{d['model_version']}" == refs["old_offer"]
            assert d["output"]["answered_by"] == "model"
        e = http.get(f"/v1/decisions/{d['id']}/explanation")
        assert e.status_code == 200 and e.json()["method"] == "linear-exact"
        body = {
            "subject": "c-1",
            "context": {"loyalty_tier": 3, "basket_size": 5, "stock_level": 0.1},
            "jurisdiction": "FR",
            "list_price": "80.00",
        }
        r = http.post("/v1/decisions/price", json=body)
        assert r.status_code == 201, r.text
        assert f"{r.json()['model']}@{r.json()['model_version']}" == refs["price"]
        # the reported bug, through the real server
        extreme = {"subject": "c-1", "context": {"days_since_visit": 31337}}
        assert http.post("/v1/decisions/offer", json=extreme).status_code == 201
        r = http.post("/v1/decisions/rank", json={"subject": "c-1", "candidates": ["a", "b"]})
        assert r.status_code == 409
        assert "trustcart models train rank --data FILE --target COLUMN" in r.json()["message"]
    started = log.read_text()
    assert f"offer: {refs['old_offer']}" in started and f"price: {refs['price']}" in started
    assert "Traceback" not in started


# -- the Python SDK example in docs/gateway.md ------------------------------------------------
def _sdk_snippet() -> str:
    text = (ROOT / "docs" / "gateway.md").read_text()
    section = text.split("## Python SDK", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "docs/gateway.md: no python block under '## Python SDK'"
    return match.group(1)


def test_docs_sdk_example_runs_against_a_server(
    workspace: Workspace, consent: ConsentService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _sdk_snippet()
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 10, "the example is meant to be ten lines"
    _train(workspace, consent, tmp_path)
    key = create_key(workspace.store, role="service", name="sdk")[0]
    choose(consent, "c-42", ["dynamic_pricing"], "granted")
    with serving(workspace.root, tmp_path / "serve.log", workers=1) as url:
        assert "http://127.0.0.1:8000" in code
        monkeypatch.setenv("TRUSTCART_API_KEY", key)
        out = io.StringIO()
        scope: dict[str, object] = {}
        with contextlib.redirect_stdout(out):
            exec(compile(code.replace("http://127.0.0.1:8000", url), "gateway.md", "exec"), scope)
    printed = out.getvalue()
    d = scope["d"]
    assert isinstance(d, dict) and d["personalised"] is True
    assert d["output"]["price"] in printed and "eu_personalised_price" in printed
    assert "than list price" in str(scope["why"])
    assert "no model registered for decision kind 'rank'" in printed
