"""The whistleblower channel: sealed at rest, readable only by the ethics role, the reporter's
follow-up code, and no IP or identifying metadata anywhere (every stored row and every log
record is inspected). SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text, update
from typer.testing import CliRunner

from trustcart.api.app import create_app
from trustcart.cli import app as cli
from trustcart.clock import utcnow
from trustcart.errors import AuthenticationError, Conflict, LedgerError, ValidationError
from trustcart.governance import ConcernBox, access_entries, create_key
from trustcart.governance.concerns import derive_concern_key
from trustcart.store.tables import ConcernMessage, table_of
from trustcart.workspace import Workspace

CLIENT_IP = "198.51.100.77"
FORWARDED_IP = "203.0.113.9"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) WhistleBrowser/121.0"
CONCERN = "The pricing model charges shoppers in the south more. Nobody checked it."
_messages = table_of(ConcernMessage)


@pytest.fixture
def box(workspace: Workspace) -> ConcernBox:
    return ConcernBox.of(workspace)


def _dump(ws: Workspace) -> str:
    """Every value of every row of every table, as text (bytes decoded leniently too)."""
    out: list[str] = []
    with ws.store.read() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        out.append(bytes(value).decode("latin-1"))
                    else:
                        out.append(str(value))
    return "\n".join(out)


def test_raise_follow_up_reply_and_close(box: ConcernBox, workspace: Workspace) -> None:
    raised = box.raise_concern(CONCERN, system="pricing", category="discrimination")
    assert re.fullmatch(r"c_[0-9a-f]{20}\.[A-Za-z0-9_\-]{43}", raised.token)
    assert raised.token.startswith(raised.id + ".")
    thread = box.follow_up(raised.token)
    assert (thread.status, thread.system, thread.category) == ("open", "pricing", "discrimination")
    assert [(m.author, m.text) for m in thread.messages] == [("reporter", CONCERN)]
    assert thread.received_on == thread.updated_on == utcnow().date()
    box.reply(raised.id, "Thank you. Which page showed the price?", actor="key_ethics")
    summary = box.summaries()[0]
    assert (summary.status, summary.messages, summary.awaiting_reply) == ("answered", 2, False)
    box.reporter_message(raised.token, "The checkout page, on 3 November.")
    assert box.summaries()[0].awaiting_reply is True and box.summaries()[0].status == "open"
    assert [m.author for m in box.follow_up(raised.token).messages] == [
        "reporter",
        "ethics",
        "reporter",
    ]
    box.close(raised.id, actor="key_ethics")
    assert box.follow_up(raised.token).status == "closed"  # still readable
    with pytest.raises(Conflict):
        box.reporter_message(raised.token, "more")
    actions = [e.payload["action"] for e in workspace.store.log("admin")]
    assert actions == ["concern.replied", "concern.closed"]  # receipt itself is not logged
    for bad in (raised.token + "x", raised.id + ".wrong", "c_00.x", "", raised.id):
        with pytest.raises(AuthenticationError):
            box.follow_up(bad)
    with pytest.raises(ValidationError):
        box.raise_concern("   ")
    with pytest.raises(ValidationError):
        box.raise_concern("x", category="gossip")


def test_sealed_at_rest_with_the_derived_key(box: ConcernBox, workspace: Workspace) -> None:
    raised = box.raise_concern(CONCERN, system="recommender")
    dump = _dump(workspace)
    assert "south" not in dump and "recommender" not in dump
    secret = raised.token.split(".", 1)[1]
    assert secret not in dump  # only its hash is stored
    # Independent check: the row opens with AES-GCM under HKDF(workspace secret) and the AAD.
    with workspace.store.read() as conn:
        row = conn.execute(_messages.select()).one()
    key = derive_concern_key(workspace.settings.pseudonym_key())
    blob = bytes(row.body)
    plain = AESGCM(key).decrypt(blob[:12], blob[12:], f"{raised.id}\n1\nreporter".encode())
    assert CONCERN in plain.decode()
    # A flipped byte, or the message moved to another concern, no longer opens.
    other = box.raise_concern("another concern")
    with workspace.store.write() as conn:
        conn.execute(
            update(_messages)
            .where(_messages.c.concern_id == other.id)
            .values(body=blob)  # the first concern's ciphertext copied over
        )
    with pytest.raises(LedgerError, match="altered or moved"):
        box.read(other.id)
    # A box with another secret cannot read anything.
    stranger = ConcernBox(workspace.store, b"another-secret-of-at-least-32-bytes!!")
    with pytest.raises(LedgerError, match="no longer has"):
        stranger.read(raised.id)
    # ... unless given the old secret (key rotation keeps old messages readable).
    rotated = ConcernBox(
        workspace.store,
        b"another-secret-of-at-least-32-bytes!!",
        previous=[workspace.settings.pseudonym_key()],
    )
    assert rotated.read(raised.id).messages[0].text == CONCERN


class _Captured:
    def __init__(self) -> None:
        self.records: list[logging.LogRecord] = []

    def texts(self) -> Iterator[str]:
        fmt = logging.Formatter("%(asctime)s %(name)s %(message)s")
        for r in self.records:
            if not r.name.startswith(("httpx", "httpcore")):  # the test's own client
                yield r.getMessage()
                yield fmt.format(r)
                yield repr(r.__dict__)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> _Captured:
    cap = _Captured()
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        cap.records.append(record)
        original(self, record)

    monkeypatch.setattr(logging.Logger, "isEnabledFor", lambda self, level: True)
    monkeypatch.setattr(logging.Logger, "handle", handle)
    return cap


def test_public_page_stores_and_logs_no_ip_or_identifying_metadata(
    workspace: Workspace, captured: _Captured, capfd: pytest.CaptureFixture[str]
) -> None:
    headers = {
        "User-Agent": USER_AGENT,
        "X-Forwarded-For": f"{FORWARDED_IP}, {CLIENT_IP}",
        "X-Real-IP": FORWARDED_IP,
        "Cookie": "session=reporter-session-cookie",
        "Referer": "https://intranet.example/people/jane.doe",
    }
    with TestClient(
        create_app(workspace),
        client=(CLIENT_IP, 40123),
        headers=headers,
        raise_server_exceptions=False,
    ) as c:
        page = c.get("/concerns")
        assert page.status_code == 200 and "Raise a concern" in page.text
        assert page.headers["cache-control"] == "no-store"
        r = c.post("/concerns", data={"text": CONCERN, "category": "discrimination",
                                      "system": "pricing"})  # fmt: skip
        assert r.status_code == 200, r.text
        token = re.search(r'id="tc-token"[^>]*>([^<]+)<', r.text)
        assert token is not None
        code = token.group(1)
        ethics = create_key(workspace.store, role="ethics", name="ethics committee")[0]
        cid = code.split(".")[0]
        r = c.post(
            f"/v1/concerns/{cid}/replies",
            headers={"Authorization": f"Bearer {ethics}"},
            json={"text": "We are looking into it."},
        )
        assert r.status_code == 201, r.text
        r = c.post("/concerns/follow-up", data={"token": code, "text": "More details here."})
        assert r.status_code == 200 and "We are looking into it." in r.text
        r = c.post("/concerns/follow-up", data={"token": code + "x"})
        assert r.status_code == 401 and "not valid" in r.text
    out, err = capfd.readouterr()
    logs = "\n".join([*captured.texts(), out, err])
    assert '"route":"/concerns"' in logs  # the net caught the request log lines
    dump = _dump(workspace)
    forbidden = [CLIENT_IP, FORWARDED_IP, "198.51.100", "203.0.113", USER_AGENT,
                 "WhistleBrowser", "reporter-session-cookie", "jane.doe"]  # fmt: skip
    assert [s for s in forbidden if s in dump] == [], "identifying metadata stored"
    assert [s for s in [*forbidden, CONCERN, "More details", code] if s in logs] == []
    # No time of day either: the concern tables hold days only.
    with workspace.store.read() as conn:
        cols = {
            c["name"]: str(c["type"])
            for t in ("concerns", "concern_messages")
            for c in inspect(conn).get_columns(t)
        }
    assert not [n for n, t in cols.items() if "TIME" in t.upper()], cols


def test_only_the_ethics_role_reads_concerns(box: ConcernBox, workspace: Workspace) -> None:
    raised = box.raise_concern(CONCERN)
    keys = {role: create_key(workspace.store, role=role, name=role)[0]
            for role in ("dpo", "support", "ethics")}  # fmt: skip
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        for role in ("dpo", "support"):
            auth = {"Authorization": f"Bearer {keys[role]}"}
            assert c.get("/v1/concerns", headers=auth).status_code == 403
            assert c.get(f"/v1/concerns/{raised.id}", headers=auth).status_code == 403
        ethics = {"Authorization": f"Bearer {keys['ethics']}", "X-Purpose": "concern_triage"}
        listed = c.get("/v1/concerns", headers=ethics).json()
        assert [x["id"] for x in listed] == [raised.id] and "text" not in str(listed)
        r = c.get(f"/v1/concerns/{raised.id}", headers=ethics)
        assert r.status_code == 200 and r.json()["messages"][0]["text"] == CONCERN
        assert c.post(f"/v1/concerns/{raised.id}/close", headers=ethics).json()["status"] == (
            "closed"
        )
    reads = access_entries(workspace.store)
    assert [(e.route, e.purpose, e.kind) for e in reversed(reads)] == [
        ("/v1/concerns", "concern_triage", "concern"),
        ("/v1/concerns/{concern_id}", "concern_triage", "concern"),
        ("/v1/concerns/{concern_id}/close", "concern_triage", "concern"),
    ]
    # The CLI asks for an ethics key too, and logs the read under it.
    runner = CliRunner()
    w = ["-w", str(workspace.root)]
    res = runner.invoke(cli, [*w, "concerns", "show", raised.id])
    assert res.exit_code == 2 and "ethics" in res.output
    res = runner.invoke(cli, [*w, "concerns", "show", raised.id, "--key", keys["dpo"]])
    assert res.exit_code == 2 and "only the ethics role" in res.output
    res = runner.invoke(cli, [*w, "concerns", "show", raised.id, "--key", keys["ethics"]])
    assert res.exit_code == 0 and "charges shoppers in the south" in res.stdout
    last = access_entries(workspace.store, limit=1)[0]
    assert (last.channel, last.route, last.object) == ("cli", "trustcart concerns show", raised.id)


def test_public_forms_are_rate_limited(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTCART_PUBLIC_RATE_LIMIT", "2/60s")
    monkeypatch.setenv("TRUSTCART_PUBLIC_RATE_BURST", "2")
    ws = Workspace.open(workspace.root)
    try:
        with TestClient(create_app(ws), raise_server_exceptions=False) as c:
            codes = [c.post("/concerns", data={"text": f"n{i}"}).status_code for i in range(3)]
            assert codes == [200, 200, 429]
            assert c.post("/concerns/follow-up", data={"token": "x.y"}).status_code == 429
            assert c.get("/concerns").status_code == 200  # reading the form is not limited
    finally:
        ws.close()
