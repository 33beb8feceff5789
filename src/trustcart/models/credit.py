"""Reference credit model for checkout financing: logistic regression of "repaid".

Why logistic regression: its log-odds are linear, so the attribution of each feature is exact
(``coef·(x − training mean)``) and the adverse-action reasons given to a declined shopper are
the factors that really lowered their score — not an approximation of a black box. It is the
offer model's arithmetic under another name and artefact type, so a credit version can never be
mistaken for (or served as) an offer model.

:func:`synthetic_credit_frame` makes a small, seeded training set with a fairness group column
(``age_band``, for audits only — never a feature) for the demo and the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trustcart.gateway.plugin import FeatureSpec
from trustcart.models.offer import LogisticOffer, train_offer

#: The features of :func:`synthetic_credit_frame`, in order.
CREDIT_COLUMNS = (
    "orders_last_year",
    "account_age_months",
    "late_payments",
    "returns_ratio",
    "open_financing",
)


class LogisticCredit(LogisticOffer):
    """A trained credit model: ``predict`` is the probability of repayment (a score in [0, 1]);
    ``explain`` gives exact log-odds attributions."""

    def __init__(
        self,
        coef: Sequence[float],
        intercept: float,
        baseline: Sequence[float],
        features: Sequence[FeatureSpec],
        *,
        name: str = "credit-logit",
        version: str,
        training_sha256: str | None = None,
    ) -> None:
        super().__init__(
            coef,
            intercept,
            baseline,
            features,
            name=name,
            version=version,
            training_sha256=training_sha256,
        )


def train_credit(
    df: pd.DataFrame,
    features: Sequence[FeatureSpec],
    *,
    target: str = "repaid",
    name: str = "credit-logit",
    version: str | None = None,
    C: float = 1.0,
) -> LogisticCredit:
    """Fit on a frame with one column per feature and a 0/1 ``target`` (1 = repaid)."""
    fitted = train_offer(df, features, target=target, name=name, version=version, C=C)
    return LogisticCredit(
        fitted.coef,
        fitted.intercept,
        fitted.baseline,
        fitted.features,
        name=name,
        version=fitted.version,
        training_sha256=fitted.training_sha256,
    )


def synthetic_credit_frame(n: int = 400, seed: int = 7) -> pd.DataFrame:
    """A seeded checkout-financing history: behaviour features, ``repaid`` (0/1), and an
    ``age_band`` group column for approval-rate audits (never a model feature: age is an
    ECOA / Reg B protected characteristic)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "orders_last_year": rng.integers(0, 15, n).astype(float),
            "account_age_months": rng.integers(1, 72, n).astype(float),
            "late_payments": rng.poisson(0.8, n).astype(float),
            "returns_ratio": rng.random(n).round(3),
            "open_financing": rng.integers(0, 4, n).astype(float),
            "age_band": rng.choice(["18-29", "30-49", "50+"], n),
        }
    )
    z = (
        0.15 * df["orders_last_year"]
        + 0.02 * df["account_age_months"]
        - 0.9 * df["late_payments"]
        - 1.2 * df["returns_ratio"]
        - 0.4 * df["open_financing"]
        + 0.3
    )
    df["repaid"] = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return df
