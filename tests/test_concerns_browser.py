"""The whistleblower page in a real browser (headless Debian Chromium through Playwright): a
reporter without an account raises a concern, keeps the follow-up code, reads the committee's
reply and answers it. The app runs under uvicorn on a loopback port (SQLite workspace); the
committee's side goes through the library, assertions read the box directly."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from trustcart.api.app import create_app
from trustcart.config import init_workspace
from trustcart.governance import ConcernBox
from trustcart.workspace import Workspace

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Workspace]]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("TRUSTCART_"):
                mp.delenv(name)
        ws = Workspace.open(init_workspace(tmp_path_factory.mktemp("concerns") / "ws"))
    port = _free_port()
    config = uvicorn.Config(
        create_app(ws), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", ws
    finally:
        server.should_exit = True
        thread.join(5)
        ws.close()


@pytest.fixture(scope="module")
def page(served: tuple[str, Workspace]) -> Iterator[Any]:
    errors: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        ctx = browser.new_context(base_url=served[0])
        ctx.set_default_timeout(5000)
        pg = ctx.new_page()
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        # CSP violations are console errors; failed loads (except the browser's own favicon
        # probe) are responses >= 400 (the wrong-code page is not exercised here).
        pg.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and "Failed to load resource" not in m.text
                else None
            ),
        )
        pg.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        try:
            yield pg
        finally:
            browser.close()
    assert errors == [], f"errors in the page (CSP violations show here): {errors}"


def test_raise_a_concern_read_the_reply_and_answer(
    page: Any, served: tuple[str, Workspace]
) -> None:
    _, ws = served
    box = ConcernBox.of(ws)
    page.goto("/concerns")
    page.get_by_label("Which system is it about?").fill("pricing")
    page.get_by_label("What kind of concern?").select_option("discrimination")
    page.get_by_label("Your concern").fill("Prices differ by neighbourhood for the same shoes.")
    page.get_by_role("button", name="Send to the ethics committee").click()
    page.get_by_text("your concern was received").wait_for()
    code = page.locator("#tc-token").inner_text().strip()
    concern_id = code.split(".")[0]
    thread = box.read(concern_id)
    assert (thread.system, thread.category) == ("pricing", "discrimination")
    assert thread.messages[0].text == "Prices differ by neighbourhood for the same shoes."
    # The code is not in the URL (so not in history, logs or a referrer).
    assert code not in page.url
    box.reply(concern_id, "Thank you; we are auditing the prices.", actor="key_ethics")
    page.get_by_role("link", name="Read replies").click()
    page.get_by_label("Your follow-up code").fill(code)
    page.get_by_role("button", name="Show replies").click()
    page.locator("#tc-thread").get_by_text("we are auditing the prices").wait_for()
    assert page.locator(".tc-message").count() == 2
    page.get_by_label("Add a message").fill("It started in October.")
    page.get_by_role("button", name="Refresh / send").click()
    page.locator("#tc-thread").get_by_text("It started in October.").wait_for()
    assert page.locator("#tc-status").inner_text() == "open"
    assert [m.author for m in box.read(concern_id).messages] == ["reporter", "ethics", "reporter"]
    assert code not in page.url
