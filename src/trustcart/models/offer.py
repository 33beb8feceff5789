"""Reference offer model: logistic regression of "the person takes the offer".

Linear in the log-odds, so its explanation is exact: ``coef·(x − mean)`` per feature. A
missing (dropped) feature is imputed with its training mean, i.e. contributes nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from trustcart.explain import Attribution, linear_attributions
from trustcart.gateway.plugin import FeatureSpec
from trustcart.models._data import check_columns, training_sha256


def sigmoid(z: float) -> float:
    """``1 / (1 + e^-z)`` without overflow: ``math.exp`` raises OverflowError beyond ~709, so
    the exponent is always ≤ 0 (for z < 0 the equal form ``e^z / (1 + e^z)``). Exact 0 and 1
    at the extremes; NaN stays NaN (the gateway refuses a non-finite score)."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class LogisticOffer:
    """A trained offer model implementing the gateway's ``ExplainableModel``."""

    def __init__(
        self,
        coef: Sequence[float],
        intercept: float,
        baseline: Sequence[float],
        features: Sequence[FeatureSpec],
        *,
        name: str = "offer-logit",
        version: str,
        training_sha256: str | None = None,
    ) -> None:
        self.coef = [float(c) for c in coef]
        self.intercept = float(intercept)
        self.baseline = [float(b) for b in baseline]
        self.features = list(features)
        self.names = [f.name for f in self.features]
        self.name = name
        self.version = version
        self.training_sha256 = training_sha256

    def _x(self, features: Mapping[str, Any]) -> list[float]:
        return [
            b if features.get(n) is None else float(features[n])
            for n, b in zip(self.names, self.baseline, strict=True)
        ]

    def log_odds(self, features: Mapping[str, Any]) -> float:
        """The linear score (what the attributions add up to)."""
        x = self._x(features)
        return self.intercept + math.fsum(c * v for c, v in zip(self.coef, x, strict=True))

    def predict(
        self, features: Mapping[str, Any], candidates: Sequence[str] | None = None
    ) -> float:
        """Probability that the person takes the offer."""
        return sigmoid(self.log_odds(features))

    def explain(self, features: Mapping[str, Any]) -> Attribution:
        """Exact attributions of the log-odds: ``coef·(x − training mean)``."""
        return linear_attributions(
            self.names,
            self.coef,
            self.intercept,
            self._x(features),
            self.baseline,
            unit="log_odds",
        )


def train_offer(
    df: pd.DataFrame,
    features: Sequence[FeatureSpec],
    *,
    target: str = "accepted",
    name: str = "offer-logit",
    version: str | None = None,
    C: float = 1.0,
    weight: str | None = None,
) -> LogisticOffer:
    """Fit on a frame with one column per feature and a 0/1 ``target`` column.

    ``weight`` names a column of sample weights (e.g. written by
    :func:`trustcart.fairness.reweigh`); the baseline of the explanations is then the
    weighted mean, the "average person" of the data the model learned from."""
    names = [f.name for f in features]
    check_columns(df, [*names, target, *([weight] if weight else [])])
    x = df[names].to_numpy(dtype=np.float64)
    y = df[target].to_numpy()
    w = df[weight].to_numpy(dtype=np.float64) if weight else None
    clf = LogisticRegression(C=C, max_iter=1000).fit(x, y, sample_weight=w)
    sha = training_sha256(df[[*names, target, *([weight] if weight else [])]])
    ver = version or hashlib.sha256(f"{sha}{C}".encode()).hexdigest()[:12]
    return LogisticOffer(
        clf.coef_[0],
        float(clf.intercept_[0]),
        np.average(x, axis=0, weights=w).tolist(),
        features,
        name=name,
        version=ver,
        training_sha256=sha,
    )
