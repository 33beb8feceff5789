"""Security headers on every response and a rate limit on the unauthenticated shopper endpoints.

Why a plain ASGI middleware (not ``@app.middleware("http")``): it only touches the response
start message, so streaming and file responses pass through untouched, and a limited request is
answered before any routing, dependency or database work.

Headers: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
``X-Frame-Options: DENY`` and, for a response that does not set its own, a
``Content-Security-Policy`` that forbids framing, scripts and every remote load (inline ``<style>``
stays allowed for the self-contained HTML reports: proof of consent, notice, RoPA). A header a
route already sets wins (the privacy pages send their own stricter CSP). ``/docs`` and
``/redoc`` get no CSP: Swagger UI and ReDoc load their script and CSS from a CDN (so those two
pages need internet access in the browser).

Rate limit: a token bucket per client IP on everything under ``/privacy/api/`` and on
``POST /privacy/preferences``, the rights-request and review forms, the dashboard's login form
and the whistleblower forms (``POST /concerns``, ``/concerns/follow-up``) — the endpoints anyone
on the internet can call without a key (the login also locks an account after repeated wrong
passwords, see ``trustcart.governance.users``).
Authenticated ``/v1`` routes are not limited here: every key is issued to a named system or
person and its requests are in the access log under its key id, so abuse is accountable and
the key can be revoked (per-key quotas can come later). The IP is used only as a dictionary key
(a keyed hash of it, with a random per-process key), held in memory, never logged or stored;
idle buckets are evicted so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import orjson
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Policy for responses without their own (JSON, the HTML reports of /v1).
DEFAULT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
)
#: Paths whose pages load assets from a CDN: no CSP (they still get the other headers).
NO_CSP_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
#: Default limit: 30 requests per 10 s per client, bursts of up to 30.
DEFAULT_RATE = (30.0, 10.0)
DEFAULT_BURST = 30
_log = logging.getLogger("trustcart.api")


class Limiter(Protocol):
    """What the middleware needs: take a token, or say how long to wait."""

    def acquire(self, client: str) -> float:
        """0.0 if allowed, else seconds until a token is free."""


#: Buckets kept at most; beyond it the least recently used are dropped.
MAX_CLIENTS = 50_000


class TokenBucketLimiter:
    """Thread-safe token buckets keyed by client, with bounded memory.

    Each client starts with ``burst`` tokens; a request takes one; tokens refill at
    ``requests / window`` per second up to ``burst``. A bucket untouched for long enough to
    refill completely is indistinguishable from a new one, so it is evicted. If more than
    ``max_clients`` are active at once, the least recently seen ones are dropped (they start
    again with a full bucket: the limiter fails open for them, never closed for everyone).
    """

    def __init__(
        self,
        requests: float,
        window: float,
        burst: int,
        *,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if requests <= 0 or window <= 0 or burst < 1 or max_clients < 1:
            raise ValueError("requests, window, burst and max_clients must be positive")
        self.rate = requests / window  # tokens per second
        self.burst = float(burst)
        self.max_clients = max_clients
        self._clock = clock
        self._idle = self.burst / self.rate  # seconds for an empty bucket to refill
        self._buckets: OrderedDict[bytes, tuple[float, float]] = OrderedDict()  # tokens, seen
        self._lock = threading.Lock()
        self._salt = os.urandom(16)

    def _key(self, client: str) -> bytes:
        return hashlib.blake2b(client.encode(), key=self._salt, digest_size=16).digest()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, client: str) -> float:
        """Take a token for ``client``: 0.0 if allowed, else the seconds until one is free."""
        key = self._key(client)
        with self._lock:
            now = self._clock()
            tokens, seen = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - seen) * self.rate)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)  # most recently seen last
            self._evict(now)
            return wait

    def _evict(self, now: float) -> None:
        """Drop idle buckets from the old end (amortised O(1)), then any excess."""
        buckets = self._buckets
        while buckets:
            _tokens, seen = next(iter(buckets.values()))
            if now - seen < self._idle and len(buckets) <= self.max_clients:
                break
            buckets.popitem(last=False)


_BUCKET_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', key, 'tokens', 'seen')
local tokens = tonumber(state[1]) or burst
local seen = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - seen) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', key, 'tokens', tostring(tokens), 'seen', tostring(now))
redis.call('EXPIRE', key, math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisTokenBucketLimiter:
    """The same token buckets, kept in Redis so every worker process shares one limit.

    Why: ``trustcart serve --workers 2`` runs two processes; with per-process buckets a client
    gets twice the limit. The bucket update is one Lua script (atomic, Redis's clock, so worker
    clocks do not matter); keys are a keyed hash of the client address (no IP is stored) and
    expire once the bucket would be full again. If Redis fails, the process falls back to its
    own in-memory buckets and says so once in the log: the limit degrades, it never blocks
    everyone.
    """

    def __init__(
        self,
        url: str,
        requests: float,
        window: float,
        burst: int,
        *,
        key: bytes,
        prefix: str = "trustcart:rl:",
    ) -> None:
        import redis

        if requests <= 0 or window <= 0 or burst < 1:
            raise ValueError("requests, window and burst must be positive")
        self.rate = requests / window
        self.burst = float(burst)
        self._key = key
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._script = self._redis.register_script(_BUCKET_LUA)
        self.fallback = TokenBucketLimiter(requests, window, burst)
        self.degraded = False

    def bucket_key(self, client: str) -> str:
        """The Redis key of ``client`` (a keyed hash: the address itself is never stored)."""
        digest = hashlib.blake2b(client.encode(), key=self._key[:64], digest_size=16).hexdigest()
        return self.prefix + digest

    def acquire(self, client: str) -> float:
        """Take a token for ``client``: 0.0 if allowed, else the seconds until one is free."""
        import redis

        try:
            wait = float(self._script(keys=[self.bucket_key(client)], args=[self.rate, self.burst]))
        except redis.RedisError as exc:
            if not self.degraded:
                _log.warning(
                    "rate limit: Redis unavailable (%s); using per-process buckets",
                    type(exc).__name__,
                )
                self.degraded = True
            return self.fallback.acquire(client)
        self.degraded = False
        return wait


def security_headers(path: str) -> dict[str, str]:
    """The headers the middleware adds, for a response built outside it.

    Why: Starlette's outermost ``ServerErrorMiddleware`` answers an unhandled exception by
    calling the app's ``Exception`` handler and sending its response straight to the server,
    past every user middleware, so that 500 would leave without these headers.
    ``trustcart.api.errors`` sets them on it with this function.
    """
    headers = dict(SECURITY_HEADERS)
    if path not in NO_CSP_PATHS:
        headers["content-security-policy"] = DEFAULT_CSP
    return headers


def _header_names(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    return {name.lower() for name, _ in headers}


class HardeningMiddleware:
    """ASGI middleware: security headers everywhere, rate limit on the public endpoints."""

    def __init__(self, app: ASGIApp, limiter: Limiter | None = None) -> None:
        self.app = app
        self.limiter = limiter

    @staticmethod
    def path_of(scope: Scope) -> str:
        """The request path without the mount prefix (root_path)."""
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        return path

    @staticmethod
    def is_limited(method: str, path: str) -> bool:
        """Whether a request is subject to the public rate limit."""
        return path.startswith("/privacy/api/") or (
            method == "POST"
            and path.rstrip("/")
            in (
                "/privacy/preferences",
                "/privacy/request",
                "/privacy/request/verify",
                "/privacy/review",
                "/dashboard/login",
                "/concerns",
                "/concerns/follow-up",
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = self.path_of(scope)
        csp = path not in NO_CSP_PATHS
        if self.limiter is not None and self.is_limited(scope.get("method", "GET"), path):
            client = scope.get("client")
            wait = self.limiter.acquire(client[0] if client else "")
            if wait > 0:
                await self._too_many(send, wait, cors=path.startswith("/privacy/api/"), csp=csp)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = _header_names(headers)
                for name, value in SECURITY_HEADERS:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if csp and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DEFAULT_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _too_many(send: Send, wait: float, *, cors: bool, csp: bool) -> None:
        retry = max(1, math.ceil(wait))
        body = orjson.dumps(
            {
                "error": "rate_limited",
                "message": f"too many requests; try again in {retry} s",
                "details": {"retry_after": retry},
            }
        )
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry).encode()),
            (b"cache-control", b"no-store"),
        ]
        headers += [(n.encode(), v.encode()) for n, v in SECURITY_HEADERS]
        if csp:
            headers.append((b"content-security-policy", DEFAULT_CSP.encode()))
        if cors:  # the embed script on the shop's origin must be able to read the answer
            headers += [(b"access-control-allow-origin", b"*"), (b"vary", b"Origin")]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def install_hardening(app: FastAPI, *, limiter: Limiter | None = None) -> None:
    """Add the middleware to ``app``; the limit comes from the workspace settings
    (``public_rate_limit``, ``public_rate_burst``) unless ``limiter`` is given."""
    if limiter is None:
        workspace: Any = getattr(app.state, "workspace", None)
        settings = getattr(workspace, "settings", None)
        rate = settings.public_rate() if settings is not None else DEFAULT_RATE
        burst = settings.public_rate_burst if settings is not None else DEFAULT_BURST
        if rate is not None:
            url = settings.rate_limit_redis_url if settings is not None else None
            limiter = (
                RedisTokenBucketLimiter(url, rate[0], rate[1], burst, key=settings.pseudonym_key())
                if url and settings is not None
                else TokenBucketLimiter(rate[0], rate[1], burst)
            )
    app.state.rate_limiter = limiter
    app.add_middleware(HardeningMiddleware, limiter=limiter)
    if limiter is not None:
        _document_429(app)


def _document_429(app: FastAPI) -> None:
    """Declare the 429 answer on the limited operations, so the OpenAPI contract stays true
    (the schemathesis fuzz test checks every response against it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        has_error_body = "ErrorBody" in schema.get("components", {}).get("schemas", {})
        body: dict[str, Any] = (
            {"$ref": "#/components/schemas/ErrorBody"} if has_error_body else {"type": "object"}
        )
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if HardeningMiddleware.is_limited(method.upper(), path):
                    operation.setdefault("responses", {}).setdefault(
                        "429",
                        {
                            "description": "Rate limited: retry after the Retry-After seconds",
                            "headers": {
                                "Retry-After": {
                                    "description": "Seconds to wait before retrying",
                                    "schema": {"type": "integer"},
                                }
                            },
                            "content": {"application/json": {"schema": body}},
                        },
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
