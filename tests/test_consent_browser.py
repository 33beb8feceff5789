"""The end-user pages in a real browser: headless Debian Chromium driven by Playwright.

Why a real browser: what the law cares about here happens in the page — nothing recorded on
scroll, a click recorded as an explicit act, a GPC signal read from ``navigator``, a switch
reachable by keyboard. The real app runs under uvicorn on a free loopback port against a SQLite
workspace with the example data map and its notice; assertions read the consent ledger
directly. One browser per module; each test gets a fresh context (fresh localStorage, so a
fresh visitor id). Never ``playwright install``: the system Chromium is used.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from trustcart.api.app import create_app
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.config import init_workspace
from trustcart.consent import datamap_notice, register_notice
from trustcart.consent.tokens import make_subject_token
from trustcart.privacy import Pseudonymizer
from trustcart.store.tables import ConsentEvent, table_of
from trustcart.workspace import Workspace

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
GPC_ON = "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"
_events = table_of(ConsentEvent)


@dataclass
class Server:
    """The running app and what a test needs to inspect it."""

    url: str
    ws: Workspace
    pseudonyms: Pseudonymizer

    def events(self, subject: str) -> list[Any]:
        """Ledger rows of one person (visitor id, customer id or pseudonym), oldest first."""
        pseudonym = self.pseudonyms.pseudonym(subject)
        with self.ws.store.read() as conn:
            return list(
                conn.execute(
                    select(_events).where(_events.c.subject == pseudonym).order_by(_events.c.seq)
                ).all()
            )

    def token(self, subject: str) -> str:
        return make_subject_token(self.pseudonyms, self.ws.settings.pseudonym_key(), subject)


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
        ws = Workspace.open(init_workspace(tmp_path_factory.mktemp("browser") / "ws"))
    dm = load_manifest(EXAMPLE)
    save_datamap(ws.store, dm)
    register_notice(ws.store, **datamap_notice(dm))
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
        yield Server(f"http://127.0.0.1:{port}", ws, Pseudonymizer(ws.settings.pseudonym_key()))
    finally:
        uv.should_exit = True
        thread.join(5)
        ws.close()


@pytest.fixture
def new_page(chromium: Any, server: Server) -> Iterator[Any]:
    """A factory of pages in one fresh context (optionally with GPC switched on)."""
    contexts = []
    errors: list[str] = []

    def make(*, gpc: bool = False) -> Any:
        ctx = chromium.new_context(base_url=server.url)
        ctx.set_default_timeout(5000)
        if gpc:
            ctx.add_init_script(GPC_ON)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert errors == [], f"JavaScript errors in the page: {errors}"


def _visitor(page: Any) -> str:
    vid: str = page.evaluate("localStorage.getItem('trustcart_vid')")
    assert vid and vid.startswith("v_"), vid
    return vid


def _choices_response(page: Any) -> Any:
    return page.expect_response(lambda r: "/privacy/api/choices" in r.url)


def test_preference_center_toggle_save_reload_and_keyboard(new_page: Any, server: Server) -> None:
    page = new_page()
    page.goto(f"/privacy/preferences?token={server.token('cust-browser')}&jurisdiction=EU")
    switch = page.get_by_role("switch", name="Personalised recommendations")
    assert not switch.is_checked()
    switch.check()
    with _choices_response(page) as resp:
        page.get_by_role("button", name="Save choices").click()
    assert resp.value.status == 201
    page.get_by_text("Saved. Your choices are recorded.").wait_for()
    events = {e.purpose: e for e in server.events("cust-browser")}
    grant = events.pop("personalization")
    assert (grant.decision, grant.mechanism, grant.valid, grant.channel) == (
        "granted",
        "preference_center",
        True,
        "web",
    )
    # Saving with the other switches off is an explicit refusal of each.
    assert {e.decision for e in events.values()} == {"denied"}
    page.reload()
    assert page.get_by_role("switch", name="Personalised recommendations").is_checked()
    assert "you agreed on" in page.locator("#s-personalization").inner_text()
    # Keyboard only: Tab reaches a switch, Space toggles it.
    page.locator("body").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('role')") == "switch":
            break
    focused = page.evaluate("document.activeElement.id")
    assert focused.startswith("p-"), focused
    before = page.locator(f"#{focused}").is_checked()
    page.keyboard.press("Space")
    assert page.locator(f"#{focused}").is_checked() is not before
    # Withdraw all: one click, every grant withdrawn.
    with _choices_response(page):
        page.get_by_role("button", name="Withdraw all").click()
    page.get_by_text("All withdrawn.").wait_for()
    last = {e.purpose: e.decision for e in server.events("cust-browser")}
    assert last["personalization"] == "withdrawn"
    assert page.locator('input[role="switch"]:checked').count() == 0


def test_gpc_in_california_records_the_opt_out(new_page: Any, server: Server) -> None:
    page = new_page(gpc=True)
    with _choices_response(page) as resp:
        page.goto("/privacy/example?jurisdiction=US-CA")
    assert resp.value.status == 201
    banner = page.get_by_role("dialog", name="Privacy choices")
    banner.get_by_text("Global Privacy Control signal was applied").wait_for()
    events = server.events(_visitor(page))
    opted_out = {e.purpose for e in events if e.mechanism == "gpc_signal"}
    assert opted_out == {"targeted_offers", "email_marketing"}
    assert all(e.decision == "denied" and e.valid for e in events)
    # A click on the page may not turn the implied banner into a grant over the GPC opt-out.
    page.get_by_text("Product 1 —").click()
    page.wait_for_timeout(300)
    assert not [e for e in server.events(_visitor(page)) if e.mechanism == "implied_banner"]


def test_eu_banner_records_nothing_until_accept_all(new_page: Any, server: Server) -> None:
    page = new_page()
    page.goto("/privacy/example?jurisdiction=EU")
    banner = page.get_by_role("dialog", name="Privacy choices")
    banner.get_by_role("button", name="Accept all").wait_for()
    vid = _visitor(page)
    page.mouse.wheel(0, 3000)
    page.wait_for_timeout(1000)
    page.get_by_text("Product 3 —").click()  # a real interaction is no consent in the EU
    page.wait_for_timeout(200)
    assert server.events(vid) == []
    with _choices_response(page) as resp:
        banner.get_by_role("button", name="Accept all").click()
    assert resp.value.status == 201
    events = server.events(vid)
    assert {e.purpose for e in events} == {
        "personalization",
        "targeted_offers",
        "email_marketing",
        "dynamic_pricing",
        "analytics",
    }
    assert {(e.decision, e.mechanism, e.valid) for e in events} == {
        ("granted", "opt_in_checkbox", True)
    }
    banner.wait_for(state="detached")  # answered: the banner goes away
    page.reload()
    page.locator(".tc-jit input").wait_for()
    assert page.get_by_role("dialog").count() == 0  # answered: no banner again


def test_california_notice_records_implied_banner_after_interaction(
    new_page: Any, server: Server
) -> None:
    page = new_page()
    page.goto("/privacy/example?jurisdiction=US-CA")
    page.get_by_role("dialog", name="Privacy choices").get_by_text(
        "Notice at collection"
    ).wait_for()
    vid = _visitor(page)
    page.mouse.wheel(0, 2000)
    page.wait_for_timeout(300)
    assert server.events(vid) == []  # scrolling is no interaction
    with _choices_response(page):
        page.get_by_text("Product 2 —").click()
    events = server.events(vid)
    assert {(e.purpose, e.mechanism) for e in events} == {
        ("targeted_offers", "implied_banner"),
        ("email_marketing", "implied_banner"),
    }


def test_just_in_time_widget_records_just_in_time(new_page: Any, server: Server) -> None:
    page = new_page()
    page.goto("/privacy/example?jurisdiction=EU")
    widget = page.get_by_role("group", name="Privacy: Personalised recommendations")
    box = widget.get_by_label("Yes, use my data for this")
    assert not box.is_checked()
    with _choices_response(page) as resp:
        box.check()
    assert resp.value.status == 201
    widget.get_by_text("Switched on").wait_for()
    events = server.events(_visitor(page))
    assert [(e.purpose, e.decision, e.mechanism) for e in events] == [
        ("personalization", "granted", "just_in_time")
    ]
    assert events[0].valid
