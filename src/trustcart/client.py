"""A small Python client of the TrustCart HTTP API, for shop backends.

Why it exists: a shop's backend calls the gateway on every personalised page, so the client
keeps one HTTP/1.1 connection open (no handshake per decision) and turns every error answer
into the same exception the library raises (``ValidationError`` for a 422, ``Conflict`` for a
409, …) carrying the server's message, so calling code reads the same whether TrustCart runs
in-process or behind HTTP. Standard library only: nothing to add to a shop's dependencies.

    with TrustCartClient("http://127.0.0.1:8000") as tc:   # key from $TRUSTCART_API_KEY
        d = tc.decide("price", "c-42", {"loyalty_tier": 2}, list_price="49.90")
        tc.explanation(d["id"])["text"]

One client holds one connection: use one client per thread. The exceptions it raises are
re-exported here, so ``from trustcart.client import Conflict, TrustCartClient`` is enough.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

from trustcart.errors import (
    AuthenticationError,
    Conflict,
    NotFound,
    PermissionDenied,
    SubjectErased,
    TrustCartError,
    ValidationError,
)

__all__ = [
    "AuthenticationError",
    "Conflict",
    "NotFound",
    "PermissionDenied",
    "SubjectErased",
    "TrustCartClient",
    "TrustCartError",
    "ValidationError",
]

_ERRORS: dict[int, type[TrustCartError]] = {
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    410: SubjectErased,
    422: ValidationError,
}


class TrustCartClient:
    """Decisions over HTTP: ``decide``, ``decision``, ``explanation``, ``subject_decisions``."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 10.0) -> None:
        """``api_key`` defaults to ``$TRUSTCART_API_KEY`` (keep secrets out of code)."""
        api_key = api_key or os.environ.get("TRUSTCART_API_KEY")
        if not api_key:
            raise ValidationError("no API key: pass api_key= or set TRUSTCART_API_KEY")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(f"base_url must be http(s)://host[:port], got {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        return self._conn

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body, default=_json_default).encode()
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, self._prefix + path, body=data, headers=self._headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed an idle keep-alive connection: reconnect once, but never
                # resend a POST that may have been taken (a decision is logged evidence)
                self.close()
                if attempt == 2 or method != "GET":
                    raise
        if resp.status >= 400:
            try:
                err = json.loads(raw)
            except ValueError:
                err = {"message": raw.decode(errors="replace")[:500]}
            cls = _ERRORS.get(resp.status, TrustCartError)
            exc = cls(str(err.get("message") or f"HTTP {resp.status}"), details=err.get("details"))
            exc.status = resp.status
            raise exc
        return json.loads(raw) if raw else None

    def decide(
        self,
        kind: str,
        subject: str,
        context: Mapping[str, Any] | None = None,
        *,
        candidates: Sequence[str] | None = None,
        jurisdiction: str | None = None,
        list_price: Decimal | str | None = None,
        currency: str = "EUR",
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Take a decision (``POST /v1/decisions/{kind}``); returns it once it is logged."""
        body: dict[str, Any] = {"subject": subject, "context": dict(context or {})}
        if candidates is not None:
            body["candidates"] = list(candidates)
        if jurisdiction is not None:
            body["jurisdiction"] = jurisdiction
        if list_price is not None:
            body["list_price"] = str(list_price)
        if currency != "EUR":
            body["currency"] = currency
        if limit is not None:
            body["limit"] = limit
        result: dict[str, Any] = self._request("POST", f"/v1/decisions/{quote(kind)}", body)
        return result

    def decide_many(self, decisions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Up to 500 decisions in one request (``POST /v1/decisions``), each a mapping with
        ``kind``, ``subject`` and the fields of :meth:`decide`; logged all or nothing."""
        result: dict[str, Any] = self._request(
            "POST", "/v1/decisions", {"decisions": [dict(d) for d in decisions]}
        )
        taken: list[dict[str, Any]] = result["decisions"]
        return taken

    def decision(self, decision_id: str) -> dict[str, Any]:
        """A logged decision (``GET /v1/decisions/{id}``)."""
        result: dict[str, Any] = self._request("GET", f"/v1/decisions/{quote(decision_id)}")
        return result

    def explanation(self, decision_id: str) -> dict[str, Any]:
        """Why: attributions and plain-language text (``…/{id}/explanation``)."""
        path = f"/v1/decisions/{quote(decision_id)}/explanation"
        result: dict[str, Any] = self._request("GET", path)
        return result

    def subject_decisions(self, subject: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """A person's decisions, newest first (access requests)."""
        path = f"/v1/subjects/{quote(subject, safe='')}/decisions?limit={int(limit)}"
        result: list[dict[str, Any]] = self._request("GET", path)
        return result

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> TrustCartClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")
