"""Why these items: recommend/rank explanations (exact co-purchase contributions, popularity,
given order), listed per person — on SQLite and PostgreSQL."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

from collections import Counter
from itertools import permutations
from pathlib import Path

import pandas as pd
import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from _gateway_fixtures import choose
from trustcart.api.app import create_app
from trustcart.consent import ConsentService
from trustcart.gateway import FeatureSpec, Gateway
from trustcart.governance import Role, create_key
from trustcart.models import CooccurrenceRecommender, serve_registered, train_model
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]

BASKETS = [["a", "b"], ["a", "c"], ["a", "c"], ["b", "c"], ["d"], ["d"], ["d"], ["e", "b"]]
RECENT = FeatureSpec("recent", "personalization", ("user.behavior.purchase_history",))


def _pairs(baskets: list[list[str]]) -> Counter[tuple[str, str]]:
    """Independent co-purchase count: ordered pairs of distinct items in one basket."""
    out: Counter[tuple[str, str]] = Counter()
    for b in baskets:
        out.update(permutations(set(b), 2))
    return out


@pytest.fixture
def reco(gateway: Gateway) -> CooccurrenceRecommender:
    model = CooccurrenceRecommender.fit(BASKETS, RECENT)
    gateway.register("recommend", model)
    gateway.register("rank", model)
    gateway.register_fallback("recommend", model.popularity)
    return model


def test_each_item_is_explained_by_its_exact_co_purchases(
    gateway: Gateway, consent: ConsentService, reco: CooccurrenceRecommender
) -> None:
    choose(consent, "c-1", ["personalization"], "granted")
    d = gateway.decide("recommend", "c-1", {"recent": ["a", "e"]}, None, "EU")
    assert d.personalised and d.output["items"][:2] == ["b", "c"]  # 2 each; b more popular
    e = gateway.explanation(d.id)
    assert e["method"] == "item-item"
    pairs = _pairs(BASKETS)
    popularity = Counter(i for b in BASKETS for i in set(b))
    assert [x["item"] for x in e["items"]] == d.output["items"]
    for x in e["items"]:
        expected = {r: pairs[(r, x["item"])] for r in ("a", "e") if pairs[(r, x["item"])]}
        assert x["contributions"] == expected
        assert x["score"] == sum(expected.values())
        assert x["popularity"] == popularity[x["item"]]
        assert x["basis"] == ("similar" if expected else "popular")
    keys = [(-x["score"], -x["popularity"], x["item"]) for x in e["items"]]
    assert keys == sorted(keys)  # the reasons reproduce the order shown
    assert e["text"].startswith("ordered by how often each item was bought together with your")
    assert "c: bought together with a (2 baskets)" in e["text"]
    assert "b: bought together with a (1 basket) and e (1 basket)" in e["text"]
    assert "d: popular with all customers (in 3 baskets)" in e["text"]


def test_without_consent_the_popularity_order_is_explained_as_such(
    gateway: Gateway, consent: ConsentService, reco: CooccurrenceRecommender
) -> None:
    choose(consent, "c-2", ["personalization"], "denied")
    d = gateway.decide("recommend", "c-2", {"recent": ["a"]}, None, "EU", limit=3)
    assert not d.personalised and d.output["answered_by"] == "fallback:popularity"
    e = gateway.explanation(d.id)
    assert e["method"] == "popularity" and all(x["basis"] == "popular" for x in e["items"])
    # the same list for everyone: by basket count (3 each here), ties by id
    assert [(x["item"], x["popularity"]) for x in e["items"]] == [("a", 3), ("b", 3), ("c", 3)]
    assert e["text"].startswith("not personalised (personalisation not allowed")
    assert "ordered by popularity with all customers (not by anything about you)" in e["text"]


def test_rank_given_order_and_candidate_guardrail(
    gateway: Gateway, consent: ConsentService, reco: CooccurrenceRecommender
) -> None:
    choose(consent, "c-3", ["personalization"], "granted")
    d = gateway.decide("rank", "c-3", {"recent": ["a"]}, ["d", "zz", "c"], "EU")
    assert d.output["items"] == ["c", "d", "zz"]
    e = gateway.explanation(d.id)
    assert [x["score"] for x in e["items"]] == [2.0, 0.0, 0.0]
    assert "zz: popular with all customers (in 0 baskets)" in e["text"]
    choose(consent, "c-4", ["personalization"], "withdrawn")
    g = gateway.decide("rank", "c-4", {"recent": ["a"]}, ["d", "c"], "EU")
    assert g.output == {"items": ["d", "c"], "answered_by": "fallback:given_order"}
    assert gateway.explanation(g.id)["method"] == "given-order"
    assert "in the order given: d: in the order given" in gateway.explanation(g.id)["text"]


@settings(max_examples=60, deadline=None)
@given(
    baskets=st.lists(
        st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=4), min_size=1, max_size=12
    ),
    recent=st.lists(st.sampled_from("abcdefgh"), max_size=4),
)
def test_item_reasons_reproduce_the_model_order(
    baskets: list[list[str]], recent: list[str]
) -> None:
    model = CooccurrenceRecommender.fit(baskets, RECENT)
    items = model.predict({"recent": recent})
    reasons = model.explain_items({"recent": recent}, items)
    pairs = _pairs(baskets)
    for r in reasons:
        assert r.total() == r.score == sum(pairs[(x, r.item)] for x in recent)
    keys = [(-r.score, -(r.popularity or 0), r.item) for r in reasons]
    assert keys == sorted(keys) and [r.rank for r in reasons] == list(range(1, len(items) + 1))


def test_explanations_listed_per_person_also_in_a_fresh_process(
    workspace: Workspace, consent: ConsentService, tmp_path: Path
) -> None:
    orders = pd.DataFrame(
        [(n, i) for n, b in enumerate(BASKETS) for i in b], columns=["order_id", "item"]
    )
    data = tmp_path / "orders.csv"
    orders.to_csv(data, index=False)
    train_model(
        workspace,
        "recommend",
        data,
        target="item",
        basket="order_id",
        consent=consent,
        features=["recent=user.behavior.purchase_history"],
        purpose="personalization",
    )
    choose(consent, "c-5", ["personalization"], "granted")
    with Gateway(workspace, consent=consent) as gw:
        serve_registered(gw, workspace)
        first = gw.decide("recommend", "c-5", {"recent": ["a"]}, None, "EU", limit=2)
        second = gw.decide("recommend", "c-5", {"recent": ["d"]}, None, "EU", limit=2)
    # a gateway that never loaded the model explains it from the workspace artefact
    with Gateway(workspace, consent=consent) as fresh:
        listed = fresh.explanations_for("c-5")
        assert [x["decision_id"] for x in listed] == [second.id, first.id]
        assert all(x["explanation"]["method"] == "item-item" for x in listed)
        assert "c: bought together with a (2 baskets)" in listed[1]["explanation"]["text"]
        fresh.shred_subject("c-5")
        assert fresh.explanations_for("c-5") == []


def test_explanations_route(
    workspace: Workspace, consent: ConsentService, gateway: Gateway, reco: CooccurrenceRecommender
) -> None:
    choose(consent, "c-6", ["personalization", "dynamic_pricing"], "granted")
    gateway.decide("recommend", "c-6", {"recent": ["b"]}, None, "EU", limit=2)
    gateway.decide("price", "c-6", {"loyalty_tier": 2}, None, "EU", list_price="10")
    app = create_app(workspace)
    app.state.consent, app.state.gateway = consent, gateway
    support = create_key(workspace.store, role=Role.SUPPORT, name="s")[0]
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/v1/subjects/c-6/explanations", headers={"Authorization": f"Bearer {support}"})
        assert r.status_code == 200, r.text
        kinds = [(x["kind"], x["explanation"]["method"]) for x in r.json()]
        assert kinds == [("price", "tree-shap"), ("recommend", "item-item")]
        assert c.get("/v1/subjects/c-6/explanations").status_code == 401
