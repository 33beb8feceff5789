"""Workspace settings: file, environment overrides, and clear errors for mistakes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from trustcart.config import init_workspace, load_settings
from trustcart.errors import ConfigError, WorkspaceNotFound


def test_init_writes_toml_and_private_key(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    settings = load_settings(root, environ={})
    assert settings.database_url == "sqlite:///trustcart.db"
    assert settings.resolved_database_url == f"sqlite:///{root / 'trustcart.db'}"
    assert settings.default_jurisdiction == "EU"
    key_file = root / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert settings.pseudonym_key() == key_file.read_text().strip().encode()
    assert key_file.read_text().strip() not in (root / "trustcart.toml").read_text()


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        init_workspace(tmp_path)
    init_workspace(tmp_path, force=True)


def test_env_overrides_file(tmp_path: Path) -> None:
    root = init_workspace(tmp_path)
    env = {
        "TRUSTCART_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "TRUSTCART_DEFAULT_JURISDICTION": "us-ca",
        "TRUSTCART_SECRET_KEY": "k" * 40,
        "TRUSTCART_WORKSPACE": "/elsewhere",  # locates workspaces; not a setting
    }
    s = load_settings(root, environ=env)
    assert s.resolved_database_url == "postgresql+psycopg://u@h/db"
    assert s.default_jurisdiction == "US-CA"
    assert s.pseudonym_key() == b"k" * 40


def test_missing_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFound, match="trustcart init"):
        load_settings(tmp_path / "nowhere", environ={})


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    root = init_workspace(tmp_path)
    (root / "trustcart.toml").write_text('[trustcart]\ndatabse_url = "sqlite:///x.db"\n')
    with pytest.raises(
        ConfigError, match=r"databse_url: unknown key; allowed keys: .*database_url"
    ):
        load_settings(root, environ={})


def test_unknown_table_and_bad_toml(tmp_path: Path) -> None:
    root = init_workspace(tmp_path)
    (root / "trustcart.toml").write_text("[trustcart]\n[extra]\na = 1\n")
    with pytest.raises(ConfigError, match="unknown table"):
        load_settings(root, environ={})
    (root / "trustcart.toml").write_text("[trustcart\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(root, environ={})


def test_unknown_env_variable_is_an_error(tmp_path: Path) -> None:
    root = init_workspace(tmp_path)
    with pytest.raises(ConfigError, match="TRUSTCART_DATABSE_URL"):
        load_settings(root, environ={"TRUSTCART_DATABSE_URL": "sqlite:///x.db"})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("database_url", '"mysql://x"', "must start with 'sqlite:///'"),
        ("api_port", "70000", "less than or equal to 65535"),
        ("default_jurisdiction", '"E U!"', "jurisdiction code"),
        ("log_level", '"loud"', "'debug', 'info', 'warning' or 'error'"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, key: str, value: str, message: str) -> None:
    root = init_workspace(tmp_path)
    (root / "trustcart.toml").write_text(f"[trustcart]\n{key} = {value}\n")
    with pytest.raises(ConfigError, match=key) as info:
        load_settings(root, environ={})
    assert message in info.value.message


def test_bad_env_value_blames_the_environment(tmp_path: Path) -> None:
    root = init_workspace(tmp_path)
    with pytest.raises(ConfigError, match="environment") as info:
        load_settings(root, environ={"TRUSTCART_API_PORT": "many"})
    assert "api_port" in info.value.message


def test_missing_or_short_key(tmp_path: Path) -> None:
    root = init_workspace(tmp_path)
    os.remove(root / "secret.key")
    with pytest.raises(ConfigError, match="TRUSTCART_SECRET_KEY"):
        load_settings(root, environ={}).pseudonym_key()
    (root / "secret.key").write_text("short")
    with pytest.raises(ConfigError, match="too short"):
        load_settings(root, environ={}).pseudonym_key()
