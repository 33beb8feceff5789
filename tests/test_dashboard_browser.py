"""The DPO dashboard in a real browser: headless Debian Chromium driven by Playwright.

One server and one browser for the module (the StyleSense demo workspace on SQLite, built
once); each test gets a fresh browser context, so a fresh cookie jar. Assertions compare what
the page shows with the database, read directly. Never ``playwright install``: the system
Chromium is used.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from sqlalchemy import func, select

from trustcart.api.app import create_app
from trustcart.compliance import scan
from trustcart.demo import run_demo
from trustcart.fairness.store import list_audits
from trustcart.governance import create_user
from trustcart.rights import RightsService
from trustcart.store.tables import ConsentEvent, RightsRequestRow, table_of
from trustcart.workspace import Workspace

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"
_requests = table_of(RightsRequestRow)


@dataclass
class Server:
    url: str
    ws: Workspace

    def open_requests(self) -> list[Any]:
        with self.ws.store.read() as conn:
            return list(
                conn.execute(
                    select(_requests)
                    .where(_requests.c.status.not_in(["completed", "denied"]))
                    .order_by(_requests.c.id)
                ).all()
            )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)")
    with pytest.MonkeyPatch.context() as mp:  # module scope: no TRUSTCART_* from the shell
        for name in list(os.environ):
            if name.startswith("TRUSTCART_"):
                mp.delenv(name)
        folder = tmp_path_factory.mktemp("dash") / "demo"
        run_demo(folder, echo=lambda _line: None, customers=300)
        ws = Workspace.open(folder)
    create_user(ws.store, username="dpo", role="dpo", password=PASSWORD)
    create_user(ws.store, username="sam", role="support", password=PASSWORD)
    port = _free_port()
    config = uvicorn.Config(
        create_app(ws), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", ws)
    finally:
        uv.should_exit = True
        thread.join(5)
        ws.close()


@pytest.fixture
def page(chromium: Any, server: Server) -> Iterator[Any]:
    ctx = chromium.new_context(base_url=server.url)
    ctx.set_default_timeout(10_000)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    yield pg
    ctx.close()
    assert errors == [], f"JavaScript or CSP errors in the page: {errors}"


def log_in(page: Any, username: str, target: str = "/dashboard/") -> None:
    """Log in through the form with the keyboard only (labels, focus order, Enter)."""
    page.goto(target)
    assert "/dashboard/login" in page.url
    page.get_by_label("Username").fill(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^http://[^/]+" + re.escape(target) + "$"))


def test_login_and_overview_numbers_match_the_database(page: Any, server: Server) -> None:
    log_in(page, "dpo")
    result = scan(server.ws)
    assert int(page.locator("#score").get_attribute("data-value")) == result.score
    for severity in ("high", "medium", "low"):
        assert int(page.locator(f"#count-{severity}").inner_text()) == result.counts[severity]
    with server.ws.store.read() as conn:
        events = conn.execute(select(func.count()).select_from(table_of(ConsentEvent))).scalar()
    assert int(page.locator("#consent-events").get_attribute("data-value")) == events
    assert int(page.locator("#rights-open").inner_text()) == len(server.open_requests())
    overdue = RightsService(server.ws).overdue()
    assert int(page.locator("#rights-overdue").inner_text()) == len(overdue)
    # the charts are inline SVG with an accessible name; the latest audit shows its CIs
    assert page.locator("svg#score-trend[role=img]").count() == 1
    assert "95% CI" in (page.locator("svg#audit desc").text_content() or "")
    cookie = next(c for c in page.context.cookies() if c["name"] == "tc_dash")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_finding_leads_to_its_object(page: Any, server: Server) -> None:
    log_in(page, "dpo", "/dashboard/findings")
    result = scan(server.ws)
    target = next(f for f in result.findings if f.object.startswith("system:"))
    page.locator("#f-severity").select_option(target.severity)  # auto-submits (dashboard.js)
    page.wait_for_url(re.compile(r"severity=" + target.severity))
    page.locator(f"a[href='/dashboard/findings/{target.id}']").click()
    assert page.locator("#fix").inner_text() == target.fix
    page.locator("#object-link").click()
    assert page.locator("#object-ref").inner_text() == target.object
    assert page.get_by_role("link", name=target.message).count() == 1  # listed on the object


def test_act_on_a_rights_request_and_see_the_state_change(page: Any, server: Server) -> None:
    rights = RightsService(server.ws)
    req = next(r for r in rights.requests(open_only=True) if not r.extended)
    log_in(page, "dpo", "/dashboard/rights")
    page.locator(f"#requests a[href='/dashboard/rights/{req.id}']").click()
    page.get_by_label(re.compile("Extend the deadline")).fill("Several stores must be searched")
    page.locator("#extend").click()
    page.wait_for_url(re.compile(r"done=extend"))
    after = rights.get(req.id)
    assert after.extended and after.due_on > req.due_on
    assert after.due_on.isoformat() in page.locator("#request-due").inner_text()
    assert "extended" in page.locator("#timeline").inner_text()


def test_form_without_csrf_token_is_rejected(page: Any, server: Server) -> None:
    rights = RightsService(server.ws)
    req = next(r for r in rights.requests(open_only=True))
    log_in(page, "dpo", f"/dashboard/rights/{req.id}")
    # a forged form: the same action without the hidden token, submitted by the page
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    page.get_by_label(re.compile("Deny")).fill("forged denial")
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Deny").click()
    assert page.get_by_role("heading", name="Form rejected").count() == 1
    assert rights.get(req.id).status == req.status  # nothing changed
    status = page.evaluate(
        "fetch(location.pathname.replace(/\\/deny$/, '/run'), {method: 'POST', "
        "headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'x=1'})"
        ".then(r => r.status)"
    )
    assert status == 403
    assert rights.get(req.id).status == req.status


def test_support_cannot_see_fairness_audits_or_concerns(page: Any, server: Server) -> None:
    log_in(page, "sam")
    nav = page.get_by_role("navigation", name="Dashboard sections")
    assert nav.get_by_role("link", name="Rights requests").count() == 1
    assert nav.get_by_role("link", name="Fairness audits").count() == 0
    assert nav.get_by_role("link", name="Concerns").count() == 0
    assert page.locator("#h-audit").count() == 0  # no audit card on the overview
    for path in ("/dashboard/fairness", "/dashboard/governance/concerns"):
        response = page.goto(path)
        assert response.status == 403
        assert page.get_by_role("heading", name="Not for your role").count() == 1
    (latest,) = list_audits(server.ws.store, limit=1)  # the demo's audit: not by id either
    assert page.goto(f"/dashboard/fairness/{latest['id']}").status == 403
