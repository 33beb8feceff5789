"""Helpers shared by the rule-pack tests: edit a copy of the pack and read the load error."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib.resources import as_file
from pathlib import Path
from typing import Any

import pytest
import yaml

from trustcart.errors import RulesError
from trustcart.rules import default_data_dir, load_rules


def copy_rule_pack(tmp_path: Path) -> Path:
    """A writable copy of the packaged rule pack."""
    target = tmp_path / "data"
    with as_file(default_data_dir()) as src:
        shutil.copytree(src, target)
    return target


def edit(path: Path, change: Callable[[Any], None]) -> None:
    """Apply ``change`` to one YAML file of the copy."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def load_error(data_dir: Path) -> RulesError:
    """The error loading the (broken) copy raises."""
    with pytest.raises(RulesError) as err:
        load_rules(path=data_dir)
    return err.value
