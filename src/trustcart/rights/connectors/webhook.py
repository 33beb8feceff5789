"""Vendors reached over HTTP: a signed request, answered now, later by callback, or by polling.

Protocol (docs/rights.md): TrustCart POSTs JSON ``{"request_id", "task_id", "action",
"dataset", "identities": {type: [values]}, "changes"}`` with ``X-TrustCart-Timestamp`` and
``X-TrustCart-Signature: sha256=HMAC(secret, timestamp + "." + body)``. The vendor answers
``200 {"status": "done", "rows_found", "rows_changed", "rows"}`` or ``202 {"status":
"pending"}``; a pending (or timed-out) call becomes a visible task that completes when the vendor
POSTs its result to the callback URL, or when ``trustcart rights run`` polls again.

Why the standard library: one small POST per vendor per request does not justify a dependency.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from trustcart.catalog import Dataset
from trustcart.errors import ConfigError
from trustcart.rights.connectors.base import Change, Connector, Found, Identities, expand_env


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify_signature(
    secret: bytes, timestamp: str, body: bytes, header: str, *, max_skew: float = 300.0
) -> bool:
    """True when ``header`` signs ``body`` and the timestamp is recent (replay protection)."""
    try:
        ts = float(timestamp)
    except ValueError:
        return False
    if abs(time.time() - ts) > max_skew:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


class WebhookConnector(Connector):
    """A vendor's endpoint, signed with a secret from the environment."""

    kind = "webhook"

    def __init__(self, dataset: Dataset, *, callback_base: str | None = None) -> None:
        super().__init__(dataset)
        spec = dataset.connector
        if spec is None or not spec.endpoint or not spec.secret_env:
            raise ConfigError(f"dataset {dataset.key!r}: a webhook needs endpoint and secret_env")
        self.endpoint = expand_env(spec.endpoint, f"dataset {dataset.key!r} endpoint")
        if not self.endpoint.startswith(("https://", "http://")):
            raise ConfigError(f"dataset {dataset.key!r}: webhook endpoint must be http(s)")
        self.secret_env = spec.secret_env
        self.timeout = spec.timeout_seconds
        self.callback_base = callback_base
        self.request_id = ""
        self.task_id = ""

    def call(
        self, action: str, ids: Identities, changes: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """POST one signed action; returns the vendor's answer, or ``{"status": "pending"}``."""
        body = json.dumps(
            {
                "request_id": self.request_id,
                "task_id": self.task_id,
                "action": action,
                "dataset": self.key,
                "identities": {k: sorted(v) for k, v in ids.items()},
                "changes": dict(changes or {}),
                "callback_url": (
                    f"{self.callback_base}/hooks/rights/tasks/{self.task_id}"
                    if self.callback_base and self.task_id
                    else None
                ),
            },
            sort_keys=True,
        ).encode()
        ts = str(int(time.time()))
        secret = os.environ.get(self.secret_env)
        if not secret:
            return {
                "status": "failed",
                "note": f"the webhook secret variable {self.secret_env} is not set; set it and "
                "run the request again",
            }
        req = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.endpoint,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-TrustCart-Timestamp": ts,
                "X-TrustCart-Signature": sign(secret.encode(), ts, body),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                status = resp.status
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            return {"status": "failed", "note": f"vendor answered HTTP {exc.code}"}
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return {"status": "pending", "note": f"vendor unreachable or slow ({reason}); retry"}
        if status == 202:
            return {"status": "pending", "note": "vendor accepted; waiting for its callback"}
        try:
            answer = json.loads(payload or b"{}")
        except ValueError:
            return {"status": "failed", "note": "vendor answered non-JSON"}
        if not isinstance(answer, dict):
            return {"status": "failed", "note": "vendor answered non-object JSON"}
        answer.setdefault("status", "done")
        return answer

    def _change(self, action: str, answer: Mapping[str, Any]) -> Change:
        change = Change(self.key, action, self.kind, strategy="vendor")
        change.status = str(answer.get("status", "done"))
        change.rows_found = int(answer.get("rows_found", 0) or 0)
        change.rows_changed = int(answer.get("rows_changed", 0) or 0)
        note = answer.get("note")
        change.note = str(note) if note else None
        return change

    def find(self, ids: Identities) -> Found:
        answer = self.call("find", ids)
        rows = answer.get("rows") if isinstance(answer.get("rows"), list) else []
        return Found(
            self.key,
            list(rows or []),
            status=str(answer.get("status", "done")),
            note=answer.get("note"),
        )

    def count(self, ids: Identities) -> int:
        answer = self.call("count", ids)
        if answer.get("status") != "done":
            return -1  # unknown: the verification scan reports the vendor as unconfirmed
        return int(answer.get("rows_found", 0) or 0)

    def erase(self, ids: Identities) -> Change:
        return self._change("erase", self.call("erase", ids))

    def rectify(self, ids: Identities, changes: Mapping[str, Any]) -> Change:
        return self._change("rectify", self.call("rectify", ids, changes))

    def expire(self, cutoff: datetime, *, dry_run: bool) -> Change:
        change = Change(self.key, "retention", self.kind, status="skipped")
        change.note = "the vendor applies retention under its DPA"
        return change
