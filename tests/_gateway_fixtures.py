"""Shared set-up for the gateway tests: a workspace with the example data map, a notice, a
consent service, tiny trained models and a gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.consent import ConsentEventIn, ConsentService, datamap_notice, register_notice
from trustcart.gateway import FeatureSpec, Gateway
from trustcart.models import (
    LightGBMPricing,
    LogisticOffer,
    PopularityRecommender,
    train_offer,
    train_pricing,
)
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
PURCHASES = "user.behavior.purchase_history"

PRICE_FEATURES = [
    FeatureSpec("loyalty_tier", "dynamic_pricing", field="price_quotes.segment"),
    FeatureSpec("basket_size", "dynamic_pricing", (PURCHASES,), label="basket size"),
    FeatureSpec("stock_level", None, ("system.operations",), label="stock level"),
    FeatureSpec("gender", "dynamic_pricing", ("user.demographic.gender",)),
    FeatureSpec("postcode_band", "dynamic_pricing", ("user.contact.address.postal_code",)),
]
OFFER_FEATURES = [
    FeatureSpec("orders_last_year", "targeted_offers", (PURCHASES,), label="orders last year"),
    FeatureSpec("days_since_visit", "targeted_offers", ("user.behavior.browsing_history",)),
]


def training_frame(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "loyalty_tier": rng.integers(0, 4, n).astype(float),
            "basket_size": rng.integers(1, 10, n).astype(float),
            "stock_level": rng.random(n),
            "gender": rng.integers(0, 2, n).astype(float),
            "postcode_band": rng.integers(0, 5, n).astype(float),
            "orders_last_year": rng.integers(0, 12, n).astype(float),
            "days_since_visit": rng.integers(0, 60, n).astype(float),
        }
    )
    df["adjustment"] = (
        -0.02 * df["loyalty_tier"] - 0.004 * df["basket_size"] + 0.05 * (0.5 - df["stock_level"])
    )
    z = 0.3 * df["orders_last_year"] - 0.05 * df["days_since_visit"] - 0.5
    df["accepted"] = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return df


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return training_frame()


@pytest.fixture(scope="session")
def pricing_model(frame: pd.DataFrame) -> LightGBMPricing:
    return train_pricing(frame, PRICE_FEATURES, target="adjustment", rounds=30)


@pytest.fixture(scope="session")
def offer_model(frame: pd.DataFrame) -> LogisticOffer:
    return train_offer(frame, OFFER_FEATURES, target="accepted")


@pytest.fixture
def consent(workspace: Workspace) -> ConsentService:
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    svc = ConsentService(workspace, max_staleness=0)
    register_notice(workspace.store, **datamap_notice(svc.datamap))
    svc.reload()
    return svc


@pytest.fixture
def gateway(
    workspace: Workspace,
    consent: ConsentService,
    pricing_model: LightGBMPricing,
    offer_model: LogisticOffer,
) -> Iterator[Gateway]:
    gw = Gateway(workspace, consent=consent, max_staleness=0)
    gw.register("price", pricing_model)
    gw.register("offer", offer_model)
    gw.register_fallback("recommend", PopularityRecommender({"a": 5, "b": 9, "c": 1}))
    try:
        yield gw
    finally:
        gw.close()


def choose(
    svc: ConsentService, subject: str, purposes: list[str], decision: str, jurisdiction: str = "EU"
) -> None:
    svc.record(
        ConsentEventIn(
            subject=subject,
            purposes=purposes,
            decision=decision,
            mechanism="opt_in_checkbox" if decision == "granted" else "preference_center",
            jurisdiction=jurisdiction,
            notice_version=svc._notices[-1].version if decision == "granted" else None,
        )
    )
