"""`trustcart consent …` as a user drives it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from trustcart.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
runner = CliRunner()


def test_consent_cli_round_trip(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert runner.invoke(app, ["init", ws]).exit_code == 0
    w = ["-w", ws]
    assert runner.invoke(app, [*w, "catalog", "load", str(EXAMPLE)]).exit_code == 0
    r = runner.invoke(app, [*w, "consent", "notice", "register", "--from-datamap"])
    assert r.exit_code == 0, r.stderr
    version = r.stdout.strip()
    assert len(version) == 64
    r = runner.invoke(app, [*w, "consent", "check", "alice", "personalization", "-j", "EU"])
    assert r.exit_code == 1 and "no consent recorded" in r.stdout
    r = runner.invoke(
        app,
        [
            *w,
            "consent",
            "record",
            "alice",
            "-p",
            "personalization",
            "--decision",
            "granted",
            "--mechanism",
            "opt_in_checkbox",
            "-j",
            "EU",
            "--notice",
            version[:16],
            "-f",
            "json",
        ],
    )
    assert r.exit_code == 0, r.stderr
    [event] = json.loads(r.stdout)["events"]
    assert event["valid"] is True
    r = runner.invoke(
        app,
        [
            *w,
            "consent",
            "check",
            "alice",
            "personalization",
            "-j",
            "EU",
            "-c",
            "user.behavior.purchase_history",
        ],
    )
    assert r.exit_code == 0 and "allowed" in r.stdout and event["id"] in r.stdout
    r = runner.invoke(app, [*w, "consent", "show", "alice", "-f", "json"])
    assert json.loads(r.stdout)["personalization"]["decision"] == "granted"
    out = tmp_path / "proof.html"
    r = runner.invoke(app, [*w, "consent", "proof", "alice", "-f", "html", "-o", str(out)])
    assert r.exit_code == 0 and version in out.read_text()
    r = runner.invoke(app, [*w, "consent", "stats", "-f", "json"])
    assert json.loads(r.stdout)[0]["granted"] == 1
    r = runner.invoke(
        app, [*w, "consent", "record", "bob", "-p", "nothing", "--decision", "denied"]
    )
    assert r.exit_code == 2 and "unknown purpose 'nothing'" in r.stderr
    r = runner.invoke(app, [*w, "consent", "link", "alice"])
    assert r.exit_code == 0 and "/privacy/preferences?token=" in r.stdout
    assert "alice" not in r.stdout
    r = runner.invoke(app, [*w, "ledger", "verify", "consent"])
    assert r.exit_code == 0


def test_ledger_verify_covers_the_consent_table(tmp_path: Path) -> None:
    from sqlalchemy import text

    from trustcart.workspace import Workspace

    ws = str(tmp_path / "ws")
    runner.invoke(app, ["init", ws])
    w = ["-w", ws]
    runner.invoke(app, [*w, "catalog", "load", str(EXAMPLE)])
    runner.invoke(
        app,
        [
            *w,
            "consent",
            "record",
            "bob",
            "-p",
            "personalization",
            "--decision",
            "denied",
            "-j",
            "EU",
        ],
    )
    r = runner.invoke(app, [*w, "ledger", "verify", "consent", "-f", "json"])
    assert r.exit_code == 0
    assert [row["log"] for row in json.loads(r.stdout)] == ["consent", "consent (table vs log)"]
    with Workspace.open(ws) as opened, opened.store.write() as conn:
        conn.execute(text("UPDATE consent_events SET decision = 'granted'"))
    r = runner.invoke(app, [*w, "ledger", "verify", "consent", "-f", "json"])
    assert r.exit_code == 1
    chain, table = json.loads(r.stdout)
    assert chain["ok"] is True  # the chain is intact; only the copy was edited
    assert table["ok"] is False and "decision differs" in table["reason"]
