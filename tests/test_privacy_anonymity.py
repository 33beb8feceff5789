"""k-anonymity, l-diversity and t-closeness, checked against the independent pycanon package.

Where the definitions differ, the test adapts the input or the comparison and says why:

* NULL quasi-identifiers: pycanon groups with ``pandas.groupby(dropna=True)``, so rows with a
  NULL QI silently vanish from its classes. TrustCart follows SQL GROUP BY (NULL is a value of
  its own). The test gives pycanon the same data with NULL replaced by a sentinel string, which
  is exactly the SQL semantics.
* NULL sensitive values: TrustCart ignores them (l counts non-NULL values; t compares non-NULL
  distributions); pycanon has no defined behaviour (np.unique on mixed None/str fails). Those
  cases are checked against a direct computation below instead.
* Entropy l: pycanon returns ``int(exp(min H))`` (floored); TrustCart returns the float.
"""

from __future__ import annotations

import math
from collections import Counter

import ibis
import numpy as np
import pandas as pd

# pycanon is the independent oracle; `make test` installs it (with --no-deps: its releases pin
# exact versions of typer, numpy, pandas that conflict with ours). Missing it is an error, not a
# skip, so CI can never pass without the comparison.
import pycanon.anonymity as pycanon
import pytest

from trustcart.errors import ValidationError
from trustcart.privacy import measure

SENTINEL = "<NULL>"


def _random_frame(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "zip": rng.choice(["75001", "75002", "69001", "13001"], n),
            "age": rng.integers(20, 24, n).astype(object),  # few values: many ties
            "sex": rng.choice(["F", "M"], n),
            "diag": rng.choice(
                ["flu", "hiv", "cancer", "cold", "none"], n, p=[0.4, 0.05, 0.1, 0.3, 0.15]
            ),
            "spend": rng.integers(0, 9, n),
        }
    )
    # NULLs in the quasi-identifiers (about 5 %), handled as their own value.
    df.loc[rng.random(n) < 0.05, "age"] = None
    df.loc[rng.random(n) < 0.05, "zip"] = None
    return df


def _for_pycanon(df: pd.DataFrame, qis: list[str]) -> pd.DataFrame:
    out = df.copy()
    for q in qis:
        out[q] = out[q].astype(object).where(out[q].notna(), SENTINEL).astype(str)
    return out.reset_index(drop=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("qis", [["zip"], ["zip", "sex"], ["zip", "age", "sex"]])
def test_k_l_t_agree_with_pycanon(seed: int, qis: list[str]) -> None:
    df = _random_frame(seed)
    ours = measure(ibis.memtable(df), qis, ["diag", "spend"])
    ref = _for_pycanon(df, qis)
    assert ours.k == pycanon.k_anonymity(ref, qis)
    by = {s.column: s for s in ours.sensitive}
    for col in ("diag", "spend"):
        assert by[col].l_distinct == pycanon.l_diversity(ref, qis, [col])
        # pycanon floors exp(H); allow for exp(log 2) = 1.9999999… on either side.
        assert math.floor(by[col].l_entropy + 1e-9) == pycanon.entropy_l_diversity(ref, qis, [col])
        # diag is a string (equal-distance EMD), spend an integer (ordered-distance EMD).
        assert by[col].t_closeness == pytest.approx(pycanon.t_closeness(ref, qis, [col]), abs=1e-9)
    assert by["diag"].kind == "categorical"
    assert by["spend"].kind == "numeric"
    # Several sensitive attributes: the weakest l and the largest t, as pycanon's gen=True.
    assert ours.l_distinct == pycanon.l_diversity(ref, qis, ["diag", "spend"])
    assert ours.t_closeness == pytest.approx(
        pycanon.t_closeness(ref, qis, ["diag", "spend"]), abs=1e-9
    )


def test_k_from_parquet_file_agrees(tmp_path) -> None:
    df = _random_frame(7, 1000)
    path = tmp_path / "data.parquet"
    df.assign(age=df["age"].astype("Int64")).to_parquet(path)
    ours = measure(str(path), ["zip", "age"])
    assert ours.k == pycanon.k_anonymity(_for_pycanon(df, ["zip", "age"]), ["zip", "age"])
    assert ours.rows == 1000
    assert sum(n * c for n, c in ours.class_sizes.items()) == 1000


def test_null_sensitive_values_are_ignored() -> None:
    # Direct computation: class A has {x, NULL, x} -> l = 1, class B has {NULL} -> l = 0.
    df = pd.DataFrame({"q": ["A", "A", "A", "B"], "s": ["x", None, "x", None]})
    report = measure(ibis.memtable(df), ["q"], ["s"])
    (s,) = report.sensitive
    assert (s.l_distinct, s.l_entropy) == (0, 0.0)
    df2 = pd.DataFrame({"q": ["A", "A", "A", "B", "B"], "s": ["x", None, "y", "x", None]})
    (s2,) = measure(ibis.memtable(df2), ["q"], ["s"]).sensitive
    assert s2.l_distinct == 1  # class B has only x
    # Overall non-NULL distribution p = (x 2/3, y 1/3); class B q = (x 1): EMD = ½(1/3 + 1/3).
    assert s2.t_closeness == pytest.approx(1 / 3)


def test_ordered_emd_matches_direct_formula() -> None:
    rng = np.random.default_rng(11)
    df = pd.DataFrame({"q": rng.integers(0, 6, 500), "v": rng.integers(0, 25, 500) * 3})
    (s,) = measure(ibis.memtable(df), ["q"], ["v"]).sensitive
    values = sorted(df["v"].unique())
    p = np.array([Counter(df["v"])[v] / len(df) for v in values])
    worst = 0.0
    for _, g in df.groupby("q"):
        c = Counter(g["v"])
        q = np.array([c[v] / len(g) for v in values])
        worst = max(worst, float(np.abs(np.cumsum(q - p)).sum() / (len(values) - 1)))
    assert s.t_closeness == pytest.approx(worst, abs=1e-12)


def test_unknown_column_names_available_ones() -> None:
    df = pd.DataFrame({"zip": ["1"], "age": [3]})
    with pytest.raises(
        ValidationError, match=r"unknown quasi-identifier column\(s\) 'zipcode'.*zip, age"
    ):
        measure(ibis.memtable(df), ["zipcode"])
