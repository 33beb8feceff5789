"""Fairness audit at scale: TrustCart (Ibis on DuckDB) vs fairlearn, pandas and raw DuckDB.

Generates N rows (default 10,000,000) with 5 groups, a binary outcome, a ground-truth label
and a continuous outcome into Parquet, then runs every method in its own fresh subprocess,
``--repeat R`` times (default 3), and prints the best and the spread (min–max) of:

- **work s**: wall time from after the method's imports to the result. Every row includes
  opening its engine on the file (a DuckDB connection for the floor and TrustCart, the
  Parquet read for pandas/fairlearn); TrustCart's also includes opening the source, the full
  sha256 of the file (in a background thread), validation, every query, the statistics,
  findings and the first-call warm-up of Ibis;
- **process s**: wall time of the whole subprocess — interpreter start, imports and work;
- **peak RSS** of that process (``ru_maxrss``), and RSS above the baseline (a process that only
  imports duckdb, pandas and ``trustcart.fairness``).

Methods:

- ``duckdb_floor``: one hand-written SQL GROUP BY of the binary sums (count, selected,
  label positives, true and false positives) over the file — the floor for binary + label;
- ``duckdb_floor_continuous``: one hand-written GROUP BY of the continuous per-group figures
  (count, mean, SD, exact ``quantile_cont`` at 0.1/0.25/0.5/0.75/0.9) — a floor for the
  continuous audit without its KS statistic;
- ``trustcart_binary`` (selection rate, TPR, FPR, Wilson CIs, z-tests, Holm, findings) and
  ``trustcart_continuous`` (mean, SD, five exact quantiles, Welch, KS);
- fairlearn ``MetricFrame`` (selection_rate, TPR, FPR by group) after ``pd.read_parquet``; at
  more than ``FAIRLEARN_MAX`` rows it runs on the first ``FAIRLEARN_MAX`` rows and the time is
  extrapolated linearly (marked); its memory is then that of the subsample;
- pandas: ``read_parquet`` + ``groupby`` of the same sums;
- with PySpark installed (``--no-spark`` skips them): the two TrustCart audits on Spark in
  local mode (``local[2]``), session start-up excluded and printed.

Targets (issue 5): ≥ 30× faster than MetricFrame, within 3× of the DuckDB floor, peak RSS
≤ 2× the Parquet size.

    .venv/bin/python bench/audit.py [N] [--repeat R] [--no-spark]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAIRLEARN_MAX = 1_000_000
GROUPS = ["g1", "g2", "g3", "g4", "g5"]


def generate(path: Path, n: int, seed: int = 42) -> None:
    """Write the synthetic decision log in 1M-row row groups (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    rates = np.array([0.50, 0.47, 0.45, 0.42, 0.36])
    writer = None
    try:
        for start in range(0, n, 1_000_000):
            m = min(1_000_000, n - start)
            g = rng.integers(0, 5, m)
            label = (rng.random(m) < 0.5).astype(np.int8)
            y = (rng.random(m) < rates[g] + 0.1 * label).astype(np.int8)
            score = rng.normal(50.0, 10.0, m) - 2.0 * g
            batch = pa.table(
                {
                    "group": pa.DictionaryArray.from_arrays(
                        pa.array(g.astype(np.int32)), pa.array(GROUPS)
                    ),
                    "y": y,
                    "label": label,
                    "score": score,
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema)
            writer.write_table(batch)
    finally:
        if writer is not None:
            writer.close()


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(method: str, path: str, n: int) -> dict[str, float | str]:
    """One measurement, in this (fresh) process."""
    note = ""
    if method == "baseline":
        import duckdb
        import pandas

        import trustcart.fairness

        del duckdb, pandas, trustcart
        t0 = time.perf_counter()
    elif method.startswith("trustcart"):
        from trustcart.fairness import audit

        t0 = time.perf_counter()
        if method == "trustcart_binary":
            audit(path, ["group"], "y", label="label")
        else:
            audit(path, ["group"], "score", kind="continuous")
    elif method.startswith("spark"):
        # Spark local mode (the `spark` extra): the session start-up (JVM, ~10-60 s) is
        # timed apart and left out, as a cluster's session would already be running.
        from trustcart.fairness import audit
        from trustcart.fairness.spark_source import open_spark, session

        s0 = time.perf_counter()
        spark = session("local[2]")
        note = f"session start-up {time.perf_counter() - s0:.1f} s not included; JVM RSS not"
        t0 = time.perf_counter()
        src = open_spark(spark, f"parquet:{path}")
        if method == "spark_binary":
            audit(src, ["group"], "y", label="label")
        else:
            audit(src, ["group"], "score", kind="continuous")
    elif method == "fairlearn":
        import warnings

        import pandas as pd
        from fairlearn.metrics import (
            MetricFrame,
            false_positive_rate,
            selection_rate,
            true_positive_rate,
        )

        t0 = time.perf_counter()
        df = pd.read_parquet(path, columns=["group", "y", "label"])
        if len(df) > FAIRLEARN_MAX:
            df = df.iloc[:FAIRLEARN_MAX]
            note = f"extrapolated ×{n / FAIRLEARN_MAX:g} from {FAIRLEARN_MAX:,} rows"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _ = MetricFrame(
                metrics={
                    "selection_rate": selection_rate,
                    "true_positive_rate": true_positive_rate,
                    "false_positive_rate": false_positive_rate,
                },
                y_true=df["label"],
                y_pred=df["y"],
                sensitive_features=df["group"],
            ).by_group
    elif method == "pandas":
        import pandas as pd

        t0 = time.perf_counter()
        df = pd.read_parquet(path, columns=["group", "y", "label"])
        df["tp"] = df["y"] & df["label"]
        df["fp"] = df["y"] & (1 - df["label"])
        agg = df.groupby("group", observed=True).agg(
            n=("y", "size"),
            pos=("y", "sum"),
            lp=("label", "sum"),
            tp=("tp", "sum"),
            fp=("fp", "sum"),
        )
        _ = (agg.pos / agg.n, agg.tp / agg.lp, agg.fp / (agg.n - agg.lp))
    elif method == "duckdb_floor":
        import duckdb

        t0 = time.perf_counter()
        duckdb.connect().sql(
            f"""SELECT "group", count(*), sum(y), sum(label), sum(y * label),
                       sum(y * (1 - label))
                FROM read_parquet('{path}') GROUP BY 1"""
        ).fetchall()
    elif method == "duckdb_floor_continuous":
        import duckdb

        t0 = time.perf_counter()
        duckdb.connect().sql(
            f"""SELECT "group", count(score), avg(score), stddev_samp(score),
                       quantile_cont(score, [0.1, 0.25, 0.5, 0.75, 0.9])
                FROM read_parquet('{path}') GROUP BY 1"""
        ).fetchall()
    else:
        raise SystemExit(f"unknown method {method}")
    elapsed = time.perf_counter() - t0
    if note.startswith("extrapolated"):
        elapsed *= n / FAIRLEARN_MAX
    return {"method": method, "seconds": elapsed, "peak_rss_mib": _peak_mib(), "note": note}


def measure(method: str, path: Path, n: int) -> dict[str, float | str]:
    """One fresh process; adds its whole wall time (start, imports, work, exit)."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--run", method, str(path), str(n)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    process = time.perf_counter() - t0
    result: dict[str, float | str] = json.loads(out.strip().splitlines()[-1])
    result["process"] = process
    return result


def _spread(xs: list[float], fmt: str = "{:.3f}") -> str:
    """Best, and the range when repeated."""
    best = fmt.format(min(xs))
    return best if len(xs) == 1 else f"{best} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--run":
        print(json.dumps(run(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return
    argv = sys.argv[1:]
    repeat = 3
    if "--repeat" in argv:
        k = argv.index("--repeat")
        repeat = int(argv[k + 1])
        del argv[k : k + 2]
    args = [a for a in argv if not a.startswith("--")]
    n = int(args[0]) if args else 10_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "decisions.parquet"
        t0 = time.perf_counter()
        generate(path, n)
        size_mib = path.stat().st_size / 2**20
        print(
            f"generated {n:,} rows ({size_mib:.1f} MiB Parquet) in "
            f"{time.perf_counter() - t0:.1f} s; {os.cpu_count()} CPUs; "
            f"load average {os.getloadavg()[0]:.2f}; {repeat} run(s) per method"
        )
        methods = [
            "baseline",
            "duckdb_floor",
            "duckdb_floor_continuous",
            "trustcart_binary",
            "trustcart_continuous",
            "pandas",
            "fairlearn",
        ]
        if "--no-spark" not in argv and _has_spark():
            methods += ["spark_binary", "spark_continuous"]
        runs: dict[str, list[dict[str, float | str]]] = {m: [] for m in methods}
        for _ in range(repeat):  # interleaved, so load changes hit every method alike
            for m in methods:
                if m == "fairlearn" and runs[m]:
                    continue  # minutes per run; once is enough for a ≥ 30× target
                runs[m].append(measure(m, path, n))
        print(f"load average at the end {os.getloadavg()[0]:.2f}")

    def best(m: str, key: str) -> float:
        return min(float(r[key]) for r in runs[m])

    base = best("baseline", "peak_rss_mib")
    floor, floor_c = best("duckdb_floor", "seconds"), best("duckdb_floor_continuous", "seconds")
    mf = best("fairlearn", "seconds")
    print()
    print(
        f"| method ({n:,} rows) | work s, best (range) | process s, best (range) | peak RSS MiB "
        "| RSS − baseline | vs DuckDB floor | vs continuous floor | MetricFrame ÷ this | note |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for m in methods[1:]:
        secs = [float(r["seconds"]) for r in runs[m]]
        procs = [float(r["process"]) for r in runs[m]]
        rss = max(float(r["peak_rss_mib"]) for r in runs[m])
        s = min(secs)
        print(
            f"| {m} | {_spread(secs)} | {_spread(procs, '{:.2f}')} | {rss:.0f} | {rss - base:.0f} "
            f"| {s / floor:.2f}× | {s / floor_c:.2f}× | {mf / s:.1f}× | {runs[m][0]['note']} |"
        )
    tb, tc = best("trustcart_binary", "seconds"), best("trustcart_continuous", "seconds")
    ours = [m for m in methods if m.startswith("trustcart")]
    peak = max(float(r["peak_rss_mib"]) for m in ours for r in runs[m])
    print()
    print(f"baseline RSS (python + imports, no work): {base:.0f} MiB; Parquet {size_mib:.1f} MiB")
    print("targets (best of the runs):")
    print(f"- ≥30× faster than MetricFrame (binary+label): {mf / tb:.1f}×")
    print(
        f"- within 3× of the DuckDB floor: binary+label {tb / floor:.2f}× "
        f"(process {best('trustcart_binary', 'process') / best('duckdb_floor', 'process'):.2f}×); "
        f"continuous {tc / floor:.2f}× the binary floor, {tc / floor_c:.2f}× the continuous floor"
    )
    print(
        f"- peak RSS ≤ 2× Parquet size: TrustCart peak {peak:.0f} MiB = "
        f"{peak / size_mib:.1f}× ({(peak - base) / size_mib:.1f}× above baseline)"
    )
    if "spark_binary" in runs:
        sb, sc = best("spark_binary", "seconds"), best("spark_continuous", "seconds")
        print(
            "Spark local[2] vs TrustCart on DuckDB, same file (no target; Spark is for data "
            f"that lives on a cluster): binary+label {sb / tb:.1f}× slower, "
            f"continuous {sc / tc:.1f}× slower"
        )


def _has_spark() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyspark") is not None


if __name__ == "__main__":
    main()
