"""Demo steps: the StyleSense case — models learn a zip-code disparity, audits find it without
demographics, the proxy is blocked, the models are mitigated and the gap closes, at a cost.

The steps share one :class:`Story` (the state a step leaves for the next) and each is one
function, so a new step (monitoring, credit decisions, …) is one more function and one more
``with step(...)`` line in :func:`trustcart.demo.run_demo`:

1. :func:`train_step` — the pricing (LightGBM) and offer (logistic) models are trained on the
   order history through :func:`trustcart.models.train_model` (saved, registered);
2. :func:`serve_step` — a day of traffic (a price and an offer decision per visit) goes
   through :meth:`Gateway.decide_many`; every decision is logged; a few are explained;
3. :func:`audit_step` — the decision log is audited by zip band (group CIs), then by groups
   inferred from the zip band's SYNTHETIC demographic shares (the shop holds no ethnicity);
   which feature carries the gap is found by the same weighted audit of each feature's exact
   contribution (TreeSHAP) to today's prices: zip code is flagged as a proxy;
4. :func:`mitigate_step` — the proxy is blocked in the gateway, the offer training data are
   reweighed (Kamiran–Calders), a tighter price guardrail is applied; both models are
   retrained, the same traffic is served again and re-audited; the cost is stated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trustcart.demo.shop import GROUPS, LABEL, Shop
from trustcart.demo.stores import customer_id
from trustcart.workspace import Workspace

if TYPE_CHECKING:
    from trustcart.consent import ConsentService
    from trustcart.fairness import AuditResult, MitigationResult, Thresholds
    from trustcart.gateway import Gateway
    from trustcart.models import TrainedModel

Echo = Callable[[str], None]

#: Feature declarations (``NAME=REF``, see ``trustcart models train``) of the two models.
PRICE_FEATURES = (
    "loyalty_tier=price_quotes.segment",
    "basket_size=user.behavior.purchase_history",
    "stock_level=system.operations",
    "postcode=user.contact.address.postal_code",
)
OFFER_FEATURES = (
    "loyalty_tier=user.behavior.purchase_history",
    "orders_last_year=user.behavior.purchase_history",
    "days_since_last_order=user.behavior.purchase_history",
    "zip_voucher_rate=user.contact.address.postal_code",
)
PROXY = "postcode"  # the pricing model's zip-code feature (the offer model's: zip_voucher_rate)
GROUP_KEY = "zip_band"  # the gateway's fairness group: guardrails and audits only
#: The shop's own tolerances (business policy, not law): band mean prices within 3% of each
#: other; offer rates at least four fifths of the best band's (29 CFR 1607.4(D), a rule of
#: thumb borrowed from US employment law, not a legal test for offers).
PRICE_TOLERANCE = 0.97
OFFER_TOLERANCE = 0.8
#: The price guardrail applied as a mitigation: no personalised price more than this far from
#: the list price (the gateway's default is 10%).
MITIGATED_MAX_DEVIATION = 0.05
_BATCH = 2000
_PROGRESS_EVERY = 5.0


def _price_thresholds() -> Thresholds:
    from trustcart.fairness import Thresholds

    return Thresholds(mean_ratio=PRICE_TOLERANCE)


@dataclass
class Round:
    """One serving of the day's traffic and its audits."""

    label: str
    price_ids: list[str] = field(default_factory=list)
    offer_ids: list[str] = field(default_factory=list)
    revenue: Decimal = Decimal(0)
    offers: int = 0
    audits: dict[str, AuditResult] = field(default_factory=dict)
    audit_ids: dict[str, str] = field(default_factory=dict)
    explanation: str = ""


@dataclass
class StoryResult:
    """What the story found (read by the tests and the report)."""

    decisions: int = 0
    sessions: int = 0
    price_ratio_before: float = 0.0  # lowest / highest band mean of price / list price
    price_ratio_after: float = 0.0
    offer_ratio_before: float = 0.0  # lowest / highest band offer rate
    offer_ratio_after: float = 0.0
    weighted_price_ratio_before: float = 0.0  # by inferred (SYNTHETIC) group
    weighted_price_ratio_after: float = 0.0
    weighted_offer_ratio_before: float = 0.0
    weighted_offer_ratio_after: float = 0.0
    findings_before: int = 0
    findings_after: int = 0
    proxies: list[str] = field(default_factory=list)
    proxy_gaps: dict[str, float] = field(default_factory=dict)  # feature -> weighted ratio
    cost: dict[str, float] = field(default_factory=dict)
    cost_statement: str = ""
    within_tolerance: bool = False
    audit_ids: dict[str, str] = field(default_factory=dict)  # "before:price_by_band" -> id
    skipped: str = ""  # why the story did not run (a workspace where it ran already)


@dataclass
class Story:
    """State the steps hand on."""

    ws: Workspace
    shop: Shop
    reports: Path
    echo: Echo
    sessions: int
    seed: int
    result: StoryResult = field(default_factory=StoryResult)
    consent: ConsentService | None = None
    price: TrainedModel | None = None
    offer: TrainedModel | None = None
    price_after: TrainedModel | None = None
    offer_after: TrainedModel | None = None
    traffic: pd.DataFrame | None = None
    rounds: list[Round] = field(default_factory=list)
    reweighing: MitigationResult | None = None
    proxy_audits: dict[str, AuditResult] = field(default_factory=dict)
    proxy_audit_ids: dict[str, str] = field(default_factory=dict)
    accuracy: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def skipped(self) -> bool:
        """The story runs once per workspace: the proxy it blocks stays blocked."""
        return bool(self.result.skipped)


# -- step: train ---------------------------------------------------------------------------------


def train_step(story: Story) -> None:
    """Train and register the pricing and offer models on the order history."""
    from trustcart.consent import ConsentService
    from trustcart.gateway import list_proxies
    from trustcart.models import train_model

    ws, echo = story.ws, story.echo
    if PROXY in list_proxies(ws.store):
        story.result.skipped = (
            f"{PROXY!r} is already blocked in this workspace (an earlier run told the story); "
            "run `trustcart demo NEW_FOLDER` to see it again"
        )
        echo(f"    skipped: {story.result.skipped}")
        return
    story.consent = ConsentService(ws)
    hist = story.shop.history_file
    t = time.perf_counter()
    story.price = train_model(
        ws,
        "price",
        hist,
        target="adjustment",
        features=list(PRICE_FEATURES),
        purpose="dynamic_pricing",
        name="pricing",
        rounds=60,
        consent=story.consent,
    )
    echo(
        f"    pricing model {story.price.record.ref}: LightGBM on {story.price.rows:,} past "
        f"orders ({time.perf_counter() - t:.1f} s)"
    )
    t = time.perf_counter()
    story.offer = train_model(
        ws,
        "offer",
        hist,
        target="offered",
        features=list(OFFER_FEATURES),
        purpose="targeted_offers",
        name="offer-logit",
        consent=story.consent,
    )
    echo(
        f"    offer model {story.offer.record.ref}: logistic regression on "
        f"{story.offer.rows:,} past voucher decisions ({time.perf_counter() - t:.1f} s)"
    )
    story.accuracy["before"] = _accuracy(story.shop.holdout, story.price, story.offer)
    acc = story.accuracy["before"]
    echo(
        f"    on the newest 10% of orders (held out): price RMSE {acc['price_rmse']:.4f}, "
        f"offer AUC {acc['offer_auc']:.3f}"
    )
    gap = _band_gap(story.shop.history)
    echo(
        f"    what they learned from: past prices by zip band {gap['price']:.3f} (lowest / "
        f"highest mean price / list price), voucher rates {gap['offer']:.2f}"
    )


def _band_gap(df: pd.DataFrame) -> dict[str, float]:
    by = df.groupby(GROUP_KEY)
    price = (1 + by["adjustment"].mean()).to_numpy()
    offer = by["offered"].mean().to_numpy()
    return {"price": float(price.min() / price.max()), "offer": float(offer.min() / offer.max())}


def _accuracy(holdout: pd.DataFrame, price: TrainedModel, offer: TrainedModel) -> dict[str, float]:
    """Price RMSE and offer AUC / accuracy on held-out history — measured against the past
    (biased) decisions, so a fairer model may score lower: part of that "loss" is bias it no
    longer reproduces."""
    from sklearn.metrics import roc_auc_score

    pm: Any = price.model
    pred = pm.booster.predict(holdout[pm.names].to_numpy(float), num_threads=1)
    rmse = float(np.sqrt(np.mean((pred - holdout["adjustment"].to_numpy()) ** 2)))
    om: Any = offer.model
    z = om.intercept + holdout[om.names].to_numpy(float) @ np.array(om.coef)
    score = 1 / (1 + np.exp(-z))
    y = holdout["offered"].to_numpy()
    return {
        "price_rmse": rmse,
        "offer_auc": float(roc_auc_score(y, score)),
        "offer_accuracy": float(np.mean((score >= 0.5) == (y == 1))),
    }


# -- step: serve ---------------------------------------------------------------------------------


def _traffic(story: Story) -> pd.DataFrame:
    """The day's visits: who (a sample of customers), which product, basket and stock."""
    rng = np.random.default_rng(story.seed + 1)
    cust = story.shop.customers
    n = min(story.sessions, len(cust))
    pick = np.sort(rng.choice(len(cust), n, replace=False))
    c = cust.iloc[pick].reset_index(drop=True)
    products = story.shop.products
    p = rng.integers(0, len(products), n)
    return c.assign(
        subject=[customer_id(int(i)) for i in c["customer"]],
        list_price=products["list_price"].to_numpy()[p],
        basket_size=rng.integers(1, 8, n).astype(float),
        stock_level=products["stock_level"].to_numpy()[p],
    )


def _gateway(story: Story, *, mitigated: bool) -> Gateway:
    from trustcart.gateway import Gateway, OfferGuardrail, PriceGuardrails

    price = PriceGuardrails(group_key=GROUP_KEY)
    if mitigated:
        price = PriceGuardrails(group_key=GROUP_KEY, max_deviation=MITIGATED_MAX_DEVIATION)
    # the offer guardrail only names the group (for audits); at 0 it never overrides a decision,
    # so the audit measures the models themselves
    offer = OfferGuardrail(group_key=GROUP_KEY, min_rate_ratio=0.0)
    return Gateway(story.ws, consent=story.consent, price_guardrails=price, offer_guardrail=offer)


def serve_step(story: Story, *, mitigated: bool = False) -> None:
    """Serve the day's traffic: a price and an offer decision per visit, in batches."""
    from trustcart.gateway import DecisionRequest

    if story.skipped:
        story.echo("    skipped (see above)")
        return
    price, offer = (
        (story.price_after, story.offer_after) if mitigated else (story.price, story.offer)
    )
    assert price is not None
    assert offer is not None
    if story.traffic is None:
        story.traffic = _traffic(story)
    tr = story.traffic
    rnd = Round("after" if mitigated else "before")
    gw = _gateway(story, mitigated=mitigated)
    try:
        gw.register("price", price.model)
        gw.register("offer", offer.model)
        pnames = [f.name for f in price.model.features]
        onames = [f.name for f in offer.model.features]
        cols = tr[sorted({*pnames, *onames})].to_dict("list")
        subjects = tr["subject"].tolist()
        juris = tr["jurisdiction"].tolist()
        bands = tr[GROUP_KEY].tolist()
        prices = [f"{p:.2f}" for p in tr["list_price"]]
        n = len(tr)
        total = 2 * n
        started = last = time.perf_counter()
        done = 0
        for start in range(0, n, _BATCH // 2):
            reqs: list[DecisionRequest] = []
            for i in range(start, min(n, start + _BATCH // 2)):
                reqs.append(
                    DecisionRequest(
                        "price",
                        subjects[i],
                        {**{k: cols[k][i] for k in pnames}, GROUP_KEY: bands[i]},
                        jurisdiction=juris[i],
                        list_price=prices[i],
                    )
                )
                reqs.append(
                    DecisionRequest(
                        "offer",
                        subjects[i],
                        {**{k: cols[k][i] for k in onames}, GROUP_KEY: bands[i]},
                        jurisdiction=juris[i],
                    )
                )
            for d in gw.decide_many(reqs):
                if d.kind == "price":
                    rnd.price_ids.append(d.id)
                    rnd.revenue += Decimal(d.output["price"])
                else:
                    rnd.offer_ids.append(d.id)
                    rnd.offers += d.output["offer"] is not None
            done += len(reqs)
            now = time.perf_counter()
            if now - last > _PROGRESS_EVERY or done == total:
                last = now
                story.echo(
                    f"    … {done:,}/{total:,} decisions ({done / max(now - started, 1e-9):,.0f}/s)"
                )
        # explanations are computed on first request and cached with the decision
        first = gw.explanation(rnd.price_ids[0])
        rnd.explanation = str(first.get("text", ""))
        for did in rnd.price_ids[1:50] + rnd.offer_ids[:50]:
            gw.explanation(did)
    finally:
        gw.close()
    story.rounds.append(rnd)
    story.result.decisions += total
    story.result.sessions = n
    story.echo(
        f"    {n:,} visits → {n:,} prices (revenue if all bought: {rnd.revenue:,.2f}), "
        f"{rnd.offers:,} vouchers; 100 decisions explained (cached in the log)"
    )
    story.echo(f"    e.g. {subjects[0]}'s price: {rnd.explanation}")


# -- step: audit ---------------------------------------------------------------------------------


def _round_table(store: Any, kind: str, count: int) -> Any:
    """This round's decisions (the newest ``count``) that the model took: where consent did
    not allow personalisation the answer is the list price / no voucher for everyone alike,
    which says nothing about the model and only dilutes a gap."""
    from trustcart.fairness import open_decisions

    t = open_decisions(store, f"decisions:{kind}").table
    t = t.order_by(t.created_at.desc()).limit(count)
    return t.filter(t.personalised)


def _ratio(result: AuditResult, metric: str) -> float:
    """Lowest / highest group value. A rate estimated by the weighted audit's regression
    estimator can leave [0, 1] when data are few; it counts as 0 or 1 here."""
    values = [float(c.metrics[metric]) for c in result.reported]
    if metric == "selection_rate":
        values = [min(max(v, 0.0), 1.0) for v in values]
    return min(values) / max(values) if values and max(values) > 0 else 1.0


def _audit_round(story: Story, rnd: Round) -> int:
    """Audit one round's decisions: by zip band, and by SYNTHETIC group inferred from it."""
    from trustcart.fairness import audit, load_group_shares, weighted_audit
    from trustcart.fairness.store import save_audit

    ws = story.ws
    prices = _round_table(ws.store, "price", len(rnd.price_ids))
    offers = _round_table(ws.store, "offer", len(rnd.offer_ids))
    pth = _price_thresholds()
    shares = load_group_shares(story.shop.band_shares_csv)
    rnd.audits = {
        "price_by_band": audit(
            prices,
            ["fairness_group"],
            "price_ratio",
            "continuous",
            min_group_size=20,
            favourable="lower",
            thresholds=pth,
        ),
        "offer_by_band": audit(offers, ["fairness_group"], "offered", "binary", min_group_size=20),
        "price_by_inferred_group": weighted_audit(
            prices,
            "price_ratio",
            shares,
            "fairness_group",
            "continuous",
            min_group_size=20,
            favourable="lower",
            thresholds=pth,
        ),
        "offer_by_inferred_group": weighted_audit(
            offers, "offered", shares, "fairness_group", "binary", min_group_size=20
        ),
    }
    for name, r in rnd.audits.items():
        rnd.audit_ids[name] = save_audit(ws.store, r)
        story.result.audit_ids[f"{rnd.label}:{name}"] = rnd.audit_ids[name]
    a = rnd.audits
    echo = story.echo
    echo(f"    {rnd.label}: mean price / list price by zip band (95% CI):")
    for c in sorted(a["price_by_band"].reported, key=lambda c: -float(c.metrics["mean"])):
        lo, hi = c.metrics["mean_ci"]
        echo(
            f"      {c.group['fairness_group']:<10} {c.metrics['mean']:.3f} "
            f"[{lo:.3f}, {hi:.3f}]  n={c.count:,}"
        )
    pr, orr = _ratio(a["price_by_band"], "mean"), _ratio(a["offer_by_band"], "selection_rate")
    wp = _ratio(a["price_by_inferred_group"], "mean")
    wo = _ratio(a["offer_by_inferred_group"], "selection_rate")
    findings = sum(len(r.findings) for r in a.values())
    echo(
        f"    {rnd.label}: price ratio (lowest / highest band) {pr:.3f}, voucher-rate ratio "
        f"{orr:.2f}; by inferred group: price {wp:.3f}, vouchers {wo:.2f}; {findings} finding(s)"
    )
    for c in a["offer_by_inferred_group"].reported:
        lo, hi = c.metrics["selection_rate_ci"]
        echo(
            f"      voucher rate of {c.group['inferred_group']}: "
            f"{c.metrics['selection_rate']:.2f} [{lo:.2f}, {hi:.2f}]"
        )
    for r in a.values():
        for f in r.findings[:1]:
            echo(f"      {f.severity.upper()}: {f.message}")
    res = story.result
    if rnd.label == "before":
        res.price_ratio_before, res.offer_ratio_before = pr, orr
        res.weighted_price_ratio_before, res.weighted_offer_ratio_before = wp, wo
        res.findings_before = findings
    else:
        res.price_ratio_after, res.offer_ratio_after = pr, orr
        res.weighted_price_ratio_after, res.weighted_offer_ratio_after = wp, wo
        res.findings_after = findings
    return findings


def _proxy_scan(story: Story) -> list[str]:
    """Which features carry the gaps: each feature's exact contribution to today's decisions,
    audited by groups inferred from the zip code through the SYNTHETIC share table — no
    demographics held. Prices: TreeSHAP (contributions + bias = the model's adjustment), as a
    price multiplier 1 + φ. Vouchers: the logistic model's coef·(x − mean), as an odds
    multiplier exp(φ). A feature whose contribution differs by inferred group beyond the
    tolerance (significantly) is flagged as a proxy."""
    from trustcart.fairness import load_group_shares, weighted_audit
    from trustcart.fairness.store import save_audit

    assert story.price is not None
    assert story.offer is not None
    assert story.traffic is not None
    tr = story.traffic
    pm: Any = story.price.model
    om: Any = story.offer.model
    contrib = pm.booster.predict(tr[pm.names].to_numpy(float), pred_contrib=True, num_threads=1)
    frame = pd.DataFrame({"zip": tr["zip"].to_numpy()})
    specs: list[tuple[str, str, str]] = []  # (feature, column, favourable)
    for k, name in enumerate(pm.names):
        frame[f"price_{name}"] = 1.0 + contrib[:, k]
        specs.append((name, f"price_{name}", "lower"))
    x = tr[om.names].to_numpy(float)
    for k, name in enumerate(om.names):
        frame[f"offer_{name}"] = np.exp(om.coef[k] * (x[:, k] - om.baseline[k]))
        specs.append((name, f"offer_{name}", "higher"))
    path = story.ws.root / "shop-data" / "decision_contributions.parquet"
    frame.to_parquet(path, index=False)
    shares = load_group_shares(story.shop.shares_csv)
    flagged: list[str] = []
    for name, column, favourable in specs:
        r = weighted_audit(
            path,
            column,
            shares,
            "zip",
            "continuous",
            min_group_size=20,
            favourable=favourable,
            thresholds=_price_thresholds(),
        )
        story.proxy_audit_ids[name] = save_audit(story.ws.store, r)
        story.proxy_audits[column] = r
        story.result.proxy_gaps[column] = _ratio(r, "mean")
        if r.findings and name not in flagged:
            flagged.append(name)
    return flagged


def audit_step(story: Story) -> None:
    """Audit the day's decisions; find which feature stands in for the inferred groups."""
    if story.skipped:
        story.echo("    skipped (see above)")
        return
    echo = story.echo
    echo(f"    group shares: {LABEL}")
    _audit_round(story, story.rounds[-1])
    flagged = _proxy_scan(story)
    story.result.proxies = flagged
    gaps = ", ".join(f"{k} {v:.3f}" for k, v in story.result.proxy_gaps.items())
    echo(
        "    which feature carries it (weighted audit of each feature's contribution to "
        f"today's decisions, lowest / highest inferred group): {gaps}"
    )
    echo(
        f"    proxies: {', '.join(flagged) or 'none'}"
        + (" — zip-code features stand in for the inferred groups" if flagged else "")
    )


# -- step: mitigate --------------------------------------------------------------------------------


def mitigate_step(story: Story) -> None:
    """Block the proxy, reweigh, tighten the price guardrail; retrain, re-serve, re-audit."""
    from trustcart.fairness import reweigh
    from trustcart.fairness.store import save_audit
    from trustcart.gateway import register_proxy
    from trustcart.models import train_model

    if story.skipped:
        story.echo("    skipped (see above)")
        return
    ws, echo = story.ws, story.echo
    before = story.rounds[-1]
    for name in story.result.proxies:
        audit_id = story.proxy_audit_ids[name]
        register_proxy(
            ws.store,
            name,
            "its contribution to decisions differs by group inferred from zip codes through "
            "SYNTHETIC shares (weighted audit)",
            f"fairness audit {audit_id}",
        )
    echo(f"    blocked in the gateway: {', '.join(story.result.proxies) or 'nothing'}")
    weighted = story.shop.history_file.with_name("order_history_reweighed.parquet")
    story.reweighing = reweigh(story.shop.history_file, [GROUP_KEY], "offered", write=weighted)
    save_audit(ws.store, story.reweighing)
    rw = story.reweighing
    echo(
        "    reweighed the offer history by zip band (Kamiran–Calders): voucher-rate ratio "
        f"{rw.before['demographic_parity_ratio']:.2f} → {rw.after['demographic_parity_ratio']:.2f}"
        f"; effective sample {rw.tradeoff['effective_sample_share']:.0%}"
    )
    kept_price = [f for f in PRICE_FEATURES if f.partition("=")[0] not in story.result.proxies]
    kept_offer = [f for f in OFFER_FEATURES if f.partition("=")[0] not in story.result.proxies]
    story.price_after = train_model(
        ws,
        "price",
        story.shop.history_file,
        target="adjustment",
        features=kept_price,
        purpose="dynamic_pricing",
        name="pricing",
        rounds=60,
        consent=story.consent,
    )
    story.offer_after = train_model(
        ws,
        "offer",
        weighted,
        target="offered",
        features=kept_offer,
        purpose="targeted_offers",
        name="offer-logit",
        consent=story.consent,
        weight="weight",
    )
    echo(
        f"    retrained {story.price_after.record.ref} (without {PROXY}) and "
        f"{story.offer_after.record.ref} (without it, on the reweighed history)"
    )
    echo(
        f"    price guardrail: every personalised price within ±{MITIGATED_MAX_DEVIATION:.0%} "
        "of list price (was ±10%)"
    )
    serve_step(story, mitigated=True)
    after = story.rounds[-1]
    _audit_round(story, after)
    story.accuracy["after"] = _accuracy(story.shop.holdout, story.price_after, story.offer_after)
    _cost(story, before, after)
    res = story.result
    # within tolerance: no audit finds a gap that is both significant and beyond the shop's
    # tolerance, and the mean prices of every band and inferred group are within it
    res.within_tolerance = (
        res.findings_after == 0
        and min(res.price_ratio_after, res.weighted_price_ratio_after) >= PRICE_TOLERANCE
    )
    echo(
        "    within tolerance: "
        + ("yes" if res.within_tolerance else "NO")
        + f" (no significant gap beyond the shop's tolerance — mean prices ≥ {PRICE_TOLERANCE}"
        f" and voucher rates ≥ {OFFER_TOLERANCE} of the best group's)"
    )
    echo(f"    cost: {res.cost_statement}")


def _cost(story: Story, before: Round, after: Round) -> None:
    b, a = story.accuracy["before"], story.accuracy["after"]
    rev_b, rev_a = float(before.revenue), float(after.revenue)
    change = (rev_a / rev_b - 1) * 100 if rev_b else 0.0
    story.result.cost = {
        "revenue_before": rev_b,
        "revenue_after": rev_a,
        "revenue_change_percent": change,
        "vouchers_before": float(before.offers),
        "vouchers_after": float(after.offers),
        "price_rmse_before": b["price_rmse"],
        "price_rmse_after": a["price_rmse"],
        "offer_auc_before": b["offer_auc"],
        "offer_auc_after": a["offer_auc"],
        "offer_accuracy_before": b["offer_accuracy"],
        "offer_accuracy_after": a["offer_accuracy"],
    }
    story.result.cost_statement = (
        f"revenue of the day's quotes {rev_b:,.2f} → {rev_a:,.2f} ({change:+.2f}%, if every "
        f"quote were bought); vouchers {before.offers:,} → {after.offers:,}; price RMSE "
        f"{b['price_rmse']:.4f} → {a['price_rmse']:.4f}, offer AUC {b['offer_auc']:.3f} → "
        f"{a['offer_auc']:.3f} on held-out history (measured against past, biased decisions)"
    )


def ratios(results: Sequence[AuditResult], metric: str) -> list[float]:
    """Lowest / highest group ratio of each result (the report's before/after table)."""
    return [_ratio(r, metric) for r in results]


__all__ = [
    "GROUPS",
    "Round",
    "Story",
    "StoryResult",
    "audit_step",
    "mitigate_step",
    "ratios",
    "serve_step",
    "train_step",
]
