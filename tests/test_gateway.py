"""The decision gateway on SQLite and PostgreSQL: gating, fallbacks, guardrails, disclosure,
explanations and the decision log."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

import math
import threading
import uuid
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np
import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from _gateway_fixtures import OFFER_FEATURES, PRICE_FEATURES, choose, training_frame
from trustcart.consent import ConsentService
from trustcart.errors import Conflict, ValidationError
from trustcart.explain import linear_attributions
from trustcart.gateway import (
    DecisionRequest,
    FeatureSpec,
    Gateway,
    PriceGuardrails,
    list_models,
)
from trustcart.models import (
    CooccurrenceRecommender,
    LightGBMPricing,
    LogisticOffer,
    PopularityRecommender,
    train_pricing,
)
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]

CTX = {
    "loyalty_tier": 3,
    "basket_size": 6,
    "stock_level": 0.2,
    "gender": 1,
    "postcode_band": 2,
}


class Fixed:
    """A stub pricing model that proposes a fixed adjustment."""

    def __init__(self, adjustment: float, features: list[FeatureSpec] | None = None) -> None:
        self.name = "fixed"
        self.version = f"{adjustment}"
        self.features = features or PRICE_FEATURES[:3]
        self.adjustment = adjustment

    def predict(self, features: Any, candidates: Any = None) -> float:
        return self.adjustment


# -- consent gating (property-based) ---------------------------------------------------------
PURPOSE_FEATURES = {
    "personalization": FeatureSpec("pages", "personalization", ("user.behavior.browsing_history",)),
    "targeted_offers": FeatureSpec(
        "orders", "targeted_offers", ("user.behavior.purchase_history",)
    ),
    "dynamic_pricing": FeatureSpec("segment", "dynamic_pricing", field="price_quotes.segment"),
    "analytics": FeatureSpec("views", "analytics", ("user.behavior.browsing_history",)),
}


class Recorder:
    """An offer model that remembers which features it was given."""

    name = "recorder"
    version = "1"
    features: ClassVar[list[FeatureSpec]] = list(PURPOSE_FEATURES.values())

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def predict(self, features: Any, candidates: Any = None) -> float:
        self.seen = set(features)
        return 0.9


events = st.lists(
    st.tuples(
        st.sampled_from(sorted(PURPOSE_FEATURES)),
        st.sampled_from(["granted", "denied", "withdrawn"]),
    ),
    max_size=8,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=events)
def test_features_used_are_exactly_those_consent_allows(
    workspace: Workspace, consent: ConsentService, history: list[tuple[str, str]]
) -> None:
    gw = Gateway(workspace, consent=consent, max_staleness=3600)
    model = Recorder()
    gw.register("offer", model)
    subject = f"c-{uuid.uuid4().hex[:8]}"
    last: dict[str, str] = {}
    for purpose, decision in history:
        choose(consent, subject, [purpose], decision)
        last[purpose] = decision
    try:
        d = gw.decide("offer", subject, {f.name: 1.0 for f in Recorder.features}, None, "EU")
    finally:
        gw.close()
    allowed = {
        f.name for p, f in PURPOSE_FEATURES.items() if consent.may_use(subject, p, [], "EU").allowed
    }
    # EU: every one of these purposes rests on consent, so only a last "granted" allows it
    assert allowed == {PURPOSE_FEATURES[p].name for p, dec in last.items() if dec == "granted"}
    assert set(d.features_used) == allowed
    assert (model.seen == allowed) if allowed else d.fallback_reason
    dropped = {x.feature for x in d.features_dropped}
    assert dropped == set(PURPOSE_FEATURES[p].name for p in PURPOSE_FEATURES) - allowed
    for x in d.features_dropped:
        assert x.stage == "consent" and x.reason
        p = next(k for k, f in PURPOSE_FEATURES.items() if f.name == x.feature)
        if p in last:  # a withdrawal or refusal is cited by its ledger event
            assert x.evidence_event_ids
    assert set(d.inputs) == allowed


# -- protected attributes and proxies --------------------------------------------------------
def test_protected_attribute_is_always_dropped(gateway: Gateway, consent: ConsentService) -> None:
    choose(consent, "c-1", ["dynamic_pricing"], "granted")
    for j in ("EU", "US-CA", "BR"):
        d = gateway.decide("price", "c-1", CTX, jurisdiction=j, list_price="50.00")
        assert "gender" not in d.features_used and "gender" not in d.inputs
        [g] = [x for x in d.features_dropped if x.feature == "gender"]
        assert g.stage == "protected" and "2004/113/EC" in (g.citation or "")
    sensitive = FeatureSpec("religion", "dynamic_pricing", ("user.demographic.religious_belief",))
    gateway.register("price", Fixed(-0.05, [*PRICE_FEATURES[:3], sensitive]))
    ctx = {"loyalty_tier": 3, "religion": 1}
    d = gateway.decide("price", "c-1", ctx, jurisdiction="EU", list_price="50")
    [r] = [x for x in d.features_dropped if x.feature == "religion"]
    assert r.stage == "protected" and "GDPR Art. 9(1)" in (r.citation or "")


def test_registered_proxy_is_dropped(
    gateway: Gateway, consent: ConsentService, workspace: Workspace
) -> None:
    choose(consent, "c-2", ["dynamic_pricing"], "granted")
    d = gateway.decide("price", "c-2", CTX, jurisdiction="EU", list_price="50")
    assert "postcode_band" in d.features_used
    other = Gateway(workspace, consent=consent, max_staleness=0)  # a second process, say
    other.register("price", gateway._models[next(iter(gateway._models))].model)
    gateway.register_proxy("postcode_band", "predicts ethnicity (AUC 0.71)", "fairness audit fa_1")
    try:
        for gw in (gateway, other):
            d = gw.decide("price", "c-2", CTX, jurisdiction="EU", list_price="50")
            assert "postcode_band" not in d.features_used
            [p] = [x for x in d.features_dropped if x.feature == "postcode_band"]
            assert p.stage == "proxy" and "fa_1" in p.reason
    finally:
        other.close()
    actions = [e.payload["action"] for e in workspace.store.log("admin")]
    assert "gateway.proxy_registered" in actions


# -- fallbacks ---------------------------------------------------------------------------------
def test_no_consent_gives_list_price_with_reason(gateway: Gateway, consent: ConsentService) -> None:
    d = gateway.decide("price", "c-3", CTX, jurisdiction="EU", list_price="49.90")
    assert d.output["price"] == "49.90" and d.output["answered_by"] == "fallback:list_price"
    assert not d.personalised and d.fallback_reason
    assert "personalisation not allowed" in d.fallback_reason and "consent" in d.fallback_reason
    assert d.disclosures == []
    choose(consent, "c-3", ["dynamic_pricing"], "granted")
    choose(consent, "c-3", ["dynamic_pricing"], "withdrawn")
    d = gateway.decide("price", "c-3", CTX, jurisdiction="EU", list_price="49.90")
    assert d.fallback_reason and "withdrawn" in d.fallback_reason
    assert d.consent_evidence  # the withdrawal event is the evidence


def test_recommend_falls_back_to_popularity(gateway: Gateway, consent: ConsentService) -> None:
    feature = FeatureSpec("recent", "personalization", ("user.behavior.browsing_history",))
    baskets = [["a", "b"], ["a", "c"], ["a", "c"], ["b"], ["b"], ["b"]]
    gateway.register("recommend", CooccurrenceRecommender.fit(baskets, feature))
    d = gateway.decide("recommend", "c-4", {"recent": ["a"]}, ["a", "b", "c"], "EU")
    assert d.output["answered_by"] == "fallback:popularity" and d.output["items"] == ["b", "a", "c"]
    assert d.fallback_reason
    choose(consent, "c-4", ["personalization"], "granted")
    d = gateway.decide("recommend", "c-4", {"recent": ["a"]}, None, "EU", limit=2)
    assert d.output["answered_by"] == "model" and d.output["items"] == ["c", "b"]
    assert d.personalised and d.fallback_reason is None
    with pytest.raises(ValidationError, match="candidates"):
        gateway.decide("rank", "c-4", {}, None, "EU")


def test_offer_default_without_consent(gateway: Gateway, consent: ConsentService) -> None:
    d = gateway.decide("offer", "c-5", {"orders_last_year": 10, "days_since_visit": 1}, None, "EU")
    assert d.output == {"offer": None, "score": None, "answered_by": "fallback:default"}
    choose(consent, "c-5", ["targeted_offers"], "granted")
    d = gateway.decide("offer", "c-5", {"orders_last_year": 10, "days_since_visit": 1}, None, "EU")
    assert d.output["offer"] == "voucher" and d.output["score"] > 0.5


# -- guardrails and disclosure ------------------------------------------------------------------
def test_price_guardrails_clamp_and_say_so(workspace: Workspace, consent: ConsentService) -> None:
    choose(consent, "c-6", ["dynamic_pricing"], "granted")
    rails = PriceGuardrails(
        floor_ratio=0.8,
        ceiling_ratio=1.2,
        max_deviation=0.10,
        group_key="customer_group",
        group_bounds={"student": (0.9, 1.0)},
    )
    with Gateway(workspace, consent=consent, price_guardrails=rails) as gw:
        gw.register("price", Fixed(-0.5))
        d = gw.decide("price", "c-6", {"loyalty_tier": 1}, None, "EU", list_price="100")
        assert d.output["proposed_price"] == "50.00" and d.output["price"] == "90.00"
        assert [(a["guardrail"], a["before"], a["after"]) for a in d.guardrails] == [
            ("floor", "50.00", "80.00"),
            ("max_deviation", "80.00", "90.00"),
        ]
        gw.register("price", Fixed(0.08))
        d = gw.decide(
            "price",
            "c-6",
            {"loyalty_tier": 1, "customer_group": "student"},
            None,
            "EU",
            list_price="100",
        )
        assert d.output["price"] == "100.00" and "customer_group" not in d.inputs
        assert d.guardrails == [
            {
                "guardrail": "group_bounds",
                "before": "108.00",
                "after": "100.00",
                "reason": "above 1.0× list price (group student)",
            }
        ]
        assert d.disclosures == []  # ends at list price: nothing personalised to disclose
        gw.register("price", Fixed(0.03))
        d = gw.decide("price", "c-6", {"loyalty_tier": 1}, None, "EU", list_price="100")
        assert d.guardrails == [] and d.output["price"] == "103.00"


def test_eu_disclosure_for_personalised_price_only(
    gateway: Gateway, consent: ConsentService
) -> None:
    d = gateway.decide("price", "c-7", CTX, jurisdiction="DE", list_price="40")
    assert d.jurisdiction == "EU" and d.disclosures == []  # list price (fallback)
    choose(consent, "c-7", ["dynamic_pricing"], "granted")
    d = gateway.decide("price", "c-7", CTX, jurisdiction="DE", list_price="40")
    assert d.personalised and d.output["price"] != "40.00"
    [flag] = d.disclosures
    assert flag.code == "eu_personalised_price"
    assert "automated decision-making" in flag.text and "6(1)(ea)" in flag.citation
    choose(consent, "c-7", ["dynamic_pricing"], "granted", jurisdiction="US-CA")
    d = gateway.decide("price", "c-7", CTX, jurisdiction="US-CA", list_price="40")
    assert d.personalised and d.disclosures == []


# -- explanations -------------------------------------------------------------------------------
def test_linear_attributions_are_exact() -> None:
    att = linear_attributions(["a", "b"], [0.5, -2.0], 1.0, [3.0, 1.0], [1.0, 0.5])
    assert att.contributions == {"a": 1.0, "b": -1.0}
    assert math.isclose(att.total(), att.output) and att.output == 1.0 + 1.5 - 2.0


def test_model_attributions_sum_to_output(
    pricing_model: LightGBMPricing, offer_model: LogisticOffer
) -> None:
    frame = training_frame(20, seed=9)
    for _, row in frame.iterrows():
        x = {k: row[k] for k in pricing_model.names}
        att = pricing_model.explain(x)
        assert abs(att.total() - pricing_model.predict(x)) < 1e-6
        y = {k: row[k] for k in offer_model.names}
        att = offer_model.explain(y)
        assert math.isclose(att.total(), offer_model.log_odds(y), abs_tol=1e-12)
        assert math.isclose(1 / (1 + math.exp(-att.output)), offer_model.predict(y))
    missing = pricing_model.explain({"loyalty_tier": 3.0})  # dropped features arrive missing
    assert abs(missing.total() - pricing_model.predict({"loyalty_tier": 3.0})) < 1e-6


def test_explanation_is_lazy_and_cached(
    gateway: Gateway, consent: ConsentService, workspace: Workspace
) -> None:
    choose(consent, "c-8", ["dynamic_pricing"], "granted")
    d = gateway.decide("price", "c-8", CTX, jurisdiction="EU", list_price="80")
    with workspace.store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM decision_explanations")).scalar() == 0
    e = gateway.explanation(d.id)
    assert e["method"] == "tree-shap"
    assert (
        abs(
            sum(e["attribution"]["contributions"].values())
            + e["attribution"]["bias"]
            - d.output["model_adjustment"]
        )
        < 1e-6
    )
    assert e["text"].startswith("lower than list price mainly because: ")
    assert "loyalty tier 3" in e["text"] and "%" in e["text"]
    assert any("gender" in n for n in e["not_used"])
    with workspace.store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM decision_explanations")).scalar() == 1
    assert gateway.explanation(d.id) == e
    fb = gateway.decide("price", "c-9", CTX, jurisdiction="EU", list_price="80")
    assert gateway.explanation(fb.id)["text"].startswith("the list price: personalisation")


# -- decision log ---------------------------------------------------------------------------------
def test_log_verifies_and_detects_tampering(
    gateway: Gateway, consent: ConsentService, workspace: Workspace
) -> None:
    choose(consent, "c-10", ["dynamic_pricing"], "granted")
    ds = [gateway.decide("price", "c-10", CTX, None, "EU", list_price="30") for _ in range(3)]
    chain, copies = gateway.log.verify()
    assert chain.ok and chain.checked == 3 and copies.ok and copies.checked == 3
    got = gateway.get(ds[1].id)
    assert got["output"] == ds[1].output and got["subject"].startswith("s_")
    assert got["inputs"] == ds[1].inputs and got["erased"] is False
    assert "c-10" not in str(got)
    # the log entry itself holds the vault token and a sealed personal part, not the inputs
    raw = gateway.log.log.get(2).payload
    assert raw["subject"] == ds[1].subject and raw["sealed"].startswith("v1.")
    assert "inputs" not in raw and "consent_evidence" not in raw
    assert consent.pseudonyms.pseudonym("c-10") not in str(raw)
    with workspace.store.write() as conn:
        conn.execute(
            text("UPDATE decisions SET output = :o WHERE id = :i"),
            {"o": '{"price": "1.00"}', "i": ds[1].id},
        )
    chain, copies = gateway.log.verify()
    assert (
        chain.ok and not copies.ok and copies.first_bad == 2 and "output" in (copies.reason or "")
    )
    with workspace.store.write() as conn:
        conn.execute(
            text(
                "UPDATE log_entries SET payload = replace(payload, '30.00', '3.00') "
                "WHERE log = 'decisions' AND seq = 3"
            )
        )
    chain = gateway.log.log.verify()
    assert not chain.ok and chain.first_bad == 3 and "edited" in (chain.reason or "")


def test_subject_decisions_by_pseudonym(gateway: Gateway, consent: ConsentService) -> None:
    for s in ("c-11", "c-11", "c-12"):
        gateway.decide("price", s, {}, None, "EU", list_price="10")
    mine = gateway.for_subject("c-11")
    assert len(mine) == 2 and mine[0]["seq"] > mine[1]["seq"]
    assert {m["subject"] for m in mine} == {gateway.keys.token("c-11")}
    assert gateway.for_subject(consent.pseudonyms.pseudonym("c-11")) == mine  # pseudonym too
    assert gateway.for_subject("c-nobody") == []


def test_group_commit_batches_concurrent_decisions(
    gateway: Gateway, consent: ConsentService
) -> None:
    choose(consent, "c-13", ["dynamic_pricing"], "granted")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(15):
                gateway.decide("price", "c-13", CTX, None, "EU", list_price="20")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    chain, copies = gateway.log.verify()
    assert chain.ok and chain.checked == 90 and copies.ok
    assert gateway.log.batches <= 90
    many = gateway.decide_many(
        [DecisionRequest("price", f"c-{i}", {}, list_price="5") for i in range(5)]
    )
    assert [d.seq for d in many] == list(range(91, 96))


# -- errors and registry -----------------------------------------------------------------------
def test_clear_errors(gateway: Gateway) -> None:
    with pytest.raises(ValidationError, match=r"unknown decision kind 'buy'.*recommend"):
        gateway.decide("buy", "c", {})
    with pytest.raises(Conflict, match="no model registered for decision kind 'rank'"):
        gateway.decide("rank", "c", {}, ["a"])
    with pytest.raises(ValidationError, match="needs list_price"):
        gateway.decide("price", "c", {}, None, "EU")
    with pytest.raises(ValidationError, match=r"unknown feature.*'shoe_size'.*declares"):
        gateway.decide("price", "c", {"shoe_size": 42}, None, "EU", list_price="1")
    with pytest.raises(ValidationError, match="unknown jurisdiction"):
        gateway.decide("price", "c", {}, None, "Atlantis", list_price="1")
    with pytest.raises(ValidationError, match="no purpose but carries personal data"):
        gateway.register("price", Fixed(0.0, [FeatureSpec("email", None, ("user.contact.email",))]))
    with pytest.raises(ValidationError, match="not in the data map"):
        gateway.register("price", Fixed(0.0, [FeatureSpec("x", "dynamic_pricing", field="a.b")]))


def test_model_registry(gateway: Gateway, pricing_model: LightGBMPricing) -> None:
    rows = {(m.name, m.version): m for m in list_models(gateway.store)}
    rec = rows[(pricing_model.name, pricing_model.version)]
    assert rec.kind == "price" and rec.training_sha256 == pricing_model.training_sha256
    assert [f["name"] for f in rec.features] == [f.name for f in PRICE_FEATURES]
    other = train_pricing(
        training_frame(100, seed=3), PRICE_FEATURES, rounds=5, version=pricing_model.version
    )
    with pytest.raises(Conflict, match="new version"):
        gateway.register("price", other)


def test_reference_recommenders() -> None:
    pop = PopularityRecommender.fit([["a", "b"], ["b"], ["b", "c"], ["c"]])
    assert pop.predict({}) == ["b", "c", "a"] and pop.predict({}, ["a", "c"]) == ["c", "a"]
    feature = FeatureSpec("recent", "personalization", ("user.behavior.browsing_history",))
    cooc = CooccurrenceRecommender.fit([["a", "b"], ["a", "c"], ["a", "c"]], feature)
    assert cooc.predict({"recent": ["a"]}) == ["c", "b"]
    assert np.isfinite(train_pricing(training_frame(50), PRICE_FEATURES, rounds=3).predict({}))
    assert OFFER_FEATURES and Decimal("1")
