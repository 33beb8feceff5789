"""Anchors: a head kept outside the database catches a fully rewritten chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from trustcart.cli import app
from trustcart.errors import ValidationError
from trustcart.store import Store, check_anchors, read_anchors, take_anchors, write_anchors
from trustcart.store.hashlog import link_hash
from trustcart.workspace import Workspace


def _rewrite_whole_chain(store: Store, log: str, edit_seq: int) -> None:
    """What an attacker with full write access does: edit a row, re-hash every later row and
    move the head, so plain verification passes again."""
    records = list(store.log(log).entries())
    prev = records[edit_seq - 2].hash if edit_seq > 1 else "0" * 64
    with store.write() as conn:
        for r in records[edit_seq - 1 :]:
            payload = (
                '{"i":-1}'
                if r.seq == edit_seq
                else json.dumps(r.payload, sort_keys=True, separators=(",", ":"))
            )
            h = link_hash(log, r.seq, r.created_at, prev, payload)
            conn.execute(
                text(
                    "UPDATE log_entries SET payload = :p, prev_hash = :ph, hash = :h "
                    "WHERE log = :l AND seq = :s"
                ),
                {"p": payload, "ph": prev, "h": h, "l": log, "s": r.seq},
            )
            prev = h
        conn.execute(text("UPDATE log_heads SET hash = :h WHERE log = :l"), {"h": prev, "l": log})


def test_rewritten_history_passes_plain_verify_but_not_the_anchor(
    store: Store, tmp_path: Path
) -> None:
    log = store.log("ev")
    for i in range(5):
        log.append({"i": i})
    path = tmp_path / "anchors.jsonl"
    assert write_anchors(path, take_anchors(store)) == 1
    for i in range(5, 8):
        log.append({"i": i})
    assert all(c.ok for c in check_anchors(store, read_anchors(path)))
    _rewrite_whole_chain(store, "ev", 3)
    assert log.verify().ok  # the attacker's rewrite is internally consistent
    checks = check_anchors(store, read_anchors(path))
    assert [c.ok for c in checks] == [False]
    assert "rewritten" in (checks[0].reason or "")
    # an edit after the anchored position is not something this anchor can see
    assert read_anchors(path)[0].seq == 5


def test_truncated_log_fails_its_anchor(store: Store, tmp_path: Path) -> None:
    log = store.log("ev")
    for i in range(4):
        log.append({"i": i})
    anchors = take_anchors(store)
    with store.write() as conn:
        conn.execute(text("DELETE FROM log_entries WHERE log = 'ev' AND seq >= 3"))
        conn.execute(
            text(
                "UPDATE log_heads SET seq = 2, hash = (SELECT hash FROM log_entries "
                "WHERE log = 'ev' AND seq = 2) WHERE log = 'ev'"
            )
        )
    assert store.log("ev").verify().ok
    [c] = check_anchors(store, anchors)
    assert not c.ok and "removed" in (c.reason or "")


def test_bad_anchor_file_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_text('{"log": "ev", "seq": 1, "hash": "' + "0" * 64 + '", "at": "x"}\nnot json\n')
    with pytest.raises(ValidationError, match=r"a\.jsonl:2"):
        read_anchors(p)


def test_cli_anchor_then_verify(workspace: Workspace) -> None:
    runner = CliRunner()
    ws = ["-w", str(workspace.root)]
    workspace.store.log("admin").append({"action": "x"})
    r = runner.invoke(app, [*ws, "ledger", "anchor"])
    assert r.exit_code == 0, r.output
    path = workspace.root / "anchors.jsonl"
    assert json.loads(path.read_text().splitlines()[0])["log"] == "admin"
    r = runner.invoke(app, [*ws, "ledger", "verify", "--anchors", str(path), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert any("anchor" in row["log"] and row["ok"] for row in json.loads(r.stdout))
    _rewrite_whole_chain(workspace.store, "admin", 1)
    r = runner.invoke(app, [*ws, "ledger", "verify", "--anchors", str(path), "--format", "json"])
    assert r.exit_code == 1
    bad = [row for row in json.loads(r.stdout) if not row["ok"]]
    assert len(bad) == 1 and "rewritten" in bad[0]["reason"]
