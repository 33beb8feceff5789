"""No personal identifier reaches a log record while the API and the shopper pages are used.

Every log record of every logger is captured, at every level (``Logger.isEnabledFor`` answers
yes and ``Logger.handle`` is wrapped, so quiet, disabled or non-propagating loggers are caught
too), plus anything written to stdout/stderr. The test then drives the consent API and the
privacy pages with realistic identifiers — emails, a customer id, client IPs (socket peer and
``X-Forwarded-For``), a user agent, the preference token — and asserts none of those strings
appears in any message or formatted record (with its exception text and arguments).

Excluded: records of the ``httpx``/``httpcore`` loggers. They come from the *test's own HTTP
client* (``TestClient`` is an ``httpx.Client`` and logs each request URL it sends), not from
the server; a real deployment has no such records.

Runs on SQLite and PostgreSQL (the ``workspace`` fixture).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from trustcart.api.app import create_app
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.governance import create_key
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
EMAIL = "alice@example.com"
EMAIL2 = "bob.martin@example.org"
CUSTOMER = "cust-9f3a"
CLIENT_IP = "198.51.100.23"
FORWARDED_IP = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AliceBrowser/117.0"
CLIENT_SIDE_LOGGERS = ("httpx", "httpcore")


class Captured:
    def __init__(self) -> None:
        self.records: list[logging.LogRecord] = []
        self._formatter = logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s %(pathname)s:%(lineno)d %(message)s"
        )

    def add(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(CLIENT_SIDE_LOGGERS):
            self.records.append(record)

    def texts(self) -> Iterator[str]:
        for record in self.records:
            yield record.getMessage()
            yield self._formatter.format(record)
            yield repr(record.args)
            yield repr(record.__dict__)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Captured:
    """Every record any logger creates, whatever its level, handlers or ``propagate``."""
    cap = Captured()
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        cap.add(record)  # before the logger's own filters, ``disabled`` flag and handlers
        original(self, record)

    monkeypatch.setattr(logging.Logger, "isEnabledFor", lambda self, level: True)
    monkeypatch.setattr(logging.Logger, "handle", handle)
    return cap  # monkeypatch undoes both after the test


@pytest.fixture
def app(workspace: Workspace) -> object:
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    return create_app(workspace)


def _drive(app: object, workspace: Workspace) -> list[str]:
    """Use every consent surface with identifiers; returns the secrets that must not leak."""
    key = create_key(workspace.store, role="dpo", name="log-hygiene")[0]
    headers = {
        "Authorization": f"Bearer {key}",
        "User-Agent": USER_AGENT,
        "X-Forwarded-For": f"{FORWARDED_IP}, {CLIENT_IP}",
        "X-Real-IP": FORWARDED_IP,
    }
    leaks = [key]
    with TestClient(
        app,  # type: ignore[arg-type]
        client=(CLIENT_IP, 51234),
        headers=headers,
        raise_server_exceptions=False,
    ) as c:
        notice = c.post("/v1/consent/notices/from-datamap")
        assert notice.status_code == 201, notice.text
        version = notice.json()["version"]
        for subject in (EMAIL, CUSTOMER):
            r = c.post(
                "/v1/consent/events",
                json={
                    "subject": subject,
                    "purposes": ["personalization", "email_marketing"],
                    "decision": "granted",
                    "mechanism": "opt_in_checkbox",
                    "jurisdiction": "EU",
                    "notice_version": version,
                    "channel": "signup",
                    "evidence": {"ip": CLIENT_IP, "user_agent": USER_AGENT, "page": "/signup"},
                },
            )
            assert r.status_code == 201, r.text
            r = c.post(
                "/v1/consent/check",
                json={
                    "subject": subject,
                    "purpose": "personalization",
                    "data_categories": ["user.behavior.purchase_history"],
                    "jurisdiction": "EU",
                },
            )
            assert r.status_code == 200 and r.json()["allowed"], r.text
            assert c.get(f"/v1/consent/subjects/{subject}").status_code == 200
            assert c.get(f"/v1/consent/subjects/{subject}/proof").status_code == 200
            proof = c.get(f"/v1/consent/subjects/{subject}/proof", params={"format": "html"})
            assert proof.status_code == 200
        # Errors that echo the identifier back to the caller must not log it either.
        bad = c.post("/v1/consent/events", json={"subject": EMAIL2, "purposes": ["nope"]})
        assert bad.status_code == 422
        assert c.get(f"/v1/consent/subjects/{EMAIL2}/nope").status_code == 404
        # Shopper side: token link, page, form, JSON API.
        t = c.post("/v1/consent/tokens", json={"subject": EMAIL})
        assert t.status_code == 201, t.text
        token = t.json()["token"]
        leaks.append(token)
        page = c.get("/privacy/preferences", params={"token": token})
        assert page.status_code == 200, page.text
        form = c.post(
            "/privacy/preferences",
            content=f"token={token}&jurisdiction=EU&purpose=personalization".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert form.status_code == 303, form.text
        state = c.get("/privacy/api/state", params={"token": token})
        assert state.status_code == 200, state.text
        choices = c.post(
            "/privacy/api/choices",
            json={
                "token": token,
                "jurisdiction": "EU",
                "mechanism": "preference_center",
                "notice_version": version,
                "choices": {"analytics": False},
                "page": f"https://shop.example/account?email={EMAIL}",
            },
        )
        assert choices.status_code == 201, choices.text
        assert c.get("/privacy/preferences", params={"token": token + "x"}).status_code == 401
    return leaks


def test_no_identifier_reaches_any_log(
    app: object, workspace: Workspace, captured: Captured, capfd: pytest.CaptureFixture[str]
) -> None:
    leaks = _drive(app, workspace)
    out, err = capfd.readouterr()
    texts = [*captured.texts(), out, err]
    # The capture works: the access log wrote one record per request.
    assert any('"event":"request"' in r.getMessage() for r in captured.records)
    secrets = [EMAIL, EMAIL2, CUSTOMER, CLIENT_IP, FORWARDED_IP, USER_AGENT, "AliceBrowser", *leaks]
    found = {s: t[:300] for s in secrets for t in texts if s in t}
    assert not found, f"identifiers in logs: {found}"


def test_capture_sees_every_logger(captured: Captured) -> None:
    """The net itself: a quiet, disabled, non-propagating logger is still caught."""
    quiet = logging.getLogger("some.library")
    quiet.propagate, quiet.disabled = False, True
    quiet.setLevel(logging.CRITICAL)
    try:
        quiet.debug("hello %s", EMAIL)
    finally:
        quiet.propagate, quiet.disabled = True, False
        quiet.setLevel(logging.NOTSET)
    assert any(EMAIL in t for t in captured.texts())
