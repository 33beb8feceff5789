"""Contest and human review in real headless Chromium: the shopper's page (see, contest, read
the outcome) and the dashboard's review queue (open a case, override it)."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
import uvicorn

from _gateway_fixtures import EXAMPLE, PRICE_FEATURES, choose, training_frame
from trustcart.api.app import create_app
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.config import init_workspace
from trustcart.consent import ConsentService, datamap_notice, register_notice
from trustcart.gateway import Gateway, PriceGuardrails
from trustcart.governance import create_user
from trustcart.models import train_pricing
from trustcart.review import REVIEW_LOG, CaseStatus, ContestIn, ReviewDesk
from trustcart.workspace import Workspace

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"
CTX = {"loyalty_tier": 2, "basket_size": 4, "stock_level": 0.5}


@dataclass
class Server:
    url: str
    ws: Workspace
    gw: Gateway
    consent: ConsentService

    def decide(self, subject: str) -> str:
        choose(self.consent, subject, ["dynamic_pricing"], "granted")
        d = self.gw.decide(
            "price", subject, {**CTX, "customer_group": "g1"}, None, "FR", list_price="59.90"
        )
        return d.id

    def desk(self) -> ReviewDesk:
        return ReviewDesk(self.ws, gateway=self.gw)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not os.path.exists("/usr/bin/chromium"):
        pytest.fail("/usr/bin/chromium is missing: apt-get install -y chromium (see .ci/run)")
    with pytest.MonkeyPatch.context() as mp:  # module scope: no TRUSTCART_* from the shell
        for name in list(os.environ):
            if name.startswith("TRUSTCART_"):
                mp.delenv(name)
        ws = Workspace.open(init_workspace(tmp_path_factory.mktemp("review") / "ws"))
    save_datamap(ws.store, load_manifest(EXAMPLE))
    consent = ConsentService(ws, max_staleness=0)
    register_notice(ws.store, **datamap_notice(consent.datamap))
    consent.reload()
    gw = Gateway(
        ws,
        consent=consent,
        price_guardrails=PriceGuardrails(group_key="customer_group"),
        max_staleness=0,
    )
    gw.register(
        "price", train_pricing(training_frame(), PRICE_FEATURES, target="adjustment", rounds=20)
    )
    create_user(ws.store, username="rita", role="reviewer", password=PASSWORD)
    app = create_app(ws)
    app.state.consent = consent
    app.state.gateway = gw
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", ws, gw, consent)
    finally:
        uv.should_exit = True
        thread.join(5)
        gw.close()
        ws.close()


@pytest.fixture
def page(chromium: Any, server: Server) -> Iterator[Any]:
    ctx = chromium.new_context(base_url=server.url)
    ctx.set_default_timeout(5000)
    p = ctx.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    # CSP violations are console errors ("Refused to …"); 4xx answers are expected here
    p.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    try:
        yield p
    finally:
        ctx.close()
    assert errors == [], errors  # no script error, no CSP violation


def test_shopper_contests_and_reads_the_outcome(page: Any, server: Server) -> None:
    did = server.decide("c-browser")
    link = server.desk().contest_link(did)
    page.goto(f"/privacy/review?token={link.token}")
    assert page.locator("#tc-outcome").inner_text().startswith("Your price:")
    assert "than list price" in page.locator("#tc-explanation").inner_text()
    assert "GDPR Art. 22(3)" in page.locator("#tc-review").inner_text()
    page.get_by_label("Your point of view").fill("My neighbour was offered 49.90")
    page.get_by_label("E-mail address for the answer").fill("shopper@example.com")
    page.get_by_role("button", name="Ask for a human review").click()
    status = page.locator("#tc-case").inner_text()
    case = server.desk().for_decision(did)
    assert case is not None and case.channel == "web" and case.has_statement
    assert "A person will answer by" in status and case.due_on.isoformat() in status
    assert "My neighbour was offered 49.90" in status
    server.desk().decide(
        case.id,
        "override",
        "Your price was above the band for loyal customers.",
        reviewer="rita",
        changes={"price": "49.90"},
    )
    page.goto(f"/privacy/review?token={link.token}")
    result = page.locator("#tc-result").inner_text()
    assert "changed it: your price: 49.90 EUR" in result
    assert "above the band" in page.locator("#tc-review-reasons").inner_text()
    assert server.ws.store.log(REVIEW_LOG).verify().ok
    # a tampered link shows the friendly error page
    page.goto(f"/privacy/review?token={link.token[:-3]}abc")
    assert "This privacy link does not work" in page.locator("h1").inner_text()


def test_reviewer_overrides_from_the_dashboard_queue(page: Any, server: Server) -> None:
    did = server.decide("c-dash")
    desk = server.desk()
    case = desk.contest(did, ContestIn(statement="Please check my price"))
    page.goto("/dashboard/login")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Human review").click()
    page.get_by_role("link", name=case.id).click()
    assert "Please check my price" in page.locator("#statement").inner_text()
    assert '"loyalty_tier": 2' in page.locator("#inputs").inner_text()
    page.get_by_role("button", name="Take this case").click()
    assert desk.get(case.id).status is CaseStatus.IN_REVIEW
    page.get_by_label("Override with a corrected outcome").check()
    page.get_by_label("Corrected field (override)").select_option("price")
    page.get_by_label("New value (override; empty means none)").fill("45.00")
    page.get_by_label("Reasons (the shopper reads them)").fill("Outside the loyalty band.")
    page.get_by_role("button", name="Record the decision and tell the shopper").click()
    assert "Overridden: your price: 45.00 EUR" in page.locator("#result").inner_text()
    done = desk.get(case.id)
    assert done.status is CaseStatus.OVERRIDDEN and done.changes == {"price": "45.00"}
    assert done.reviewer == "dashboard:rita" and done.notified_at is not None
    (msg,) = desk.outbox.messages(case.id)
    assert msg.recipient == f"decision:{did}" and "45.00" in msg.body
