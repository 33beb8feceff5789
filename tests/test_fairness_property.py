"""Properties of ``trustcart.fairness.audit`` on random small tables (hypothesis, DuckDB).

Random tables of 0–40 rows, written to Parquet with pyarrow (so NULL and NaN stay distinct, as
they are in real files): one or two group columns of several types (text, integers, floats with
NaN, booleans, an all-NULL column; NULL in any of them; names that clash with the engine's
own aggregate names), and a binary (0/1 integers, booleans, 0.0/1.0 floats, sometimes another
value) or continuous outcome with NULL and NaN. For every table:

* ``audit`` returns a result or raises a :class:`~trustcart.errors.TrustCartError` with a
  message — and raises exactly when it must (no rows, no usable row, a binary value other than
  0/1), never otherwise;
* row counts per group sum to the table's rows, usable counts to the rows whose outcome is
  neither NULL nor NaN, and ``excluded`` is the difference;
* groups are exactly the distinct keys (NULL and NaN kept as groups of their own), and a group
  is suppressed exactly when it has fewer usable rows than ``min_group_size``;
* selection rates (binary) and means and medians (continuous) equal an independent
  computation in plain Python / pandas over the same rows;
* the whole result is invariant to the order of the rows.
"""

from __future__ import annotations

import math
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from trustcart.errors import TrustCartError
from trustcart.fairness import audit

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Group column names: plain ones and ones equal to the engine's aggregate names.
NAMES = ("group", "count", "mean", "rows", "_tc_rows", "_tc_count", "positives")
NAN = float("nan")

GROUP_TYPES: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "text": (pa.string(), st.sampled_from(["a", "b", "c", "", "é", None])),
    "int": (pa.int64(), st.sampled_from([0, 1, -1, 7, None])),
    "float": (pa.float64(), st.sampled_from([0.5, 1.0, -2.25, NAN, None])),
    "bool": (pa.bool_(), st.sampled_from([True, False, None])),
    "null": (pa.null(), st.none()),  # a column with no value at all (Parquet type NULL)
}


def _outcome(kind: str, variant: str) -> tuple[pa.DataType, st.SearchStrategy[Any]]:
    if kind == "continuous":
        finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
        return pa.float64(), st.one_of(finite, finite, finite, st.just(NAN), st.none())
    if variant == "bool":
        return pa.bool_(), st.sampled_from([True, False, None])
    if variant == "int":
        return pa.int64(), st.sampled_from([0, 1, 1, 0, None])
    if variant == "float":
        return pa.float64(), st.sampled_from([0.0, 1.0, 1.0, NAN, None])
    return pa.float64(), st.sampled_from([0.0, 1.0, 0.5, 2.0, None])  # "bad": not 0/1


@st.composite
def tables(
    draw: st.DrawFn,
    kinds: tuple[str, ...] = ("binary", "continuous"),
    variants: tuple[str, ...] = ("bool", "int", "float", "bad"),
) -> dict[str, Any]:
    kind = draw(st.sampled_from(kinds))
    variant = draw(st.sampled_from(variants))
    n = draw(st.integers(0, 40))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True))
    columns: dict[str, tuple[pa.DataType, list[Any]]] = {}
    for name in names:
        dtype, values = GROUP_TYPES[draw(st.sampled_from(sorted(GROUP_TYPES)))]
        columns[name] = (dtype, draw(st.lists(values, min_size=n, max_size=n)))
    otype, ovalues = _outcome(kind, variant)
    columns["y"] = (otype, draw(st.lists(ovalues, min_size=n, max_size=n)))
    return {
        "kind": kind,
        "groups": names,
        "columns": columns,
        "n": n,
        "min_group_size": draw(st.sampled_from([0, 1, 2, 5])),
        "order": draw(st.permutations(range(n))),
    }


def _write(
    folder: Path, columns: dict[str, tuple[pa.DataType, list[Any]]], order: list[int] | None
) -> Path:
    arrays = {}
    for name, (dtype, values) in columns.items():
        vals = [values[i] for i in order] if order is not None else values
        arrays[name] = pa.array(vals, type=dtype, from_pandas=False)  # NaN stays NaN
    path = folder / "t.parquet"
    pq.write_table(pa.table(arrays), path)
    return path


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _key(v: Any) -> Any:
    """A group value as a comparable key: NaN equals NaN, NULL is its own group."""
    if v is None:
        return ("NULL",)
    if isinstance(v, float) and math.isnan(v):
        return ("NaN",)
    return (type(v).__name__ if isinstance(v, bool) else "v", v)


def _run(t: dict[str, Any], order: list[int] | None = None) -> Any:
    with tempfile.TemporaryDirectory(prefix="tc-audit-prop-") as folder:
        return audit(
            _write(Path(folder), t["columns"], order),
            t["groups"],
            "y",
            t["kind"],
            min_group_size=t["min_group_size"],
        )


def _expected_error(t: dict[str, Any]) -> str | None:
    ys = t["columns"]["y"][1]
    usable = [y for y in ys if not _missing(y)]
    if t["n"] == 0:
        return "empty"
    if not usable:
        return "no usable row"
    if t["kind"] == "binary" and any(float(y) not in (0.0, 1.0) for y in usable):
        return "not 0/1"
    return None


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _comparable(result: Any) -> dict[str, Any]:
    d = result.to_dict()
    for volatile in ("elapsed_seconds", "source"):
        d.pop(volatile)
    return d


@SETTINGS
@given(tables())
def test_audit_on_random_tables(t: dict[str, Any]) -> None:
    expected_error = _expected_error(t)
    if expected_error is not None:
        with pytest.raises(TrustCartError) as refused:  # and no other exception
            _run(t)
        assert str(refused.value).strip(), "an error must say what is wrong"
        event(f"refused: {expected_error}")
        return
    result = _run(t)  # a valid table: any exception fails the property
    event(f"audited {t['kind']}, {'some' if result.reported else 'no'} group reported")

    groups, ys = t["groups"], t["columns"]["y"][1]
    rows = [(tuple(_key(t["columns"][g][1][i]) for g in groups), ys[i]) for i in range(t["n"])]
    by_key: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for key, y in rows:
        by_key[key].append(y)

    # counts add up
    assert result.rows == t["n"] == sum(c.rows for c in result.groups)
    usable = sum(1 for _, y in rows if not _missing(y))
    assert sum(c.count for c in result.groups) == usable
    assert result.excluded == t["n"] - usable
    # groups are the distinct keys, NULL and NaN included
    cells = {tuple(_key(c.group[g]) for g in groups): c for c in result.groups}
    assert len(cells) == len(result.groups), "two cells for one group"
    assert set(cells) == set(by_key)
    floor = max(1, t["min_group_size"])
    for key, ys_g in by_key.items():
        cell, good = cells[key], [float(y) for y in ys_g if not _missing(y)]
        assert (cell.rows, cell.count) == (len(ys_g), len(good))
        assert cell.suppressed == (len(good) < floor)
        if cell.suppressed:
            assert cell.to_dict()["count"] is None
            continue
        if t["kind"] == "binary":
            assert cell.metrics["selection_rate"] == pytest.approx(sum(good) / len(good))
        else:
            s = pd.Series(good, dtype="float64")
            assert cell.metrics["mean"] == pytest.approx(s.mean(), rel=1e-9, abs=1e-6)
            assert cell.metrics["median"] == pytest.approx(s.median(), rel=1e-9, abs=1e-6)
    assert result.metrics["groups"] == len(by_key)
    assert result.metrics["groups_reported"] == sum(1 for c in cells.values() if not c.suppressed)

    # the order of the rows does not matter
    shuffled = _run(t, list(t["order"]))
    assert _close(_comparable(result), _comparable(shuffled))


@SETTINGS
@given(tables(kinds=("binary",), variants=("bool", "int", "float")))
def test_binary_selection_rates_match_pandas(t: dict[str, Any]) -> None:
    """The binary rates against pandas' own groupby, on the reported groups."""
    if _expected_error(t) is not None:
        return
    result = _run(t)
    keys = [f"g{i}" for i in range(len(t["groups"]))]
    frame = pd.DataFrame(
        {
            # repr of the comparable key: one text per group, NULL and NaN distinct
            **{
                k: [repr(_key(v)) for v in t["columns"][g][1]]
                for k, g in zip(keys, t["groups"], strict=True)
            },
            "y": pd.array(
                [None if _missing(y) else float(y) for y in t["columns"]["y"][1]], dtype="Float64"
            ),
        }
    )
    rates = frame.dropna(subset=["y"]).groupby(keys)["y"].mean().to_dict()
    for cell in result.reported:
        key = tuple(repr(_key(cell.group[g])) for g in t["groups"])
        expected = rates[key if len(key) > 1 else key[0]]
        assert cell.metrics["selection_rate"] == pytest.approx(float(expected))


def test_group_columns_named_like_the_engines_aggregates(tmp_path: Path) -> None:
    """Found by the property above: a group column called ``_tc_rows`` collided with the
    engine's own aggregate name (ibis RelationError). The prefix now avoids every group name."""
    columns = {
        "_tc_rows": (pa.string(), ["a", "a", "b", "b", "b"]),
        "__tc_count": (pa.int64(), [1, 1, 1, 2, 2]),
        "y": (pa.int64(), [1, 0, 1, 1, 0]),
    }
    result = audit(
        _write(tmp_path, columns, None), ["_tc_rows", "__tc_count"], "y", min_group_size=1
    )
    rates = {
        (c.group["_tc_rows"], c.group["__tc_count"]): c.metrics["selection_rate"]
        for c in result.groups
    }
    assert rates == {("a", 1): 0.5, ("b", 1): 1.0, ("b", 2): 0.5}


def test_continuous_quantiles_of_a_nan_group(tmp_path: Path) -> None:
    """Found by the property above: a float group column holding NaN got no histogram (two NaN
    objects are not equal dict keys), and the exact-quantile code indexed an empty array."""
    columns = {
        "g": (pa.float64(), [NAN, NAN, NAN, 1.5, 1.5, 1.5]),
        "y": (pa.float64(), [1.0, 2.0, 4.0, 3.0, 5.0, 9.0]),
    }
    result = audit(_write(tmp_path, columns, None), ["g"], "y", "continuous", min_group_size=1)
    medians = {_key(c.group["g"]): c.metrics["median"] for c in result.groups}
    assert medians == {("NaN",): 2.0, ("v", 1.5): 5.0}  # numpy.median of each group


def test_welch_test_with_underflowing_variances_takes_the_normal_limit() -> None:
    """Found by the property above: variances near 1e-160 square to 0.0, which divided the
    Welch–Satterthwaite degrees of freedom by zero."""
    from scipy.special import ndtr

    from trustcart.fairness import stats

    r = stats.welch_test(1e-160, 1e-160, 5, 0.0, 1e-160, 5)
    assert r is not None and r.p_value == pytest.approx(2 * ndtr(-abs(r.statistic)))
    assert r.ci is not None and r.ci[0] < r.difference < r.ci[1]
