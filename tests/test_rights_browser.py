"""The public rights-request form in real headless Chromium: ask, get the code, confirm."""

from __future__ import annotations

import re
from typing import Any

import pytest

from test_consent_browser import Server, new_page, server  # noqa: F401 - fixtures
from trustcart.rights import RightsService

pytestmark = pytest.mark.browser


def _code(server: Server, request_id: str) -> str:  # noqa: F811
    body = RightsService(server.ws).outbox.messages(request_id)[0].body
    m = re.search(r"\b(\d{6})\b", body)
    assert m, body
    return m.group(1)


def test_access_request_form_with_one_time_code(new_page: Any, server: Server) -> None:  # noqa: F811
    page = new_page()
    page.goto("/privacy/request")
    page.get_by_label("What would you like us to do?").select_option("access")
    page.get_by_label("Your e-mail address").fill("ana.browser@example.com")
    page.get_by_label("Where you live").select_option("EU")
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("We sent a 6-digit code").wait_for()
    request_id = page.locator('input[name="request_id"]').input_value()
    rights = RightsService(server.ws)
    req = rights.get(request_id)
    assert (req.type, req.status, req.channel, req.jurisdiction) == (
        "access",
        "received",
        "web_form",
        "EU",
    )
    code = _code(server, request_id)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Confirm").click()
    assert "attempt(s) left" in page.locator("#tc-error").inner_text()
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirm").click()
    done = page.locator("#tc-done").inner_text()
    assert "confirmed" in done and rights.get(request_id).due_on.isoformat() in done
    assert "GDPR Art. 15" in done
    assert rights.get(request_id).status == "identity_verified"


def test_form_errors_keep_what_was_typed(new_page: Any, server: Server) -> None:  # noqa: F811
    page = new_page()
    page.goto("/privacy/request")
    page.get_by_label("Your e-mail address").fill("not-an-email@")
    # the browser's own check stops a malformed address; bypass it to test the server's answer
    page.evaluate("document.getElementById('email').type = 'text'")
    page.get_by_label("Customer number").fill("cust-77")
    page.get_by_label("What would you like us to do?").select_option("rectification")
    page.get_by_role("button", name="Send request").click()
    assert "details.changes" in page.locator("#tc-error").inner_text()
    assert page.get_by_label("Customer number").input_value() == "cust-77"


def test_opt_out_through_the_form_is_applied_at_once(new_page: Any, server: Server) -> None:  # noqa: F811
    page = new_page()
    page.goto("/privacy/request")
    page.get_by_label("What would you like us to do?").select_option("opt_out_profiling")
    page.get_by_label("Your e-mail address").fill("cam.browser@example.com")
    page.get_by_label("Customer number").fill("cust-ca-1")
    page.get_by_label("Where you live").select_option("US-CA")
    page.get_by_role("button", name="Send request").click()
    assert "is done" in " ".join(page.locator("#tc-done").inner_text().split())
    decisions = {e.purpose: e.decision for e in server.events("cust-ca-1")}
    assert set(decisions) == {"personalization", "dynamic_pricing"}
    assert set(decisions.values()) == {"denied"}
