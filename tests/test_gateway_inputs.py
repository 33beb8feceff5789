"""No model input can make the decisions API answer 500: extreme numbers go through stable
models, nonsense values are refused at the gateway with a 422 naming the feature."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from _gateway_fixtures import OFFER_FEATURES, choose
from trustcart.api.app import create_app
from trustcart.consent import ConsentService
from trustcart.errors import Conflict, ValidationError
from trustcart.gateway import FeatureSpec, Gateway, OfferGuardrail, check_value
from trustcart.governance import Role, create_key
from trustcart.models import CooccurrenceRecommender, LogisticOffer, sigmoid
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]


@pytest.fixture
def client(workspace: Workspace, consent: ConsentService, gateway: Gateway) -> Iterator[TestClient]:
    app = create_app(workspace)
    app.state.consent = consent
    app.state.gateway = gateway
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def service(workspace: Workspace) -> dict[str, str]:
    secret = create_key(workspace.store, role=Role.SERVICE, name="svc")[0]
    return {"Authorization": f"Bearer {secret}"}


# -- the reported bug ------------------------------------------------------------------------
def test_offer_with_extreme_input_is_answered_not_500(
    client: TestClient, consent: ConsentService, service: dict[str, str], gateway: Gateway
) -> None:
    """Regression: days_since_visit=31337 overflowed math.exp in LogisticOffer.predict (500)."""
    choose(consent, "c-1", ["targeted_offers"], "granted")
    body = {"subject": "c-1", "context": {"days_since_visit": 31337, "orders_last_year": 2}}
    r = client.post("/v1/decisions/offer", headers=service, json=body)
    assert r.status_code == 201, r.text
    d = r.json()
    # a long-absent visitor: log-odds far below zero, so no offer, score 0 to double precision
    assert d["output"]["offer"] is None and 0.0 <= d["output"]["score"] < 1e-300
    assert d["features_used"] == ["orders_last_year", "days_since_visit"]
    e = client.get(f"/v1/decisions/{d['id']}/explanation", headers=service).json()
    att = e["attribution"]
    assert math.isclose(att["bias"] + sum(att["contributions"].values()), att["output"])
    assert "days since visit 31337" in e["text"]


def test_sigmoid_is_stable_and_exact() -> None:
    for z in (-50.0, -3.0, -1e-9, 0.0, 0.5, 7.0, 36.0):
        assert math.isclose(sigmoid(z), 1.0 / (1.0 + math.exp(-z)), rel_tol=1e-15)
    assert sigmoid(-1e6) == 0.0 and sigmoid(1e6) == 1.0
    assert sigmoid(-745.0) > 0.0  # the smallest subnormal is reached, not skipped
    assert sigmoid(-math.inf) == 0.0 and sigmoid(math.inf) == 1.0


@given(z=st.floats(allow_nan=False))
def test_sigmoid_is_a_probability_and_symmetric(z: float) -> None:
    p = sigmoid(z)
    assert 0.0 <= p <= 1.0
    assert math.isclose(p + sigmoid(-z), 1.0, abs_tol=1e-15)


@given(
    orders=st.floats(min_value=-1e15, max_value=1e15),
    days=st.floats(min_value=-1e15, max_value=1e15),
)
def test_logistic_offer_never_raises_on_finite_inputs(
    offer_model: LogisticOffer, orders: float, days: float
) -> None:
    x = {"orders_last_year": orders, "days_since_visit": days}
    p = offer_model.predict(x)
    assert 0.0 <= p <= 1.0
    att = offer_model.explain(x)
    assert math.isclose(att.total(), offer_model.log_odds(x), rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(p, sigmoid(att.output))


RECOMMENDER = CooccurrenceRecommender.fit(
    [["a", "b"], ["a", "c"], ["b", "c"]],
    FeatureSpec("recent", "personalization", ("user.behavior.browsing_history",)),
)


# -- property: whatever a caller puts in the context, the answer is 201 or a 4xx -------------
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
offer_contexts = st.dictionaries(
    st.sampled_from([f.name for f in OFFER_FEATURES] + ["customer_group", "nope"]),
    json_values,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(context=offer_contexts, kind=st.sampled_from(["offer", "price", "recommend"]))
@example(context={"days_since_visit": 10**400}, kind="offer")
@example(context={"days_since_visit": -(10**19)}, kind="offer")
@example(context={"orders_last_year": 1e308, "days_since_visit": -1e308}, kind="offer")
@example(context={"days_since_visit": "31337"}, kind="offer")
@example(context={"days_since_visit": [1, 2]}, kind="offer")
@example(context={"days_since_visit": {"a": 1}}, kind="offer")
@example(context={"days_since_visit": True}, kind="offer")
def test_no_context_makes_a_500(
    client: TestClient,
    consent: ConsentService,
    gateway: Gateway,
    service: dict[str, str],
    context: dict[str, Any],
    kind: str,
) -> None:
    choose(consent, "c-p", ["targeted_offers", "dynamic_pricing", "personalization"], "granted")
    if kind != "offer":  # the same values under the other model's feature names
        names = {
            "price": {"orders_last_year": "basket_size", "days_since_visit": "loyalty_tier"},
            "recommend": {"orders_last_year": "recent"},
        }[kind]
        context = {names.get(k, k): v for k, v in context.items()}
        if kind == "recommend":
            gateway.register("recommend", RECOMMENDER)  # idempotent
    body = {"subject": "c-p", "context": context, "list_price": "19.99"}
    r = client.post(f"/v1/decisions/{kind}", headers=service, json=body)
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422:
        msg = r.json()["message"]
        assert "feature" in msg or "group" in msg, msg
        return
    d = r.json()
    if kind == "offer" and d["output"]["answered_by"] == "model":
        assert 0.0 <= d["output"]["score"] <= 1.0
    elif kind == "price":
        assert float(d["output"]["price"]) > 0 and d["output"]["currency"] == "EUR"
    elif kind == "recommend":
        assert set(d["output"]["items"]) <= {"a", "b", "c"}
    for name, value in d["inputs"].items():  # what reached the model is what was sent
        assert value == context[name]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ('{"subject":"s","context":{"days_since_visit":NaN}}', "finite number"),
        ('{"subject":"s","context":{"days_since_visit":Infinity}}', "finite number"),
        ('{"subject":"s","context":{"days_since_visit":1e400}}', "finite number"),
        ('{"subject":"s","context":{"days_since_visit":123456789012345678901234}}', "finite"),
        ('{"subject":"s","context":{"days_since_visit":"12"}}', "expects a number, got a str"),
        ('{"subject":"s","context":{"orders_last_year":[3]}}', "expects a number, got a list"),
        ('{"subject":"s","context":{"customer_group":{"x":1}}}', "unknown feature"),
    ],
)
def test_nonsense_numbers_are_422_naming_the_feature(
    client: TestClient, service: dict[str, str], raw: str, needle: str
) -> None:
    headers = {**service, "Content-Type": "application/json"}
    r = client.post("/v1/decisions/offer", headers=headers, content=raw)
    assert r.status_code == 422, r.text
    assert needle in r.json()["message"]


def test_price_bounds_and_group_values(
    workspace: Workspace, consent: ConsentService, gateway: Gateway, offer_model: LogisticOffer
) -> None:
    ctx = {"loyalty_tier": 1}
    with pytest.raises(ValidationError, match="at most"):
        gateway.decide("price", "c", ctx, None, "EU", list_price="1e400")
    with pytest.raises(ValidationError, match=r"at least 0\.01"):
        gateway.decide("price", "c", ctx, None, "EU", list_price="0.001")
    gw = Gateway(workspace, consent=consent, offer_guardrail=OfferGuardrail("customer_group"))
    try:
        gw.register("offer", offer_model)
        with pytest.raises(ValidationError, match=r"group 'customer_group'.*control"):
            gw.decide("offer", "c", {"customer_group": "a\x00b"})
        with pytest.raises(ValidationError, match=r"group 'customer_group'.*longer than 200"):
            gw.decide("offer", "c", {"customer_group": "x" * 201})
        with pytest.raises(ValidationError, match=r"group 'customer_group'.*string or an integer"):
            gw.decide("offer", "c", {"customer_group": 1.5})
        assert gw.decide("offer", "c", {"customer_group": 7}).group == "7"
    finally:
        gw.close()


def test_items_and_text_features() -> None:
    assert check_value("recent", "items", ["a", 7]) == ["a", "7"]
    with pytest.raises(ValidationError, match="expects a list of item ids, got a string"):
        check_value("recent", "items", "abc")
    with pytest.raises(ValidationError, match="must be a string or an integer, got a float"):
        check_value("recent", "items", ["a", 1.5])
    with pytest.raises(ValidationError, match="lone surrogate"):
        check_value("recent", "items", ["\ud800"])
    with pytest.raises(ValidationError, match="more than 1000 items"):
        check_value("recent", "items", ["a"] * 1001)
    assert check_value("city", "text", "Köln") == "Köln"
    with pytest.raises(ValidationError, match="expects a text value, got a int"):
        check_value("city", "text", 3)
    # the co-occurrence recommender declares its feature as a list, whatever it was given
    feature = FeatureSpec("recent", "personalization", ("user.behavior.browsing_history",))
    assert CooccurrenceRecommender.fit([["a", "b"]], feature).features[0].dtype == "items"


def test_recommend_with_a_string_for_items_is_422(
    workspace: Workspace, consent: ConsentService, gateway: Gateway
) -> None:
    feature = FeatureSpec("recent", "personalization", ("user.behavior.browsing_history",))
    gateway.register("recommend", CooccurrenceRecommender.fit([["a", "b"], ["a", "c"]], feature))
    choose(consent, "c-r", ["personalization"], "granted")
    with pytest.raises(ValidationError, match="'recent' expects a list of item ids"):
        gateway.decide("recommend", "c-r", {"recent": "a"}, None, "EU")
    d = gateway.decide("recommend", "c-r", {"recent": ["a"]}, None, "EU")
    assert d.output["items"][0] in {"b", "c"} and d.personalised


class _Broken:
    name, version = "broken", "1"
    features = OFFER_FEATURES

    def __init__(self, result: Any = None, exc: Exception | None = None) -> None:
        self.result, self.exc = result, exc

    def predict(self, features: Any, candidates: Any = None) -> Any:
        if self.exc is not None:
            raise self.exc
        return self.result


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        (_Broken(exc=ZeroDivisionError("secret value 42")), "failed on this request"),
        (_Broken(result=float("nan")), "non-finite offer score"),
        (_Broken(result="high"), "returned str"),
    ],
)
def test_a_failing_plugin_model_is_409_without_its_message(
    workspace: Workspace, consent: ConsentService, model: _Broken, needle: str
) -> None:
    gw = Gateway(workspace, consent=consent)
    try:
        gw.register("offer", model)
        choose(consent, "c-b", ["targeted_offers"], "granted")
        with pytest.raises(Conflict, match=needle) as info:
            gw.decide("offer", "c-b", {"orders_last_year": 1}, None, "EU")
        assert "secret value" not in info.value.message
    finally:
        gw.close()
