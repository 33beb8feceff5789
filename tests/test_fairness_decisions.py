"""The workspace decision log as an audit source, on SQLite (via DuckDB) and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trustcart.cli import app
from trustcart.errors import ValidationError
from trustcart.fairness import audit, open_decisions
from trustcart.fairness.store import list_audits
from trustcart.gateway import DecisionLog
from trustcart.ids import new_id
from trustcart.workspace import Workspace


def _payloads(n: int = 600, seed: int = 9) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        j = str(rng.choice(["EU", "US-CA", "BR"]))
        kind = ("price", "offer", "recommend")[i % 3]
        if kind == "price":
            lp = round(float(rng.uniform(10, 100)), 2)
            up = 1.12 if j == "US-CA" else 1.0
            price = round(lp * up * float(rng.uniform(0.95, 1.05)), 2)
            output = {
                "list_price": str(lp),
                "price": str(price),
                "currency": "EUR",
                "proposed_price": str(price),
                "model_adjustment": price / lp - 1,
                "answered_by": "model",
            }
        elif kind == "offer":
            made = rng.random() < (0.2 if j == "BR" else 0.5)
            output = {
                "offer": "WELCOME10" if made else None,
                "score": float(rng.random()),
                "answered_by": "model",
            }
        else:
            output = {"items": ["sku-1", "sku-2"], "answered_by": "model"}
        out.append(
            {
                "id": new_id("dec_"),
                "subject": f"ps_{i % 50:04d}",
                "kind": kind,
                "model": f"{kind}-ref",
                "model_version": "1",
                "jurisdiction": j,
                "personalised": bool(i % 2),
                "group": f"band-{i % 4}" if kind == "price" else None,
                "output": output,
                "latency_us": 100,
            }
        )
    return out


@pytest.fixture
def logged(workspace: Workspace) -> tuple[Workspace, pd.DataFrame]:
    payloads = _payloads()
    log = DecisionLog(workspace.store, mode="sync")
    log.append_many(payloads)
    log.close()
    frame = pd.DataFrame(
        [
            {
                "kind": p["kind"],
                "jurisdiction": p["jurisdiction"],
                "band": p["group"],
                **p["output"],
            }
            for p in payloads
        ]
    )
    return workspace, frame


def test_price_and_offer_audits_of_the_log(logged: tuple[Workspace, pd.DataFrame]) -> None:
    ws, frame = logged
    src = open_decisions(ws.store, "decisions:price")
    assert "subject" not in src.table.columns  # no one is identifiable from the audit table
    assert src.fingerprint["log"] == "decisions" and src.fingerprint["last_seq"] == 600
    r = audit(src, ["jurisdiction"], "price_ratio", kind="continuous", favourable="lower")
    prices = frame[frame.kind == "price"]
    ratio = (prices.price.astype(float) / prices.list_price.astype(float)).groupby(
        prices.jurisdiction
    )
    by = {c.group["jurisdiction"]: c for c in r.groups}
    for j, m in ratio.mean().items():
        assert by[j].metrics["mean"] == pytest.approx(m, rel=1e-9)
        assert by[j].count == ratio.size()[j]
    assert r.rows == 200 and r.metrics["reference_group"] != {"jurisdiction": "US-CA"}

    offers = audit(open_decisions(ws.store, "decisions:offer"), ["jurisdiction"], "offered")
    made = frame[frame.kind == "offer"].assign(o=lambda d: d.offer.notna().astype(int))
    rates = made.groupby("jurisdiction").o.mean()
    for c in offers.groups:
        assert c.metrics["selection_rate"] == pytest.approx(rates[c.group["jurisdiction"]])
    assert offers.findings and offers.findings[0].group == {"jurisdiction": "BR"}

    everything = audit(open_decisions(ws.store), ["kind"], "personalised")
    assert everything.rows == 600 and {c.group["kind"] for c in everything.groups} == {
        "price",
        "offer",
        "recommend",
    }
    month = audit(open_decisions(ws.store), ["month"], "personalised").groups[0].group["month"]
    assert len(month) == 7 and month[4] == "-"


def test_cli_audits_decisions(logged: tuple[Workspace, pd.DataFrame]) -> None:
    ws, _ = logged
    r = CliRunner().invoke(
        app,
        [
            "-w",
            str(ws.root),
            "audit",
            "decisions:offer",
            "-g",
            "jurisdiction",
            "--outcome",
            "offered",
            "-f",
            "json",
        ],
    )
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["rows"] == 200 and doc["source"]["description"].startswith("workspace decision")
    stored = list_audits(ws.store)
    assert len(stored) == 1 and stored[0]["source_fingerprint"]["kind"] == "offer"


def test_decisions_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace: Workspace
) -> None:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["audit", "decisions", "-g", "kind", "--outcome", "offered"])
    assert r.exit_code == 2 and "not a workspace" in " ".join(r.stderr.split())  # wrapped
    with pytest.raises(ValidationError, match="unknown decision kind 'prize'"):
        open_decisions(workspace.store, "decisions:prize")
    with pytest.raises(ValidationError, match="empty"):  # a log with no decision yet
        audit(open_decisions(workspace.store), ["kind"], "offered")


def test_audit_by_the_gateway_fairness_group(logged: tuple[Workspace, pd.DataFrame]) -> None:
    """The group the gateway's guardrails used is logged in clear and audited like any column."""
    ws, frame = logged
    src = open_decisions(ws.store, "decisions:price")
    r = audit(src, ["fairness_group"], "price_ratio", "continuous", min_group_size=1)
    prices = frame[frame.kind == "price"]
    expected = (
        (prices.price.astype(float) / prices.list_price.astype(float)).groupby(prices.band).mean()
    )
    got = {c.group["fairness_group"]: c.metrics["mean"] for c in r.groups}
    assert set(got) == set(expected.index)
    for band, mean in expected.items():
        assert got[band] == pytest.approx(mean)
