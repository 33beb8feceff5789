"""Competition signals (price dispersion, information asymmetry) from the decision log, checked
against an independent pandas computation over the same rows, on SQLite (DuckDB) and
PostgreSQL, plus one small case computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from trustcart.cli import app as cli
from trustcart.errors import ValidationError
from trustcart.fairness import competition_signals, open_decisions
from trustcart.store.tables import DecisionRow, table_of
from trustcart.workspace import Workspace

_rows = table_of(DecisionRow)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _insert(ws: Workspace, rows: list[dict[str, object]]) -> None:
    values = []
    for i, r in enumerate(rows, start=1):
        output = {"list_price": str(r["list_price"]), "currency": r.get("currency", "EUR"),
                  "price": str(r["price"]), "answered_by": "model"}  # fmt: skip
        values.append(
            {
                "id": f"dec_{i:08d}",
                "seq": i,
                "subject": f"s_{i:032x}",
                "kind": r.get("kind", "price"),
                "model": "pricing",
                "model_version": "1",
                "jurisdiction": "EU",
                "personalised": r.get("personalised", True),
                "output": orjson.dumps(output).decode(),
                "group": r.get("group"),
                "latency_us": 100,
                "created_at": r["at"],
            }
        )
    with ws.store.write() as conn:
        conn.execute(_rows.insert(), values)


def test_hand_computed_cell(workspace: Workspace) -> None:
    # One product (list 100.00) on one day: prices 90, 100, 110, 110.
    # best 90; worse than best: 3 of 4; excess over best / list: 0, .1, .2, .2 -> mean .125;
    # spread (110-90)/100 = .2; mean 102.5, population std sqrt(((12.5²+2.5²+7.5²·2)/4)) = 8.29.
    # A second product seen once that day is not a cell (one price cannot be dispersed), and
    # an offer decision is not a price.
    prices = [("90.00", "north"), ("100.00", "south"), ("110.00", "south"), ("110.00", None)]
    rows = [
        {"list_price": "100.00", "price": p, "group": g, "at": T0 + timedelta(hours=i)}
        for i, (p, g) in enumerate(prices)
    ]
    rows.append({"list_price": "55.00", "price": "50.00", "at": T0})
    rows.append({"list_price": "100.00", "price": "1.00", "kind": "offer", "at": T0})
    _insert(workspace, rows)
    report = competition_signals(open_decisions(workspace.store, "decisions"))
    assert (report.decisions, report.cells) == (4, 1)
    assert report.share_worse == pytest.approx(0.75)
    assert report.mean_excess == pytest.approx(0.125)
    assert report.max_spread == pytest.approx(0.2)
    cell = report.top_cells[0]
    assert (cell.best_price, cell.worst_price, cell.worse_than_best) == (90.0, 110.0, 3)
    assert cell.cv == pytest.approx(np.std([90, 100, 110, 110]) / 102.5)
    groups = {g.group: (g.decisions, g.worse_than_best) for g in report.by_group}
    assert groups == {"north": (1, 0), "south": (2, 2), None: (1, 1)}
    # Per hour, every cell has a single price: nothing to compare.
    assert competition_signals(open_decisions(workspace.store), window="hour").cells == 0


def test_agrees_with_pandas_on_random_log(workspace: Workspace) -> None:
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(600):
        lp = Decimal(str(rng.choice([19.99, 49.9, 120.0])))
        adj = Decimal(str(round(float(rng.choice([-0.1, -0.05, 0, 0.05, 0.1])), 2)))
        rows.append(
            {
                "list_price": lp,
                "price": (lp * (1 + adj)).quantize(Decimal("0.01")),
                "currency": str(rng.choice(["EUR", "GBP"])),
                "group": str(rng.choice(["north", "south", "east"])),
                "personalised": bool(rng.random() < 0.8),
                "at": T0 + timedelta(hours=int(rng.integers(0, 24 * 10))),
            }
        )
    _insert(workspace, rows)
    report = competition_signals(open_decisions(workspace.store), window="week", top=1000)
    # Independent: pandas over the same rows.
    df = pd.DataFrame(rows)
    df["price"] = df["price"].astype(float)
    df["list_price"] = df["list_price"].astype(float)
    df["window"] = df["at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("W-SUN")
    keys = ["window", "currency", "list_price"]
    df["best"] = df.groupby(keys)["price"].transform("min")
    df["n"] = df.groupby(keys)["price"].transform("count")
    df = df[df["n"] >= 2]
    df["worse"] = df["price"] > df["best"] + 0.005
    df["excess"] = (df["price"] - df["best"]) / df["list_price"]
    cells = df.groupby(keys)["price"].agg(["min", "max", "count", "mean", "std"])
    assert report.decisions == len(df) and report.cells == len(cells)
    assert report.share_worse == pytest.approx(df["worse"].mean())
    assert report.mean_excess == pytest.approx(df["excess"].mean())
    spread = ((cells["max"] - cells["min"]) / cells.index.get_level_values("list_price")).max()
    assert report.max_spread == pytest.approx(spread)
    by_group = df.groupby("group").agg(n=("worse", "size"), w=("worse", "sum"))
    assert {g.group: (g.decisions, g.worse_than_best) for g in report.by_group} == {
        k: (int(v.n), int(v.w)) for k, v in by_group.iterrows()
    }
    # Every cell's detail matches too.
    mine = {(c.currency, c.list_price, c.decisions, c.worse_than_best) for c in report.top_cells}
    theirs = {
        (cur, lp, int(g["price"].count()), int(g["worse"].sum()))
        for (_, cur, lp), g in df.groupby(keys)
    }
    assert mine == theirs


def test_bad_parameters_and_cli(workspace: Workspace) -> None:
    _insert(
        workspace,
        [{"list_price": "10.00", "price": p, "at": T0} for p in ("9.00", "10.00", "11.00")],
    )
    src = open_decisions(workspace.store)
    with pytest.raises(ValidationError, match="window"):
        competition_signals(src, window="year")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at least 2"):
        competition_signals(src, min_decisions=1)
    res = CliRunner().invoke(cli, ["-w", str(workspace.root), "audit", "competition", "-f", "json"])
    assert res.exit_code == 0, res.output
    data = orjson.loads(res.stdout)
    assert data["share_worse"] == pytest.approx(2 / 3) and data["max_spread"] == pytest.approx(0.2)
