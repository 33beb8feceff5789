"""LightGBM's single-row C entry point (``trustcart.models._lgbm_row``) answers exactly what
``Booster.predict`` answers: random rows with missing values, a model with a recorded best
iteration, many threads at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import lightgbm as lgb
import numpy as np
import pytest

from trustcart.models._lgbm_row import FastRowPredictor, fast_row_predictor


def _data(seed: int, n: int = 600, ncol: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, ncol))
    y = x[:, 0] * 0.3 - np.sin(x[:, 1]) + 0.1 * x[:, 2] * x[:, 3] + rng.normal(0, 0.05, n)
    x[rng.random(size=x.shape) < 0.15] = np.nan  # missing values take the learnt default side
    return x, y


def _rows(seed: int, ncol: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.normal(0, 2, size=(300, ncol))
    rows[rng.random(size=rows.shape) < 0.2] = np.nan
    return rows


@pytest.mark.parametrize("objective", ["regression", "binary"])
def test_equals_booster_predict_on_random_rows_with_missing_values(objective: str) -> None:
    x, y = _data(1)
    label = (y > 0).astype(float) if objective == "binary" else y
    params = {"objective": objective, "verbose": -1, "num_leaves": 15, "seed": 3}
    booster = lgb.train(params, lgb.Dataset(x, label), num_boost_round=40)
    fast = fast_row_predictor(booster, 5)
    assert isinstance(fast, FastRowPredictor)
    rows = _rows(2)
    expected = booster.predict(rows, num_threads=1)
    got = np.array([fast.predict(list(r)) for r in rows])
    assert np.array_equal(got, expected)  # the library's own arithmetic: bit for bit
    if objective == "binary":
        assert ((got > 0) & (got < 1)).all()  # probabilities, not raw scores


def test_a_recorded_best_iteration_is_used_as_booster_predict_uses_it() -> None:
    x, y = _data(4)
    booster = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(x, y), 40)
    booster.best_iteration = 10  # what early stopping records when the booster keeps training
    fast = fast_row_predictor(booster, 5)
    assert fast is not None
    rows = _rows(5)
    got = np.array([fast.predict(list(r)) for r in rows])
    assert np.array_equal(got, booster.predict(rows, num_threads=1))
    all_trees = booster.predict(rows, num_iteration=-1, num_threads=1)
    assert not np.array_equal(got, all_trees)  # the difference is real, so the check bites


def test_threads_share_one_predictor_safely_and_bad_width_is_refused() -> None:
    x, y = _data(6)
    booster = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(x, y), 30)
    fast = fast_row_predictor(booster, 5)
    assert fast is not None
    rows = _rows(7)
    expected = booster.predict(rows, num_threads=1)
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda r: fast.predict(list(r)), list(rows) * 20))
    assert np.array_equal(np.array(got), np.tile(expected, 20))
    with pytest.raises(ValueError, match="expected 5 values, got 4"):
        fast.predict([1.0, 2.0, 3.0, 4.0])
