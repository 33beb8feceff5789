"""Proxy features: inputs that stand in for a protected attribute (postcode for ethnicity…).

Fairness audits find proxies; the gateway only enforces the list. Registering one writes the
``gateway_proxies`` table and an ``admin`` log entry (who decided, why), and every gateway
drops the feature from then on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from trustcart.clock import utcnow
from trustcart.errors import ValidationError
from trustcart.store import Store
from trustcart.store.tables import GatewayProxy, table_of

_proxies = table_of(GatewayProxy)
ADMIN_LOG = "admin"


@dataclass(frozen=True, slots=True)
class Proxy:
    """A feature blocked as a proxy, with why and who found it."""

    feature: str
    reason: str
    source: str
    created_at: datetime


def register_proxy(store: Store, feature: str, reason: str, source: str) -> Proxy:
    """Block ``feature`` everywhere (idempotent: re-registering replaces reason and source)."""
    if not feature.strip() or not reason.strip() or not source.strip():
        raise ValidationError("a proxy needs a feature name, a reason and a source")
    now = utcnow()
    row = {"feature": feature, "reason": reason, "source": source, "created_at": now}
    with store.write() as conn:
        conn.execute(delete(_proxies).where(_proxies.c.feature == feature))
        conn.execute(_proxies.insert().values(row))
        store.log(ADMIN_LOG).append(
            {
                "action": "gateway.proxy_registered",
                "feature": feature,
                "reason": reason,
                "source": source,
            },
            conn=conn,
        )
    return Proxy(feature, reason, source, now)


def list_proxies(store: Store) -> dict[str, Proxy]:
    """Every registered proxy by feature name."""
    with store.read() as conn:
        rows = conn.execute(select(_proxies)).all()
    return {r.feature: Proxy(r.feature, r.reason, r.source, r.created_at) for r in rows}
