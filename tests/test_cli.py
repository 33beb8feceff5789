"""The CLI as a user drives it: exit codes, messages, formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from trustcart.cli import app
from trustcart.store import migrate
from trustcart.workspace import Workspace

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    code, _, err = run("init", str(tmp_path / "shop"))
    assert code == 0, err
    return tmp_path / "shop"


def test_init_then_db_current(ws_dir: Path) -> None:
    assert (ws_dir / "trustcart.toml").is_file() and (ws_dir / "trustcart.db").is_file()
    code, out, _ = run("-w", str(ws_dir), "db", "current")
    assert code == 0 and "up to date" in out
    code, out, _ = run("-w", str(ws_dir), "db", "upgrade")
    with Workspace.open(ws_dir) as ws:
        head = migrate.head_revision(ws.store.engine)
    assert code == 0 and f"revision {head} (was {head})" in out


def test_missing_workspace_exits_2_with_advice(tmp_path: Path) -> None:
    code, out, err = run("-w", str(tmp_path / "none"), "ledger", "list")
    assert code == 2
    assert "trustcart init" in err and "Traceback" not in out + err


def test_workspace_from_environment(ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTCART_WORKSPACE", str(ws_dir))
    code, _out, _ = run("keys", "create", "--role", "analyst", "--name", "nb")
    assert code == 0


def test_bad_setting_in_env_exits_2(ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTCART_DATABASE_URL", "oracle://x")
    code, _, err = run("-w", str(ws_dir), "ledger", "list")
    assert code == 2 and "database_url" in err


def test_keys_lifecycle_and_ledger(ws_dir: Path) -> None:
    w = ("-w", str(ws_dir))
    code, out, _ = run(*w, "keys", "create", "--role", "dpo", "--name", "alice")
    assert code == 0 and out.strip().startswith("tc_")
    code, out, _ = run(*w, "keys", "list", "--format", "json")
    keys = json.loads(out)
    assert [k["name"] for k in keys] == ["alice"] and keys[0]["revoked_at"] is None
    code, _, err = run(*w, "keys", "create", "--role", "king")
    assert code == 2 and "dpo" in err  # lists valid roles
    code, _, _ = run(*w, "keys", "revoke", keys[0]["id"])
    assert code == 0
    code, _, err = run(*w, "keys", "revoke", keys[0]["id"])
    assert code == 2 and "no active API key" in err
    code, out, _ = run(*w, "ledger", "verify", "--format", "json")
    [result] = json.loads(out)
    assert code == 0 and result["ok"] and result["checked"] == 2


def test_ledger_verify_exits_1_on_tampering(ws_dir: Path) -> None:
    w = ("-w", str(ws_dir))
    run(*w, "keys", "create", "--role", "dpo")
    run(*w, "keys", "create", "--role", "analyst")
    with Workspace.open(ws_dir) as ws, ws.store.write() as conn:
        conn.execute(text("UPDATE log_entries SET payload = '{}' WHERE seq = 2"))
    code, out, _ = run(*w, "ledger", "verify", "admin")
    assert code == 1 and "NO" in out and "edited" in out
    code, _, err = run(*w, "ledger", "verify", "nosuch")
    assert code == 2 and "admin" in err


def test_every_command_has_help() -> None:
    for args in (["--help"], ["init", "--help"], ["keys", "--help"], ["ledger", "verify", "-h"]):
        code, out, _ = run(*args)
        assert code == 0 and "Usage" in out


def test_rules_list_and_show() -> None:
    code, out, _ = run("rules", "list", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert {j["code"] for j in data["jurisdictions"]} >= {"EU", "UK", "US-CA", "BR", "CA"}
    code, out, _ = run("rules", "show", "BR", "--format", "json")
    br = json.loads(out)
    assert br["deadline"]["response"] == {"amount": 15, "unit": "days"}
    assert all(r["citation"] for r in br["rights"])
    code, out, _ = run("rules", "show", "US-TX")
    assert code == 0 and "strictest default" in out
