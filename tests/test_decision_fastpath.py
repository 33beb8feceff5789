"""``POST /v1/decisions/{kind}`` answered by the plain ASGI handler (``trustcart.api.fastpath``)
must be indistinguishable from the FastAPI route it short-cuts: the same status, headers and
bytes for every error, the same decision for a valid request, the same access-log line."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from fastapi.testclient import TestClient

from _gateway_fixtures import choose
from trustcart.api.app import create_app
from trustcart.api.fastpath import MAX_BODY, DecisionFastPath
from trustcart.api.routers.decisions import get_gateway
from trustcart.consent import ConsentService
from trustcart.gateway import Gateway
from trustcart.governance import Role, create_key
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]

CTX = {"loyalty_tier": 2, "basket_size": 4, "stock_level": 0.5}
#: Fields of a decision that differ between two takes of the same request.
VOLATILE = {"id", "seq", "created_at", "latency_us"}


@pytest.fixture
def apps(
    workspace: Workspace, consent: ConsentService, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, TestClient, list[str]]]:
    """(fast, slow, calls): the same workspace, gateway and consent behind both apps; ``calls``
    records every request the fast handler answered (so a test knows it was used)."""
    calls: list[str] = []
    original = DecisionFastPath._handle

    async def counted(self: DecisionFastPath, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(DecisionFastPath, "_handle", counted)
    fast, slow = create_app(workspace), create_app(workspace, fast_decisions=False)
    for app in (fast, slow):
        app.state.consent, app.state.gateway = consent, gateway
    with (
        TestClient(fast, raise_server_exceptions=False) as f,
        TestClient(slow, raise_server_exceptions=False) as s,
    ):
        yield f, s, calls


def key(workspace: Workspace, role: Role) -> str:
    return create_key(workspace.store, role=role, name=f"t-{role}")[0]


def _same(fast: Any, slow: Any) -> None:
    assert fast.status_code == slow.status_code, (fast.text, slow.text)
    assert fast.headers.items() == slow.headers.items()
    assert fast.content == slow.content


BAD: list[tuple[str, str, dict[str, str], bytes | None, int, str]] = [
    # (label, path, extra headers, body, status, a piece of the message)
    ("no key", "/v1/decisions/price", {}, b'{"subject": "s", "list_price": "5"}', 401, "API key"),
    (
        "malformed key",
        "/v1/decisions/price",
        {"Authorization": "Bearer nope"},
        b'{"subject": "s"}',
        401,
        "malformed",
    ),
    (
        "unknown key",
        "/v1/decisions/price",
        {"Authorization": "Bearer tc_unknown_key_0000000000000000000"},
        b'{"subject": "s"}',
        401,
        "unknown API key",
    ),
    (
        "not a bearer scheme",
        "/v1/decisions/price",
        {"Authorization": "Basic dXNlcjpwYXNz"},
        b'{"subject": "s"}',
        401,
        "",
    ),
    ("invalid JSON before the key", "/v1/decisions/price", {}, b'{"subject": ', 422, "JSON"),
    ("no body", "/v1/decisions/price", {"@": "service"}, None, 422, "body: Field required"),
    ("a list", "/v1/decisions/price", {"@": "service"}, b"[1, 2]", 422, "body"),
    ("unknown field", "/v1/decisions/price", {"@": "service"}, b'{"subject":"s","x":1}', 422, "x"),
    ("missing subject", "/v1/decisions/price", {"@": "service"}, b'{"list_price":"5"}', 422, ""),
    ("unknown kind", "/v1/decisions/buy", {"@": "service"}, b'{"subject":"s"}', 422, "'buy'"),
    ("kind too long and no subject", "/v1/decisions/" + "k" * 33, {"@": "service"}, b"{}", 422, ""),
    ("no model for rank", "/v1/decisions/rank", {"@": "service"}, b'{"subject":"s",'
     b'"candidates":["a"]}', 409, "no model registered"),
    ("price without list price", "/v1/decisions/price", {"@": "service"}, b'{"subject":"s"}',
     422, "needs list_price"),
    ("NaN (valid for the standard library)", "/v1/decisions/price", {"@": "service"},
     b'{"subject":"s","list_price":"5","context":{"basket_size":NaN}}', 422, ""),
    ("integer beyond 64 bits", "/v1/decisions/price", {"@": "service"},
     b'{"subject":"s","list_price":"5","limit":123456789012345678901234567890}', 422, "limit"),
    ("text/plain body", "/v1/decisions/price", {"@": "service", "Content-Type": "text/plain"},
     b'{"subject":"s","list_price":"5"}', 422, "body"),
    ("no content type", "/v1/decisions/price", {"@": "service", "Content-Type": ""},
     b'{"subject":"s","list_price":"5"}', 422, "body"),
    ("not UTF-8", "/v1/decisions/price", {"@": "service"}, b'\xa5{"subject":"s"}', 400,
     "error parsing the body"),
    ("wrong role", "/v1/decisions/price", {"@": "support"}, b'{"subject":"s"}', 403,
     "decisions:write"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "path", "extra", "body", "status", "needle"), BAD, ids=[b[0] for b in BAD]
)
def test_errors_are_byte_for_byte_those_of_the_fastapi_route(
    apps: tuple[TestClient, TestClient, list[str]],
    workspace: Workspace,
    label: str,
    path: str,
    extra: dict[str, str],
    body: bytes | None,
    status: int,
    needle: str,
) -> None:
    fast, slow, calls = apps
    headers = {"Content-Type": "application/json", **extra}
    if "@" in headers:
        headers["Authorization"] = f"Bearer {key(workspace, Role(headers.pop('@')))}"
    if headers.get("Content-Type") == "":
        del headers["Content-Type"]
    a = fast.post(path, content=body, headers=headers)
    b = slow.post(path, content=body, headers=headers)
    assert calls == [path], "the fast handler answered"
    _same(a, b)
    assert a.status_code == status, a.text
    assert needle in a.json()["message"]
    assert a.headers["x-content-type-options"] == "nosniff"  # the security headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json; charset=utf-8"},
        {"Content-Type": "application/merge-patch+json"},
    ],
)
@pytest.mark.parametrize("how", ["bearer", "x-api-key"])
def test_a_decision_is_the_same_whichever_path_takes_it(
    apps: tuple[TestClient, TestClient, list[str]],
    workspace: Workspace,
    consent: ConsentService,
    gateway: Gateway,
    headers: dict[str, str],
    how: str,
) -> None:
    fast, slow, calls = apps
    choose(consent, "c-9", ["dynamic_pricing"], "granted")
    secret = key(workspace, Role.SERVICE)
    auth = {"Authorization": f"Bearer {secret}"} if how == "bearer" else {"X-API-Key": secret}
    body = {"subject": "c-9", "context": CTX, "jurisdiction": "FR", "list_price": "59.90"}
    raw = json.dumps(body).encode()
    a = fast.post("/v1/decisions/price", content=raw, headers={**headers, **auth})
    b = slow.post("/v1/decisions/price", content=raw, headers={**headers, **auth})
    assert len(calls) == 1
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert {k for k, _ in a.headers.items()} == {k for k, _ in b.headers.items()}
    da, db = a.json(), b.json()
    assert da.keys() == db.keys()
    assert {k: v for k, v in da.items() if k not in VOLATILE} == {
        k: v for k, v in db.items() if k not in VOLATILE
    }
    assert da["personalised"] is True and da["id"] != db["id"]
    # both durably logged, in order, with what was answered
    assert gateway.get(da["id"])["output"] == da["output"]
    assert gateway.get(db["id"])["seq"] == gateway.get(da["id"])["seq"] + 1
    chain, copies = gateway.log.verify()
    assert chain.ok and copies.ok


def test_access_log_line_is_the_same(
    apps: tuple[TestClient, TestClient, list[str]],
    workspace: Workspace,
    consent: ConsentService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fast, slow, calls = apps
    choose(consent, "c-5", ["dynamic_pricing"], "granted")
    secret = key(workspace, Role.SERVICE)
    body = {"subject": "c-5", "context": CTX, "jurisdiction": "EU", "list_price": "9.90"}
    lines = []
    for client in (fast, slow):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="trustcart.access"):
            r = client.post(
                "/v1/decisions/price", json=body, headers={"Authorization": f"Bearer {secret}"}
            )
        assert r.status_code == 201
        [line] = [json.loads(m.getMessage()) for m in caplog.records]
        lines.append({k: v for k, v in line.items() if k != "ms"})
    assert calls == ["/v1/decisions/price"]
    assert lines[0] == lines[1]
    assert lines[0]["route"] == "/v1/decisions/{ref}" and lines[0]["status"] == 201
    assert lines[0]["key_id"] and "c-5" not in json.dumps(lines[0])


def test_an_unexpected_error_is_the_same_bare_500(
    apps: tuple[TestClient, TestClient, list[str]],
    workspace: Workspace,
    gateway: Gateway,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fast, slow, calls = apps

    async def broken(*_: object) -> None:
        raise RuntimeError("secret detail of c-1")

    monkeypatch.setattr(gateway, "decide_async", broken)
    headers = {"Authorization": f"Bearer {key(workspace, Role.SERVICE)}"}
    body = {"subject": "c-1", "list_price": "5"}
    with caplog.at_level(logging.ERROR, logger="trustcart.api"):
        a = fast.post("/v1/decisions/price", json=body, headers=headers)
        b = slow.post("/v1/decisions/price", json=body, headers=headers)
    assert calls == ["/v1/decisions/price"]
    _same(a, b)
    assert a.status_code == 500 and a.json()["error"] == "internal_error"
    assert "secret detail" not in a.text and a.headers["content-security-policy"]
    logged = [r.getMessage() for r in caplog.records]
    assert logged == ["unhandled error on POST /v1/decisions/{ref}"] * 2


def test_a_body_over_the_limit_is_413_and_logs_nothing(
    apps: tuple[TestClient, TestClient, list[str]], workspace: Workspace, gateway: Gateway
) -> None:
    fast, _, _ = apps
    headers = {"Authorization": f"Bearer {key(workspace, Role.SERVICE)}"}
    before = _logged(gateway)
    big = {"subject": "s", "list_price": "5", "context": {"note": "x" * MAX_BODY}}
    r = fast.post("/v1/decisions/price", json=big, headers=headers)
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert r.json()["details"] == {"max_bytes": MAX_BODY}
    assert _logged(gateway) == before


def _logged(gateway: Gateway) -> int:
    chain, copies = gateway.log.verify()
    assert chain.ok and copies.ok
    return chain.checked


def _asgi(
    app: Any,
    body_chunks: list[bytes],
    headers: list[tuple[bytes, bytes]],
    *,
    complete: bool = True,
) -> list[Any]:
    """Call the app directly with a body sent in several chunks (``complete=False``: the
    client disconnects after them); return the messages the app sent."""
    sent: list[Any] = []
    queue = [
        {"type": "http.request", "body": c, "more_body": not complete or i < len(body_chunks) - 1}
        for i, c in enumerate(body_chunks)
    ]

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/decisions/price",
        "raw_path": b"/v1/decisions/price",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    return sent


def test_a_chunked_body_is_read_whole_and_a_declared_oversize_is_refused_unread(
    workspace: Workspace, consent: ConsentService, gateway: Gateway
) -> None:
    app = create_app(workspace)
    app.state.consent, app.state.gateway = consent, gateway
    choose(consent, "c-3", ["dynamic_pricing"], "granted")
    raw = json.dumps({"subject": "c-3", "context": CTX, "list_price": "19.90"}).encode()
    auth = (b"authorization", f"Bearer {key(workspace, Role.SERVICE)}".encode())
    json_type = (b"content-type", b"application/json")
    sent = _asgi(app, [raw[:7], raw[7:20], raw[20:]], [auth, json_type])
    assert sent[0]["status"] == 201
    assert gateway.get(json.loads(sent[1]["body"])["id"])["kind"] == "price"
    sent = _asgi(app, [b"{"], [auth, json_type, (b"content-length", str(MAX_BODY + 1).encode())])
    assert sent[0]["status"] == 413
    # a client gone before its body is complete gets no answer and nothing is logged
    before = _logged(gateway)
    assert _asgi(app, [raw[:7], raw[7:20]], [auth, json_type], complete=False) == []
    assert _logged(gateway) == before


def test_overrides_and_telemetry_leave_the_route_to_fastapi(
    apps: tuple[TestClient, TestClient, list[str]],
    workspace: Workspace,
    consent: ConsentService,
    gateway: Gateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, _, calls = apps
    choose(consent, "c-8", ["dynamic_pricing"], "granted")
    headers = {"Authorization": f"Bearer {key(workspace, Role.SERVICE)}"}
    body = {"subject": "c-8", "context": CTX, "list_price": "5"}
    fast.app.dependency_overrides[get_gateway] = lambda: gateway  # type: ignore[attr-defined]
    assert fast.post("/v1/decisions/price", json=body, headers=headers).status_code == 201
    assert calls == []  # FastAPI's route answered: it honours the override
    fast.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    path: DecisionFastPath = fast.app.decision_fast_path  # type: ignore[attr-defined]
    native = fast.app._native_telemetry  # type: ignore[attr-defined]
    monkeypatch.setattr(native, "enabled", lambda: True)
    path._telemetry_at = float("-inf")  # as if the last check were over a second ago
    assert fast.post("/v1/decisions/price", json=body, headers=headers).status_code == 201
    assert calls == []
    monkeypatch.setattr(native, "enabled", lambda: False)
    path._telemetry_at = float("-inf")
    assert fast.post("/v1/decisions/price", json=body, headers=headers).status_code == 201
    assert calls == ["/v1/decisions/price"]
