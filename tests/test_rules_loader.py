"""A malformed rule pack fails loudly, naming the file and the path inside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rules_helpers import copy_rule_pack, edit, load_error
from trustcart.rules import load_rules


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A writable copy of the packaged rule pack."""
    return copy_rule_pack(tmp_path)


def test_unmodified_copy_loads(data_dir: Path) -> None:
    rules = load_rules(path=data_dir)
    assert rules.version == load_rules().version
    assert rules is not load_rules()
    assert load_rules(path=str(data_dir)).jurisdictions.keys() == rules.jurisdictions.keys()


def test_missing_citation_names_file_and_path(data_dir: Path) -> None:
    edit(data_dir / "eu.yaml", lambda doc: doc["rights"][2].pop("citation"))
    err = load_error(data_dir)
    assert err.message.startswith("eu.yaml: ")
    assert "rights[2].citation" in err.message
    assert err.details[0] == {
        "file": "eu.yaml",
        "path": "rights[2].citation",
        "message": "Field required",
    }


def test_empty_citation_is_rejected(data_dir: Path) -> None:
    def blank(doc: Any) -> None:
        doc["deadline"]["citation"] = "   "

    edit(data_dir / "br.yaml", blank)
    err = load_error(data_dir)
    assert "br.yaml" in err.message
    assert "deadline.citation" in err.message


def test_unknown_key_is_rejected(data_dir: Path) -> None:
    def typo(doc: Any) -> None:
        doc["deadline"]["extention"] = doc["deadline"].pop("extension")

    edit(data_dir / "us-ca.yaml", typo)
    err = load_error(data_dir)
    assert "us-ca.yaml" in err.message
    assert "deadline.extention: Extra inputs are not permitted" in err.message


def test_bad_confidence_and_unit(data_dir: Path) -> None:
    def bad(doc: Any) -> None:
        doc["rights"][0]["confidence"] = "probably"
        doc["deadline"]["response"]["unit"] = "weeks"

    edit(data_dir / "ca.yaml", bad)
    err = load_error(data_dir)
    paths = {p["path"] for p in err.details}
    assert {"rights[0].confidence", "deadline.response.unit"} <= paths
    assert all(p["file"] == "ca.yaml" for p in err.details)


def test_unknown_right_kind(data_dir: Path) -> None:
    edit(data_dir / "ca-qc.yaml", lambda doc: doc["rights"][1].update(kind="telepathy"))
    err = load_error(data_dir)
    assert "ca-qc.yaml" in err.message
    assert "rights[1].kind" in err.message


def test_duplicate_right_kind(data_dir: Path) -> None:
    edit(data_dir / "eu.yaml", lambda doc: doc["rights"].append(dict(doc["rights"][0])))
    err = load_error(data_dir)
    assert "eu.yaml" in err.message
    assert "listed more than once: access" in err.message


def test_unknown_fideslang_category_fails(data_dir: Path) -> None:
    edit(
        data_dir / "us-ca.yaml",
        lambda doc: doc["sensitive_categories"][5].update(data_category="user.location.exact"),
    )
    err = load_error(data_dir)
    assert "us-ca.yaml" in err.message
    assert "sensitive_categories[5].data_category" in err.message
    assert "'user.location.exact' is not a fideslang data category" in err.message


def test_unknown_fideslang_data_use_fails(data_dir: Path) -> None:
    edit(data_dir / "purposes.yaml", lambda doc: doc["purposes"][0].update(data_use="esential"))
    err = load_error(data_dir)
    assert "purposes.yaml" in err.message
    assert "purposes[0].data_use" in err.message
    assert "not a fideslang data use" in err.message


def test_unknown_purpose_type_in_consent_model(data_dir: Path) -> None:
    def bad(doc: Any) -> None:
        doc["consent_model"]["astrology"] = doc["consent_model"]["analytics"]

    edit(data_dir / "uk.yaml", bad)
    err = load_error(data_dir)
    assert "uk.yaml" in err.message
    assert "consent_model.astrology" in err.message


def test_yaml_syntax_error_names_file_and_line(data_dir: Path) -> None:
    path = data_dir / "us-va.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[5] = "name: [unclosed"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = load_error(data_dir)
    assert err.message.startswith("us-va.yaml: line ")
    assert "invalid YAML" in err.message


def test_impossible_date_names_file_and_line(data_dir: Path) -> None:
    path = data_dir / "br.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("effective_from: 2020-09-18", "effective_from: 2020-13-18", 1))
    err = load_error(data_dir)
    assert err.message.startswith("br.yaml: line ")
    assert "2020-13-18" in err.message


def test_date_as_text_is_rejected(data_dir: Path) -> None:
    path = data_dir / "br.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("effective_from: 2020-09-18", "effective_from: soon", 1))
    err = load_error(data_dir)
    assert "br.yaml: effective_from" in err.message


def test_duplicate_yaml_key_is_rejected(data_dir: Path) -> None:
    path = data_dir / "ca.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nregime: something else\n")
    err = load_error(data_dir)
    assert "ca.yaml" in err.message
    assert "duplicate key 'regime'" in err.message


def test_alias_claimed_twice(data_dir: Path) -> None:
    def steal(doc: Any) -> None:
        doc["aliases"]["codes"].append("FR")

    edit(data_dir / "uk.yaml", steal)
    err = load_error(data_dir)
    assert err.message.startswith("uk.yaml: aliases.codes[1]: ")
    assert "'FR' is already claimed by eu.yaml" in err.message


def test_duplicate_jurisdiction_code(data_dir: Path) -> None:
    edit(data_dir / "ca-qc.yaml", lambda doc: doc.update(code="CA"))
    err = load_error(data_dir)
    assert err.message.startswith("ca-qc.yaml: code: ")


def test_file_cannot_declare_itself_fallback(data_dir: Path) -> None:
    edit(data_dir / "ca.yaml", lambda doc: doc.update(is_fallback=True, fallback_reason="x"))
    err = load_error(data_dir)
    assert err.message.startswith("ca.yaml: is_fallback: ")


def test_missing_listed_file(data_dir: Path) -> None:
    (data_dir / "us-co.yaml").unlink()
    err = load_error(data_dir)
    assert err.message.startswith("us-co.yaml: rule file not found")


def test_pack_without_version(data_dir: Path) -> None:
    edit(data_dir / "pack.yaml", lambda doc: doc.pop("rules_version"))
    err = load_error(data_dir)
    assert "pack.yaml" in err.message
    assert "rules_version" in err.message


def test_version_comes_from_data(data_dir: Path) -> None:
    edit(data_dir / "pack.yaml", lambda doc: doc.update(rules_version="2099.01"))
    assert load_rules(path=data_dir).version == "2099.01"
