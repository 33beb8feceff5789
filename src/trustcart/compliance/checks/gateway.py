"""Gateway: registered models must not declare protected attributes or known proxies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trustcart.compliance.registry import CheckContext, Issue, check


def _categories(ctx: CheckContext, feature: dict[str, Any]) -> list[str]:
    cats = [str(c) for c in feature.get("categories") or []]
    ref = feature.get("field")
    if ref and "." in str(ref):
        ds_key, _, name = str(ref).partition(".")
        ds = ctx.datamap.dataset(ds_key)
        fld = ds.field(name) if ds else None
        if fld is not None:
            cats.extend(fld.data_categories)
    return list(dict.fromkeys(cats))


@check(
    "TC-GW-001",
    area="gateway",
    title="Model declares a protected attribute as a feature",
    severity="high",
    rule="Rule pack sensitive categories / gateway protected.yaml",
    fix="Remove the feature from the model, retrain without it, and register the new version; "
    "the gateway drops it at decision time, so the model is running without an input it was "
    "trained on.",
)
def model_protected_feature(ctx: CheckContext) -> Iterator[Issue]:
    """A registered model's feature carries a sensitive category of a served jurisdiction or a
    protected characteristic (rules-reference §7)."""
    if ctx.store is None:
        return
    from trustcart.gateway import list_models, protected_hit

    codes = ctx.served or sorted(ctx.rules.jurisdictions)
    for m in list_models(ctx.store):
        for feat in m.features:
            cats = _categories(ctx, feat)
            for code in codes:
                hit = protected_hit(ctx.jurisdiction(code), cats)
                if hit is None:
                    continue
                yield Issue(
                    f"model:{m.name}@{m.version}",
                    f"Model {m.name} version {m.version} uses feature '{feat.get('name')}' "
                    f"({hit.category}: {hit.label}).",
                    rule=hit.citation,
                    key=f"protected/{feat.get('name')}",
                )
                break


@check(
    "TC-GW-002",
    area="gateway",
    title="Model uses a registered proxy feature",
    severity="high",
    rule="TrustCart practice: a feature registered as a proxy for a protected attribute is not "
    "used by any model (see the proxy's recorded reason and source)",
    fix="Remove the proxy feature from the model, retrain and register a new version.",
)
def model_proxy_feature(ctx: CheckContext) -> Iterator[Issue]:
    """A registered model's feature list names a feature registered as a proxy."""
    if ctx.store is None:
        return
    from trustcart.gateway import list_models, list_proxies

    proxies = list_proxies(ctx.store)
    if not proxies:
        return
    latest: dict[str, Any] = {}
    for m in list_models(ctx.store):  # only the newest version of each model is served
        if m.name not in latest or m.created_at > latest[m.name].created_at:
            latest[m.name] = m
    for m in latest.values():
        for feat in m.features:
            name = str(feat.get("name"))
            proxy = proxies.get(name)
            if proxy is None:
                continue
            yield Issue(
                f"model:{m.name}@{m.version}",
                f"Model {m.name} version {m.version} uses feature '{name}', registered as a "
                f"proxy: {proxy.reason} (source: {proxy.source}).",
                key=f"proxy/{name}",
            )


def _blocked_counts(ctx: CheckContext) -> list[tuple[str, str, int]]:
    """``(kind, segment, decisions)`` blocked for a vulnerable segment, from the clear part of
    the decision log (one GROUP BY in the database)."""
    from sqlalchemy import cast, func, select
    from sqlalchemy.dialects import postgresql

    from trustcart.store.tables import DecisionRow, table_of

    assert ctx.store is not None
    rows = table_of(DecisionRow)
    if ctx.store.dialect == "postgresql":
        segment: Any = cast(rows.c.output, postgresql.JSON)["blocked"]["segment"].astext
    else:
        segment = func.json_extract(rows.c.output, "$.blocked.segment")
    q = (
        select(rows.c.kind, segment.label("segment"), func.count().label("n"))
        .where(segment.is_not(None))
        .group_by(rows.c.kind, segment)
        .order_by(rows.c.kind, segment)
    )
    with ctx.store.read() as conn:
        return [(str(r.kind), str(r.segment), int(r.n)) for r in conn.execute(q)]


@check(
    "TC-GW-003",
    area="gateway",
    title="Credit or high-pressure offers requested for a vulnerable segment",
    severity="medium",
    rule="EU AI Act Art. 5(1)(b)",
    fix="The gateway blocked these decisions; find why the shop asked for them (a campaign "
    "audience or checkout flow reaching minors or people in financial distress) and exclude "
    "the segment upstream: `trustcart audience audit POPULATION --group COL --vulnerable FLAG`.",
)
def vulnerable_segment_blocked(ctx: CheckContext) -> Iterator[Issue]:
    """Decisions the gateway blocked because the person is in a configured vulnerable segment
    (each is a request that should not have been made)."""
    if ctx.store is None:
        return
    for kind, segment, n in _blocked_counts(ctx):
        what = "credit decision(s)" if kind == "credit" else "high-pressure offer decision(s)"
        yield Issue(
            f"segment:{segment}",
            f"{n} {what} were requested for people in the vulnerable segment '{segment}' and "
            "blocked by the gateway.",
            key=f"{kind}/{segment}",
        )
