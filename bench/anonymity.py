"""k-anonymity check: TrustCart (DuckDB GROUP BY over Parquet) vs pandas groupby vs pycanon.

Usage: ``.venv/bin/python bench/anonymity.py [--rows 1000000 5000000] [--pycanon-rows 200000]``.
Prints one markdown table. pandas times include nothing but the groupby (the frame is already
in memory); TrustCart's include reading the Parquet file. pycanon runs on a subsample (its
equivalence classes are Python lists of row indices), and its ratio is scaled per row.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trustcart.privacy import measure

QIS = ["zip", "age", "sex", "birth_year"]


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "zip": rng.integers(10000, 11000, n).astype(str),
            "age": rng.integers(18, 90, n),
            "sex": rng.choice(["F", "M"], n),
            "birth_year": rng.integers(1930, 2008, n),
            "diag": rng.choice(["flu", "cold", "hiv", "none"], n),
        }
    )


def _best(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--pycanon-rows", type=int, default=200_000)
    args = parser.parse_args()
    try:
        from pycanon import anonymity as pycanon
    except ImportError:
        pycanon = None
    print("| rows | TrustCart (DuckDB, Parquet) s | pandas groupby s | pycanon s (rows) "
          "| pandas / TrustCart | pycanon per row / TrustCart per row | k |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            df = _frame(n)
            path = Path(tmp) / f"people_{n}.parquet"
            df.to_parquet(path)
            t_duck, report = _best(lambda p=path: measure(str(p), QIS))
            t_pd, k_pd = _best(lambda d=df: int(d.groupby(QIS).size().min()))
            assert report.k == k_pd, (report.k, k_pd)
            sub_n = min(n, args.pycanon_rows)
            if pycanon is not None:
                sub = df.iloc[:sub_n].reset_index(drop=True)
                t_pc, _ = _best(lambda s=sub: pycanon.k_anonymity(s, QIS), repeat=1)
                pc = f"{t_pc:.3f} ({sub_n:,})"
                ratio_pc = f"{(t_pc / sub_n) / (t_duck / n):.1f}×"
            else:
                pc, ratio_pc = "not installed", "-"
            print(
                f"| {n:,} | {t_duck:.3f} | {t_pd:.3f} | {pc} | {t_pd / t_duck:.2f}× "
                f"| {ratio_pc} | {report.k} |"
            )


if __name__ == "__main__":
    main()
