"""Security headers on every response and the rate limit on the public shopper endpoints.

HTTP tests run on SQLite and PostgreSQL (the ``workspace`` fixture); the token bucket itself is
tested with a fake clock, so nothing here sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from trustcart.api.app import create_app
from trustcart.api.hardening import DEFAULT_CSP, TokenBucketLimiter
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.config import init_workspace, load_settings
from trustcart.errors import ConfigError
from trustcart.governance import create_key
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(workspace: Workspace) -> Iterator[TestClient]:
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        yield c


def _limited_client(workspace: Workspace, limit: str, burst: int) -> TestClient:
    workspace.settings = workspace.settings.model_copy(
        update={"public_rate_limit": limit, "public_rate_burst": burst}
    )
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    return TestClient(create_app(workspace), raise_server_exceptions=False)


# --- headers ------------------------------------------------------------------------------------


def _assert_base_headers(r: object) -> None:
    headers = r.headers  # type: ignore[attr-defined]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def test_json_api_and_errors_carry_security_headers(
    client: TestClient, workspace: Workspace
) -> None:
    key = create_key(workspace.store, role="dpo", name="dpo")[0]
    for r in (
        client.get("/healthz"),
        client.get("/v1/catalog", headers={"Authorization": f"Bearer {key}"}),
        client.get("/v1/catalog"),  # 401
        client.get("/no/such/route"),  # 404
        client.get("/openapi.json"),
    ):
        _assert_base_headers(r)
        assert r.headers["content-security-policy"] == DEFAULT_CSP
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert client.get("/v1/catalog").status_code == 401


def test_pages_keep_their_own_stricter_csp(client: TestClient) -> None:
    for path in ("/privacy/notice", "/privacy/preferences", "/privacy/api/config"):
        r = client.get(path)
        _assert_base_headers(r)
        csp = r.headers["content-security-policy"]
        assert csp.startswith("default-src 'self'") and "frame-ancestors 'none'" in csp
        assert r.headers.get_list("content-security-policy") == [csp]  # not doubled


def test_docs_have_no_csp_but_other_headers(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        r = client.get(path)
        assert r.status_code == 200
        assert "content-security-policy" not in r.headers  # Swagger/ReDoc load from a CDN
        _assert_base_headers(r)


def test_route_header_wins_over_default(client: TestClient) -> None:
    # The preference page already says no-store + no-referrer; nothing is duplicated.
    r = client.get("/privacy/preferences")
    assert r.headers.get_list("referrer-policy") == ["no-referrer"]
    assert r.headers.get_list("x-content-type-options") == ["nosniff"]


def test_unhandled_500_carries_security_headers(workspace: Workspace) -> None:
    # An exception no handler maps is answered by Starlette's ServerErrorMiddleware, which sits
    # outside every user middleware: the hardening middleware never sees that response.
    app = create_app(workspace)

    @app.get("/v1/boom/{subject}")
    def boom(subject: str) -> None:
        raise RuntimeError(f"bug while handling {subject}")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/v1/boom/alice@example.com")
    assert r.status_code == 500
    assert r.json() == {
        "error": "internal_error",
        "message": "internal error; see server log",
        "details": None,
    }
    _assert_base_headers(r)
    assert r.headers.get_list("content-security-policy") == [DEFAULT_CSP]
    assert r.headers.get_list("x-frame-options") == ["DENY"]  # set once, not twice
    assert "alice" not in r.text and "bug while" not in r.text


# --- rate limit over HTTP ---------------------------------------------------------------------


def test_public_api_answers_429_with_retry_after(workspace: Workspace) -> None:
    with _limited_client(workspace, "3/60s", 3) as c:
        assert [c.get("/privacy/api/config").status_code for _ in range(3)] == [200] * 3
        r = c.get("/privacy/api/config")
        assert r.status_code == 429
        body = r.json()
        assert body["error"] == "rate_limited" and "try again" in body["message"]
        retry = int(r.headers["retry-after"])
        assert retry >= 1 and retry <= 20 and body["details"] == {"retry_after": retry}
        assert r.headers["access-control-allow-origin"] == "*"  # readable by the embed script
        _assert_base_headers(r)
        # Other public endpoints share the caller's bucket; POST of the form too.
        assert c.post("/privacy/api/choices", json={}).status_code == 429
        assert c.post("/privacy/preferences", content=b"token=x").status_code == 429
        # Pages read by GET, static files, health and the documentation are not limited.
        assert c.get("/privacy/preferences").status_code == 401
        assert c.get("/privacy/notice").status_code == 200
        assert c.get("/healthz").status_code == 200


def test_authenticated_v1_is_not_limited(workspace: Workspace) -> None:
    with _limited_client(workspace, "1/60s", 1) as c:
        key = create_key(workspace.store, role="dpo", name="dpo")[0]
        auth = {"Authorization": f"Bearer {key}"}
        assert all(c.get("/v1/catalog", headers=auth).status_code == 200 for _ in range(10))


def test_limit_is_per_client_ip(workspace: Workspace) -> None:
    with _limited_client(workspace, "1/60s", 1) as c:
        assert c.get("/privacy/api/config").status_code == 200
        assert c.get("/privacy/api/config").status_code == 429
        app = c.app
    with TestClient(app, client=("203.0.113.7", 5000)) as other:
        assert other.get("/privacy/api/config").status_code == 200


def test_rate_limit_off(workspace: Workspace) -> None:
    with _limited_client(workspace, "off", 1) as c:
        assert c.app.state.rate_limiter is None  # type: ignore[attr-defined]
        assert all(c.get("/privacy/api/config").status_code == 200 for _ in range(40))


def test_openapi_documents_429_on_limited_operations(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "429" in paths["/privacy/api/config"]["get"]["responses"]
    assert "429" in paths["/privacy/api/choices"]["post"]["responses"]
    assert all("429" not in op["responses"] for op in paths["/v1/consent/events"].values())


# --- settings -----------------------------------------------------------------------------------


def test_rate_settings_from_env_and_validated(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    s = load_settings(root, environ={})
    assert (s.public_rate(), s.public_rate_burst) == ((30.0, 10.0), 30)
    s = load_settings(
        root,
        environ={"TRUSTCART_PUBLIC_RATE_LIMIT": "100/60s", "TRUSTCART_PUBLIC_RATE_BURST": "5"},
    )
    assert (s.public_rate(), s.public_rate_burst) == ((100.0, 60.0), 5)
    assert load_settings(root, environ={"TRUSTCART_PUBLIC_RATE_LIMIT": "Off"}).public_rate() is None
    for bad in ("30", "0/10s", "30/0s", "x/10s", "30/inf"):
        with pytest.raises(ConfigError, match="public_rate_limit"):
            load_settings(root, environ={"TRUSTCART_PUBLIC_RATE_LIMIT": bad})
    with pytest.raises(ConfigError, match="public_rate_burst"):
        load_settings(root, environ={"TRUSTCART_PUBLIC_RATE_BURST": "0"})


# --- the token bucket ---------------------------------------------------------------------------


def test_bucket_burst_then_refill() -> None:
    clock = FakeClock()
    lim = TokenBucketLimiter(30, 10, 5, clock=clock)  # 3 tokens/s, burst 5
    assert [lim.acquire("a") for _ in range(5)] == [0.0] * 5
    wait = lim.acquire("a")
    assert wait == pytest.approx(1 / 3)
    clock.now += 1 / 3
    assert lim.acquire("a") == 0.0
    assert lim.acquire("b") == 0.0  # another client is independent
    clock.now += 100
    assert [lim.acquire("a") for _ in range(5)] == [0.0] * 5  # refilled, but only to the burst
    assert lim.acquire("a") > 0


def test_bucket_memory_is_bounded_and_idle_buckets_evicted() -> None:
    clock = FakeClock()
    lim = TokenBucketLimiter(10, 1, 10, max_clients=100, clock=clock)  # refills in 1 s
    for i in range(1000):
        lim.acquire(f"10.0.{i // 256}.{i % 256}")
    assert len(lim) == 100  # least recently seen dropped beyond the cap
    clock.now += 2  # every bucket is full again: indistinguishable from a new one
    lim.acquire("198.51.100.1")
    assert len(lim) == 1


def test_bucket_does_not_keep_the_ip() -> None:
    lim = TokenBucketLimiter(1, 1, 1)
    lim.acquire("192.0.2.55")
    assert all(b"192.0.2.55" not in key for key in lim._buckets)


def test_bucket_is_thread_safe() -> None:
    lim = TokenBucketLimiter(1, 3600, 500)  # no refill to speak of during the test
    allowed: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        n = sum(lim.acquire("same") == 0.0 for _ in range(200))
        with lock:
            allowed.append(n)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 500  # exactly the burst, never more, across 1600 attempts


def test_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucketLimiter(0, 10, 1)
    with pytest.raises(ValueError):
        TokenBucketLimiter(1, 10, 0)


# --- rate limit shared by worker processes (real Redis at 127.0.0.1:6379) ------------------------
REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_limiter(prefix: str, burst: int = 3, url: str = REDIS_URL) -> Any:
    from trustcart.api.hardening import RedisTokenBucketLimiter

    return RedisTokenBucketLimiter(url, 3, 60, burst, key=b"k" * 32, prefix=prefix)


def test_redis_buckets_are_shared_by_two_workers() -> None:
    import uuid

    import redis

    prefix = f"tc-test:{uuid.uuid4().hex}:"
    worker_a, worker_b = _redis_limiter(prefix), _redis_limiter(prefix)
    waits = [w.acquire("203.0.113.7") for w in (worker_a, worker_b, worker_a, worker_b)]
    assert waits[:3] == [0.0, 0.0, 0.0] and waits[3] > 0  # one limit, not one per worker
    assert worker_b.acquire("198.51.100.1") == 0.0  # another client has its own bucket
    r = redis.Redis.from_url(REDIS_URL)
    keys = [k.decode() for k in r.scan_iter(match=prefix + "*")]
    assert len(keys) == 2 and not any("203.0.113.7" in k or "198.51" in k for k in keys)
    assert 0 < r.ttl(keys[0]) <= 61  # buckets expire once full again: bounded memory
    r.delete(*keys)


def test_redis_down_falls_back_to_process_buckets() -> None:
    limiter = _redis_limiter("tc-test:down:", url="redis://127.0.0.1:1/0")
    assert [limiter.acquire("c") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("c") > 0 and limiter.degraded


def test_app_uses_redis_when_configured(workspace: Workspace) -> None:
    import redis

    workspace.settings = workspace.settings.model_copy(update={"rate_limit_redis_url": REDIS_URL})
    r = redis.Redis.from_url(REDIS_URL)
    with _limited_client(workspace, "2/60s", 2) as a, _limited_client(workspace, "2/60s", 2) as b:
        codes = [c.get("/privacy/api/config").status_code for c in (a, b, a)]
        assert codes == [200, 200, 429]  # two app instances, one shared limit
        prefix = a.app.state.rate_limiter.prefix  # type: ignore[attr-defined]
        r.delete(*r.scan_iter(match=prefix + "*"))
