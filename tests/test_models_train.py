"""Reference models trained on workspace data: registry (versions, data sha256, features,
clearing audit), JSON artefacts, refusals, serving from the registry, and the CLI — on SQLite
and PostgreSQL."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from typer.testing import CliRunner

from _gateway_fixtures import choose, training_frame
from trustcart.cli import app
from trustcart.consent import ConsentService
from trustcart.errors import Conflict, NotFound, ValidationError
from trustcart.fairness import audit
from trustcart.fairness.store import save_audit
from trustcart.gateway import Gateway, clearance, list_models, register_proxy
from trustcart.models import (
    CooccurrenceRecommender,
    LightGBMPricing,
    load_artefact,
    serve_registered,
    serving_plan,
    train_model,
)
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]

PRICE = [
    "loyalty_tier=price_quotes.segment",
    "basket_size=user.behavior.purchase_history",
    "stock_level=system.operations",
]
OFFER = [
    "orders_last_year=user.behavior.purchase_history",
    "days_since_visit=browsing_events.pages_viewed",
]


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    df = training_frame(400, seed=5)
    rng = np.random.default_rng(5)
    orders = [
        (o, f"i{int(i)}")
        for o in range(150)
        for i in rng.choice(12, size=int(rng.integers(1, 4)), replace=False)
    ]
    paths = {
        "quotes": tmp_path / "quotes.parquet",
        "offers": tmp_path / "offers.csv",
        "orders": tmp_path / "orders.parquet",
    }
    df.to_parquet(paths["quotes"], index=False)
    df.to_csv(paths["offers"], index=False)
    pd.DataFrame(orders, columns=["order_id", "item_id"]).to_parquet(paths["orders"], index=False)
    return paths


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_train_register_and_reload_each_kind(
    workspace: Workspace, consent: ConsentService, data: dict[str, Path]
) -> None:
    price = train_model(
        workspace,
        "price",
        data["quotes"],
        target="adjustment",
        features=PRICE,
        purpose="dynamic_pricing",
        rounds=20,
        consent=consent,
    )
    offer = train_model(
        workspace,
        "offer",
        data["offers"],
        target="accepted",
        features=OFFER,
        purpose="targeted_offers",
        consent=consent,
    )
    reco = train_model(
        workspace,
        "recommend",
        data["orders"],
        target="item_id",
        basket="order_id",
        purpose="personalization",
        consent=consent,
    )
    records = {r.ref: r for r in list_models(workspace.store)}
    assert set(records) == {price.record.ref, offer.record.ref, reco.record.ref}
    for trained, source in ((price, "quotes"), (offer, "offers"), (reco, "orders")):
        rec = records[trained.record.ref]
        # the training data snapshot is the file's own sha256, as an audit of it records
        assert rec.training_sha256 == _sha(data[source])
        assert rec.artefact == f"models/{rec.name}/{rec.version}.json"
        assert rec.artefact_sha256 == _sha(workspace.root / rec.artefact)
        assert rec.training is not None and rec.training["data"] == data[source].name
    assert [f["name"] for f in records[price.record.ref].features] == [
        "loyalty_tier",
        "basket_size",
        "stock_level",
    ]
    assert [f["purpose"] for f in records[price.record.ref].features] == [
        "dynamic_pricing",
        "dynamic_pricing",
        None,
    ]
    assert records[reco.record.ref].features[0]["dtype"] == "items"
    assert price.rows == 400 and offer.rows == 400

    # the artefact is the model: identical answers on rows it never saw
    rows = training_frame(50, seed=9).to_dict("records")
    for trained in (price, offer):
        loaded = load_artefact(workspace.root, trained.record)
        assert type(loaded) is type(trained.model)
        for row in rows:
            assert loaded.predict(row) == trained.model.predict(row)
    p_loaded = load_artefact(workspace.root, price.record)
    assert isinstance(p_loaded, LightGBMPricing) and p_loaded.training_sha256 == _sha(
        data["quotes"]
    )
    r_loaded = load_artefact(workspace.root, reco.record)
    assert isinstance(r_loaded, CooccurrenceRecommender)
    assert isinstance(reco.model, CooccurrenceRecommender)
    for recent in (["i1"], ["i3", "i7"], []):
        assert r_loaded.predict({"recent_items": recent}) == reco.model.predict(
            {"recent_items": recent}
        )
    # co-occurrence counts checked against pandas
    orders = pd.read_parquet(data["orders"])
    pairs = orders.merge(orders, on="order_id")
    pairs = pairs[pairs.item_id_x != pairs.item_id_y]
    expected = pairs.groupby(["item_id_x", "item_id_y"]).size()
    for (a, b), n in expected.items():
        assert r_loaded.cooc[a][b] == n
    assert r_loaded.popularity.counts == orders.groupby("item_id").order_id.nunique().to_dict()


def test_same_training_same_version_other_data_new_version(
    workspace: Workspace, consent: ConsentService, data: dict[str, Path], tmp_path: Path
) -> None:
    kw = {"target": "accepted", "features": OFFER, "purpose": "targeted_offers", "consent": consent}
    a = train_model(workspace, "offer", data["offers"], **kw)
    b = train_model(workspace, "offer", data["offers"], **kw)
    assert a.record.ref == b.record.ref and len(list_models(workspace.store)) == 1
    changed = tmp_path / "offers2.csv"
    training_frame(400, seed=6).to_csv(changed, index=False)
    c = train_model(workspace, "offer", changed, **kw)
    assert c.record.version != a.record.version
    assert len(list_models(workspace.store, kind="offer")) == 2


def test_clearing_audit_is_the_latest_audit_of_the_training_file(
    workspace: Workspace, consent: ConsentService, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    n = 1200
    df = training_frame(n, seed=3)
    fair = tmp_path / "fair.csv"
    df.to_csv(fair, index=False)
    # a planted disparity: women (gender 0) accept a third as often -> four-fifths finding
    biased = df.copy()
    biased["accepted"] = (rng.random(n) < np.where(df.gender == 0, 0.15, 0.45)).astype(int)
    unfair = tmp_path / "unfair.csv"
    biased.to_csv(unfair, index=False)
    kw = {"target": "accepted", "features": OFFER, "purpose": "targeted_offers", "consent": consent}
    m_fair = train_model(workspace, "offer", fair, **kw).record
    m_unfair = train_model(workspace, "offer", unfair, **kw).record
    assert clearance(workspace.store, m_fair).audit_id is None

    good = audit(str(fair), ["gender"], "accepted")
    assert not [f for f in good.findings if f.severity == "high"]
    good_id = save_audit(workspace.store, good)
    bad = audit(str(unfair), ["gender"], "accepted")
    assert [f for f in bad.findings if f.severity == "high"]
    bad_id = save_audit(workspace.store, bad)

    c = clearance(workspace.store, m_fair)
    assert c.cleared and c.cleared_by == good_id
    u = clearance(workspace.store, m_unfair)
    assert u.audit_id == bad_id and not u.cleared and u.cleared_by is None and u.high_findings
    plan = serving_plan(workspace)
    assert plan["offer"].record is not None and plan["offer"].record.ref == m_unfair.ref  # newest


def test_refusals_say_what_to_fix(
    workspace: Workspace, consent: ConsentService, data: dict[str, Path], tmp_path: Path
) -> None:
    q = data["quotes"]

    def price(**kw: object) -> None:
        args = {"target": "adjustment", "purpose": "dynamic_pricing", "consent": consent, **kw}
        train_model(workspace, "price", q, **args)  # type: ignore[arg-type]

    with pytest.raises(ValidationError, match=r"'gender' carries user\.demographic\.gender"):
        price(features=["gender=user.demographic.gender", *PRICE])
    with pytest.raises(ValidationError, match="no data-map field has that name"):
        price(features=["loyalty_tier"])
    with pytest.raises(ValidationError, match="give the purpose"):
        train_model(workspace, "price", q, target="adjustment", features=PRICE, consent=consent)
    with pytest.raises(ValidationError, match="does not list purpose 'dynamic_pricing'"):
        price(features=["days_since_visit=browsing_events.pages_viewed"])
    with pytest.raises(ValidationError, match=r"no column\(s\) 'basket'"):
        price(features=["basket=user.behavior.purchase_history"])
    with pytest.raises(ValidationError, match="unknown decision kind 'buy'"):
        train_model(workspace, "buy", q, target="adjustment", consent=consent)
    with pytest.raises(ValidationError, match="must be 0/1"):
        train_model(
            workspace,
            "offer",
            q,
            target="basket_size",
            features=OFFER[:1],
            purpose="targeted_offers",
            consent=consent,
        )
    with pytest.raises(ValidationError, match="give --basket"):
        train_model(workspace, "rank", data["orders"], target="item_id", consent=consent)
    text = tmp_path / "t.csv"
    pd.DataFrame({"tier": ["gold", "silver"] * 10, "adjustment": 0.0}).to_csv(text, index=False)
    with pytest.raises(ValidationError, match="'tier' is not numeric"):
        train_model(
            workspace,
            "price",
            text,
            target="adjustment",
            features=["tier=system.operations"],
            consent=consent,
        )
    few = tmp_path / "few.parquet"
    training_frame(5).to_parquet(few)
    with pytest.raises(ValidationError, match="at least 10"):
        train_model(
            workspace,
            "price",
            few,
            target="adjustment",
            features=PRICE,
            purpose="dynamic_pricing",
            consent=consent,
        )
    with pytest.raises(NotFound, match="no data file"):
        train_model(workspace, "price", tmp_path / "nope.csv", target="adjustment")
    with pytest.raises(ValidationError, match=r"parquet or \.csv"):
        (tmp_path / "x.json").write_text("{}")
        train_model(workspace, "price", tmp_path / "x.json", target="adjustment")
    register_proxy(workspace.store, "basket_size", "Cramér's V 0.4 with gender", "audit aud_x")
    with pytest.raises(ValidationError, match="'basket_size' is a registered proxy"):
        price(features=PRICE)
    assert list_models(workspace.store) == []


def test_serving_from_the_registry(
    workspace: Workspace, consent: ConsentService, data: dict[str, Path]
) -> None:
    offer = train_model(
        workspace,
        "offer",
        data["offers"],
        target="accepted",
        features=OFFER,
        purpose="targeted_offers",
        consent=consent,
    ).record
    reco = train_model(
        workspace,
        "rank",
        data["orders"],
        target="item_id",
        basket="order_id",
        purpose="personalization",
        consent=consent,
    ).record
    gw = Gateway(workspace, consent=consent)
    try:
        assert serve_registered(gw, workspace) == {"offer": offer.ref, "rank": reco.ref}
        choose(consent, "c-1", ["targeted_offers"], "granted")
        d = gw.decide("offer", "c-1", {"orders_last_year": 9, "days_since_visit": 1}, None, "EU")
        assert d.model_version == offer.version and d.output["answered_by"] == "model"
        # no consent for personalization: the popularity fallback from the same artefact
        r = gw.decide("rank", "c-1", {"recent_items": ["i1"]}, ["i1", "i2", "i3"], "EU")
        assert r.output["answered_by"] == "fallback:popularity" and not r.personalised
        with pytest.raises(Conflict, match=r"trustcart models train price --data FILE"):
            gw.decide("price", "c-1", {}, None, "EU", list_price="10")
    finally:
        gw.close()

    # a changed artefact is refused, and the kind says why
    (workspace.root / offer.artefact).write_text(
        (workspace.root / offer.artefact)
        .read_text()
        .replace('"intercept":', '"intercept": 1e3,"x":')
    )
    gw = Gateway(workspace, consent=consent)
    try:
        assert "offer" not in serve_registered(gw, workspace)
        with pytest.raises(Conflict, match="changed since it was registered"):
            gw.decide("offer", "c-1", {"orders_last_year": 9}, None, "EU")
    finally:
        gw.close()


def test_configured_versions_and_audit_requirement(
    workspace: Workspace, consent: ConsentService, data: dict[str, Path], tmp_path: Path
) -> None:
    kw = {"target": "accepted", "features": OFFER, "purpose": "targeted_offers", "consent": consent}
    first = train_model(workspace, "offer", data["offers"], **kw).record
    other = tmp_path / "o2.csv"
    training_frame(300, seed=9).to_csv(other, index=False)
    newest = train_model(workspace, "offer", other, **kw).record
    toml = workspace.root / "trustcart.toml"
    base = toml.read_text()

    def plan_with(extra: str) -> dict[str, object]:
        toml.write_text(base + extra)
        with Workspace.open(workspace.root) as ws:
            return dict(serving_plan(ws))

    assert plan_with("")["offer"].record.ref == newest.ref  # type: ignore[attr-defined]
    pinned = plan_with(f'serve_models = {{offer = "{first.ref}"}}\n')["offer"]
    assert pinned.record.ref == first.ref and pinned.pinned  # type: ignore[attr-defined]
    missing = plan_with('serve_models = {offer = "offer-logit@nope"}\n')["offer"]
    assert missing.record is None and "is not registered" in missing.reason  # type: ignore[attr-defined]
    strict = plan_with("serve_require_audit = true\n")["offer"]
    assert strict.record is None and "not audited" in strict.reason  # type: ignore[attr-defined]
    result = audit(str(other), ["gender"], "accepted")
    assert not result.findings  # this sample has no disparity
    save_audit(workspace.store, result)
    cleared = plan_with("serve_require_audit = true\n")["offer"]
    assert cleared.record.ref == newest.ref  # type: ignore[attr-defined]
    toml.write_text(base + 'serve_models = {shop = "x"}\n')
    with pytest.raises(Exception, match="'shop' is not a decision kind"):
        Workspace.open(workspace.root)
    toml.write_text(base)


def test_cli_train_and_list(
    workspace: Workspace, consent: ConsentService, data: dict[str, Path]
) -> None:
    runner = CliRunner()
    w = ["-w", str(workspace.root)]
    r = runner.invoke(
        app,
        [
            *w,
            "models",
            "train",
            "price",
            "--data",
            str(data["quotes"]),
            "--target",
            "adjustment",
            "--purpose",
            "dynamic_pricing",
            "--features",
            ",".join(PRICE[:2]),
            "--features",
            PRICE[2],
            "--rounds",
            "10",
        ],
    )
    assert r.exit_code == 0, r.stderr
    assert "registered pricing-lgbm@" in r.stdout and "trustcart audit" in r.stderr
    r = runner.invoke(app, [*w, "models", "list", "-f", "json"])
    assert r.exit_code == 0, r.stderr
    [row] = json.loads(r.stdout)
    assert row["kind"] == "price" and row["serving"] == "price" and row["audit"] is None
    assert row["training_sha256"] == _sha(data["quotes"])
    assert [f["name"] for f in row["features"]] == ["loyalty_tier", "basket_size", "stock_level"]
    r = runner.invoke(
        app,
        [
            *w,
            "models",
            "train",
            "price",
            "--data",
            str(data["quotes"]),
            "--target",
            "adjustment",
            "--features",
            "gender=user.demographic.gender",
            "--purpose",
            "dynamic_pricing",
        ],
    )
    err = " ".join(r.stderr.split())  # rich wraps long lines
    assert r.exit_code == 2 and "must not learn from it" in err and "Traceback" not in err
    r = runner.invoke(app, [*w, "models", "list"])
    assert r.exit_code == 0 and "pricing-lgbm@" in r.stdout and "not" in r.stdout
