"""Re-identification risk against a direct computation on the rows."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from trustcart.errors import ValidationError
from trustcart.privacy import reidentification_risk


def _frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"zip": rng.choice(["1", "2", "3", "4", "5", "6"], n), "age": rng.integers(20, 30, n)}
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prosecutor_risk_matches_direct_computation(seed: int) -> None:
    df = _frame(seed, 300)
    size = df.groupby(["zip", "age"])["zip"].transform("size")
    risk = 1.0 / size
    r = reidentification_risk(ibis.memtable(df), ["zip", "age"], threshold=0.2)
    assert r.prosecutor_max == pytest.approx(risk.max())
    assert r.prosecutor_avg == pytest.approx(risk.mean())
    assert r.records_at_risk == int((risk > 0.2).sum())
    assert r.classes == df.groupby(["zip", "age"]).ngroups
    # Without a population, journalist = prosecutor, and the report says so.
    assert (r.journalist_max, r.journalist_avg) == (r.prosecutor_max, r.prosecutor_avg)
    assert r.journalist_basis == "sample" and "no population" in r.note


def test_journalist_risk_with_population(tmp_path) -> None:
    population = _frame(9, 3000)
    population.loc[0, "age"] = None  # a NULL QI in the population: matched NULL-safely
    sample = population.sample(300, random_state=1).reset_index(drop=True)
    pop_path, sample_path = tmp_path / "pop.parquet", tmp_path / "sample.parquet"
    population.to_parquet(pop_path)
    sample.to_parquet(sample_path)
    r = reidentification_risk(str(sample_path), ["zip", "age"], population=str(pop_path))
    keys = ["zip", "age"]
    pop_size = population.groupby(keys, dropna=False).size().rename("F").reset_index()
    joined = sample.merge(pop_size, on=keys, how="left")
    risk = 1.0 / joined["F"]
    assert r.journalist_basis == "population"
    assert r.journalist_max == pytest.approx(risk.max())
    assert r.journalist_avg == pytest.approx(risk.mean())
    assert r.journalist_records_at_risk == int((risk > 0.2).sum())
    assert r.journalist_max <= r.prosecutor_max


def test_threshold_must_be_a_probability() -> None:
    with pytest.raises(ValidationError, match="probability"):
        reidentification_risk(ibis.memtable(_frame(0, 10)), ["zip"], threshold=2)
