"""Read the YAML rule pack, validate it strictly, and cache the result.

Why so strict: these files are the legal source of truth for every other module. A typo (an unknown
key, a misspelt fideslang category, a date written as text) must stop the program at start-up with
the file and the path inside it, not silently drop a right or a sensitive category.
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict

from trustcart.errors import RulesError
from trustcart.rules.assessment_rules import AiActRules, DpiaRules
from trustcart.rules.entries import PurposeMapping, Text
from trustcart.rules.jurisdiction import Jurisdiction
from trustcart.rules.review_rules import ReviewRules
from trustcart.rules.rules import Rules
from trustcart.rules.transfer_rules import TransferRules

PACK_FILE = "pack.yaml"
_M = TypeVar("_M", bound=BaseModel)


class _Pack(BaseModel):
    """``pack.yaml``: the version and the files that make up the pack."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules_version: Text
    jurisdiction_files: tuple[Text, ...]
    purposes_file: Text
    # Optional so that a pack written before these files existed still loads; the checks that
    # need one report that the pack lacks it.
    transfers_file: Text | None = None
    dpia_file: Text | None = None
    ai_act_file: Text | None = None
    review_file: Text | None = None


class _Purposes(BaseModel):
    """``purposes.yaml``: fideslang data use -> purpose type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purposes: tuple[PurposeMapping, ...]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (plain YAML keeps the last one silently)."""


def _mapping_without_duplicates(
    loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Hashable, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _timestamp_with_position(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """Dates like ``2018-13-01`` match YAML's date syntax but are invalid: report the line."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"invalid date {node.value!r}: {exc}", node.start_mark
        ) from exc


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_with_position)


def default_data_dir() -> Traversable:
    """The rule pack shipped inside the package (``trustcart/rules/data``)."""
    return files("trustcart.rules") / "data"


@cache
def load_rules(path: Path | str | None = None) -> Rules:
    """Load, validate and cache the rule pack.

    ``path`` points at a data directory laid out like the packaged one (``pack.yaml`` plus the
    files it lists); by default the packaged data is read through ``importlib.resources`` so it
    works from a wheel or a zip. The result is cached per ``path``: the pack is immutable data.

    Raises :class:`RulesError` naming the file and the path inside it when anything is malformed:
    YAML syntax, unknown or missing keys, a fideslang key that does not exist, duplicate codes.
    """
    root: Traversable = default_data_dir() if path is None else Path(path)
    pack = _validate(_Pack, _read(root, PACK_FILE), PACK_FILE)
    jurisdictions: dict[str, Jurisdiction] = {}
    claimed: dict[str, str] = {}  # code or alias -> file claiming it
    for name in pack.jurisdiction_files:
        j = _validate(Jurisdiction, _read(root, name), name)
        if j.is_fallback:
            _fail(name, "is_fallback", "a rule-pack file cannot declare itself a fallback")
        codes = [("code", j.code)] + [
            (f"aliases.codes[{i}]", c) for i, c in enumerate(j.aliases.codes if j.aliases else ())
        ]
        for where, code in codes:
            if code in claimed:
                _fail(name, where, f"code {code!r} is already claimed by {claimed[code]}")
            claimed[code] = name
        jurisdictions[j.code] = j
    purposes = _validate(_Purposes, _read(root, pack.purposes_file), pack.purposes_file)
    seen_uses: set[str] = set()
    for i, p in enumerate(purposes.purposes):
        if p.data_use in seen_uses:
            _fail(pack.purposes_file, f"purposes[{i}].data_use", f"{p.data_use!r} mapped twice")
        seen_uses.add(p.data_use)
    transfers = (
        _validate(TransferRules, _read(root, pack.transfers_file), pack.transfers_file)
        if pack.transfers_file
        else None
    )
    dpia = (
        _validate(DpiaRules, _read(root, pack.dpia_file), pack.dpia_file)
        if pack.dpia_file
        else None
    )
    ai_act = (
        _validate(AiActRules, _read(root, pack.ai_act_file), pack.ai_act_file)
        if pack.ai_act_file
        else None
    )
    review = (
        _validate(ReviewRules, _read(root, pack.review_file), pack.review_file)
        if pack.review_file
        else None
    )
    try:
        return Rules(
            version=pack.rules_version,
            jurisdictions=jurisdictions,
            purposes=purposes.purposes,
            transfers=transfers,
            dpia=dpia,
            ai_act=ai_act,
            review=review,
        )
    except (ValueError, pydantic.ValidationError) as exc:
        raise RulesError(
            f"rule pack {pack.rules_version} is inconsistent: {exc}",
            details={"file": PACK_FILE},
        ) from exc


def _read(root: Traversable, name: str) -> Any:
    resource = root / name
    if not resource.is_file():
        raise RulesError(f"{name}: rule file not found in {root}", details={"file": name})
    try:
        return yaml.load(resource.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "?"
        raise RulesError(
            f"{name}: {where}: invalid YAML: {getattr(exc, 'problem', None) or exc}",
            details={"file": name, "path": where},
        ) from exc
    except ValueError as exc:  # e.g. a date such as 2018-13-01 that matches YAML's date syntax
        raise RulesError(
            f"{name}: invalid value: {exc}", details={"file": name, "path": "?"}
        ) from exc


def _validate(model: type[_M], data: Any, name: str) -> _M:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = [
            {"file": name, "path": _dotted(err["loc"]), "message": err["msg"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{p['path']}: {p['message']}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise RulesError(f"{name}: {summary}{more}", details=problems) from exc


def _fail(name: str, path: str, message: str) -> NoReturn:
    raise RulesError(f"{name}: {path}: {message}", details=[{"file": name, "path": path}])


def _dotted(loc: tuple[int | str, ...]) -> str:
    """``("rights", 3, "citation")`` -> ``rights[3].citation``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"
