"""Sending an alert: to the outbox (the DPO reads it in the dashboard) and to a signed webhook.

The webhook is signed exactly like the rights connectors' (``X-TrustCart-Timestamp`` and
``X-TrustCart-Signature: sha256=HMAC(secret, timestamp + "." + body)``, see
:func:`trustcart.rights.connectors.webhook.sign`), so a receiver verifies both the same way.
Network errors, timeouts, HTTP 429 and 5xx are retried with exponential backoff; any other
answer fails at once (retrying a 400 cannot help). An alert whose delivery failed stays
``failed`` in the table and is tried again by the next ``trustcart monitor run``; receivers
de-duplicate on ``X-TrustCart-Delivery`` (the alert id).

What is never logged or stored: the secret, and the URL beyond its scheme and host (a URL may
carry a token in its path or query).
"""

from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from trustcart.monitoring.config import WebhookConfig
from trustcart.rights.connectors.webhook import sign

_log = logging.getLogger("trustcart.monitoring")
USER_AGENT = "TrustCart-Monitor/1"


def host_of(url: str) -> str:
    """``https://hooks.example`` — what logs and errors may say about a webhook URL."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


@dataclass(frozen=True)
class Delivery:
    """The outcome of delivering one alert to the webhook."""

    status: str  # sent | failed
    attempts: int
    error: str | None = None


def _retryable(code: int) -> bool:
    return code == 429 or code >= 500


def post_signed(
    config: WebhookConfig,
    payload: dict[str, Any],
    *,
    delivery_id: str,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``payload`` signed with the secret from ``config.secret_env``; retry as documented."""
    secret = os.environ.get(config.secret_env)
    if not secret:
        return Delivery(
            "failed",
            0,
            f"the webhook secret variable {config.secret_env} is not set; set it and run "
            "`trustcart monitor run` again (undelivered alerts are retried)",
        )
    body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    where = host_of(config.url)
    error = "not attempted"
    attempts = 0
    for attempt in range(config.retries + 1):
        if attempt:
            sleep(config.backoff_seconds * 2 ** (attempt - 1))
        attempts = attempt + 1
        ts = str(int(time.time()))
        req = urllib.request.Request(  # noqa: S310 - the scheme is checked by WebhookConfig
            config.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-TrustCart-Event": f"monitor.alert.{payload.get('event', 'raised')}",
                "X-TrustCart-Delivery": delivery_id,
                "X-TrustCart-Timestamp": ts,
                "X-TrustCart-Signature": sign(secret.encode(), ts, body),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=config.timeout_seconds) as resp:  # noqa: S310
                resp.read()
            return Delivery("sent", attempts)
        except urllib.error.HTTPError as exc:
            error = f"{where} answered HTTP {exc.code}"
            if not _retryable(exc.code):
                break
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            error = f"{where} unreachable or slow ({type(reason).__name__})"
        _log.warning(
            "monitor alert %s: webhook delivery attempt %d/%d failed: %s",
            delivery_id,
            attempts,
            config.retries + 1,
            error,
        )
    return Delivery("failed", attempts, error)
