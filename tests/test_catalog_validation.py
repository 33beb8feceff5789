"""Manifest errors: every problem collected, each with file, path, line and a suggestion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trustcart.catalog import load_manifest, parse_manifest
from trustcart.errors import ValidationError

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
TEXT = SHOP.read_text(encoding="utf-8")


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th occurrence of ``needle``."""
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    return text.count("\n", 0, start) + 1


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


def _errors(text: str, filename: str = "shop.yaml") -> tuple[str, list[dict[str, Any]]]:
    with pytest.raises(ValidationError) as info:
        parse_manifest(text, filename)
    details = info.value.details
    assert isinstance(details, list)
    return info.value.message, details


def _by_path(details: list[dict[str, Any]], path: str) -> dict[str, Any]:
    found = [d for d in details if d["path"] == path]
    assert found, f"no problem at {path}; got {[d['path'] for d in details]}"
    return found[0]


def test_example_is_valid() -> None:
    assert parse_manifest(TEXT, "shop.yaml").problems() == []


def test_all_problems_collected_with_file_path_line_and_suggestion() -> None:
    text = TEXT
    text = _edit(
        text,
        "{name: email, data_categories: [user.contact.email]",
        "{name: email, data_categories: [user.contact.emial]",
    )
    text = _edit(text, "    system: pricing\n", "    system: pricng\n")
    text = _edit(text, "  - key: carrier\n", "  - key: payment_provider\n")
    text = _edit(text, "    hosting_country: US\n", "    hosting_country: USA\n")
    text = _edit(
        text,
        "legal_basis: {EU: consent, US-CA: notice_opt_out, BR: consent}",
        "legal_basis: {EU: consnet, US-CA: notice_opt_out, BR: consent}",
    )
    message, details = _errors(text)

    cat = _by_path(details, "datasets[0].fields[1].data_categories[0]")
    assert cat["file"] == "shop.yaml"
    assert cat["line"] == _line_of(text, "user.contact.emial")
    assert cat["allowed"][0] == "user.contact.email"
    assert "unknown data category 'user.contact.emial'" in cat["message"]
    assert "did you mean 'user.contact.email'" in cat["message"]

    ref = _by_path(details, "datasets[4].system")
    assert ref["line"] == _line_of(text, "system: pricng")
    assert ref["allowed"] == ["pricing"]

    dup = _by_path(details, "recipients[2].key")
    assert "duplicate recipient key 'payment_provider'" in dup["message"]
    assert "recipients[1]" in dup["message"]
    assert dup["line"] == _line_of(text, "- key: payment_provider", 2)

    country = _by_path(details, "systems[5].hosting_country")
    assert country["line"] == _line_of(text, "hosting_country: USA")
    assert "US" in country["allowed"]

    basis = _by_path(details, "purposes[2].legal_basis.EU")
    assert basis["allowed"][0] == "consent"
    assert basis["line"] == _line_of(text, "EU: consnet")

    # the esp system failed structurally, but references to it must not become extra errors
    assert not [d for d in details if "'esp'" in d["message"]]
    # the message spells out the first problems as file:line path: text
    assert message.startswith(f"{len(details)} problems in shop.yaml")
    first = details[0]
    assert f"shop.yaml:{first['line']} {first['path']}: {first['message']}" in message


def test_problems_in_a_structurally_broken_item_list_keep_document_indices() -> None:
    # purposes[0] is broken (missing name), so cross-object checks run on a shorter list;
    # the data_use problem of purposes[3] must still be reported at index 3
    text = _edit(TEXT, "    name: Order fulfilment\n", "")
    text = _edit(
        text,
        "data_use: marketing.advertising.first_party.targeted",
        "data_use: marketing.advertising.first_party.targetted",
    )
    _message, details = _errors(text)
    missing = _by_path(details, "purposes[0].name")
    assert "missing required key 'name'" in missing["message"]
    assert missing["line"] == _line_of(text, "- key: order_fulfilment")
    use = _by_path(details, "purposes[3].data_use")
    assert use["allowed"][0] == "marketing.advertising.first_party.targeted"
    # nothing complains that order_fulfilment does not exist: its key is still known
    assert not [d for d in details if "unknown purpose 'order_fulfilment'" in d["message"]]


def test_unknown_key_suggests_the_field_name() -> None:
    text = _edit(TEXT, "    hosting_country: DE\n", "    hosting_contry: DE\n")
    _message, details = _errors(text)
    extra = _by_path(details, "systems[0].hosting_contry")
    assert extra["allowed"][0] == "hosting_country"
    assert extra["line"] == _line_of(text, "hosting_contry")
    assert _by_path(details, "systems[0].hosting_country")["message"].startswith("missing")


def test_dangling_references_everywhere() -> None:
    text = _edit(TEXT, "    purposes: [email_marketing]\n", "    purposes: [email_marketin]\n")
    text = _edit(text, "  - from: crm\n    to: esp\n", "  - from: crmm\n    to: espp\n")
    text = _edit(
        text, "identity_keys: [customer_id, email]", "identity_keys: [customer_id, e_mail]"
    )
    _message, details = _errors(text)
    assert _by_path(details, "systems[5].purposes[0]")["allowed"] == ["email_marketing"]
    assert _by_path(details, "flows[10].from")["allowed"][0] == "crm"
    assert _by_path(details, "flows[10].to")["allowed"][0] == "esp"
    assert _by_path(details, "datasets[0].identity_keys[1]")["allowed"] == ["email"]


def test_field_purpose_must_belong_to_its_system() -> None:
    fit = "data_categories: [user.behavior.fit_profile]\n        purposes: "
    text = _edit(TEXT, fit + "[personalization]", fit + "[analytics]")
    _message, details = _errors(text)
    problem = _by_path(details, "datasets[3].fields[1].purposes[0]")
    assert "not one of system 'recommender'" in problem["message"]


def test_taxonomy_extension_tree_is_validated() -> None:
    text = _edit(TEXT, "      parent_key: user.behavior\n", "      parent_key: user.behaviour\n")
    text = _edit(text, "    - key: personalize.pricing\n", "    - key: pricing.personal\n")
    _message, details = _errors(text)
    parent = _by_path(details, "taxonomy.data_categories[0].parent_key")
    assert parent["allowed"][0] == "user.behavior"
    key = _by_path(details, "taxonomy.data_uses[0].key")
    assert "must extend its parent" in key["message"]
    assert key["allowed"] == ["personalize.personal"]


def test_legal_basis_for_unserved_jurisdiction() -> None:
    text = _edit(
        TEXT,
        "{EU: contract, US-CA: not_applicable, BR: contract}",
        "{EU: contract, US-VA: not_applicable, BR: contract}",
    )
    _message, details = _errors(text)
    assert "does not serve" in _by_path(details, "purposes[0].legal_basis.US-VA")["message"]


def test_bad_jurisdiction_and_email() -> None:
    text = _edit(TEXT, "jurisdictions: [EU, US-CA, BR]", "jurisdictions: [EU, us-ca, BRA]")
    text = _edit(text, "email: dpo@stylesense.example", "email: dpo-at-stylesense")
    _message, details = _errors(text)
    assert _by_path(details, "organization.jurisdictions[1]")["allowed"] == ["US-CA"]
    assert _by_path(details, "organization.jurisdictions[2]")["line"] == _line_of(text, "BRA")
    assert "e-mail" in _by_path(details, "organization.dpo.email")["message"]


def test_automated_decision_making_needs_logic() -> None:
    text = _edit(
        TEXT,
        "    automated_decision_making:       # feeds",
        "    automated_decision_making: {enabled: true}\n    x_old:       # feeds",
    )
    _message, details = _errors(text)
    assert any("describe its 'logic'" in d["message"] for d in details)


def test_duplicate_yaml_key_in_one_mapping() -> None:
    text = _edit(
        TEXT, "    owner: Platform team\n", "    owner: Platform team\n    owner: Data team\n"
    )
    _message, details = _errors(text)
    problem = _by_path(details, "systems[1].owner")
    assert "appears twice" in problem["message"]


def test_yaml_syntax_error_has_file_and_line() -> None:
    text = _edit(TEXT, "  name: StyleSense GmbH\n", "  name: [StyleSense GmbH\n")
    with pytest.raises(ValidationError) as info:
        parse_manifest(text, "shop.yaml")
    assert "YAML syntax error" in info.value.message
    detail = info.value.details[0]
    assert detail["file"] == "shop.yaml"
    assert isinstance(detail["line"], int)
    assert info.value.message.startswith(f"shop.yaml:{detail['line']}:")
    # the parser reports the problem at or after the opening bracket
    assert detail["line"] >= _line_of(text, "[StyleSense GmbH")


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ValidationError, match="manifest not found") as info:
        load_manifest(missing)
    assert info.value.details[0]["file"] == str(missing)


def test_empty_and_non_mapping_documents() -> None:
    assert "empty" in _errors("# nothing here\n")[0]
    assert "mapping" in _errors("- a\n- b\n")[0]


def test_load_manifest_reports_the_path(tmp_path: Path) -> None:
    file = tmp_path / "shop.yaml"
    file.write_text(_edit(TEXT, "    system: pricing\n", "    system: pricng\n"), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_manifest(file)
    assert info.value.details[0]["file"] == str(file)
    assert f"{file}:" in info.value.message


def test_message_lists_only_the_first_few() -> None:
    text = TEXT.replace("data_categories: [", "data_categories: [user.nope, ")
    message, details = _errors(text)
    assert len(details) > 5
    assert f"and {len(details) - 5} more" in message


def test_error_maps_to_api_body() -> None:
    with pytest.raises(ValidationError) as info:
        parse_manifest(_edit(TEXT, "    system: pricing\n", "    system: pricng\n"), "shop.yaml")
    body = info.value.to_dict()
    assert body["error"] == "validation_error"
    assert body["details"][0]["path"] == "datasets[4].system"


def test_duplicate_key_found_even_when_one_copy_is_malformed() -> None:
    text = _edit(TEXT, "  - key: carrier\n", "  - key: payment_provider\n")
    text = _edit(text, "    type: controller\n", "    type: controler\n")
    _message, details = _errors(text)
    assert _by_path(details, "recipients[1].type")["allowed"] == ["controller"]
    assert "duplicate recipient key" in _by_path(details, "recipients[2].key")["message"]


def test_duplicate_field_names_and_taxonomy_keys() -> None:
    text = _edit(TEXT, "{name: last_name,", "{name: first_name,")
    text = _edit(text, "    - key: personalize.pricing\n", "    - key: personalize.profiling\n")
    _message, details = _errors(text)
    assert (
        "duplicate field name 'first_name'"
        in _by_path(details, "datasets[0].fields[3].name")["message"]
    )
    assert (
        "already a fideslang data_use key"
        in _by_path(details, "taxonomy.data_uses[0].key")["message"]
    )


def test_country_message_names_the_value() -> None:
    text = _edit(TEXT, "    hosting_country: US\n", "    hosting_country: Germany\n")
    _message, details = _errors(text)
    problem = _by_path(details, "systems[5].hosting_country")
    assert "unknown country code 'Germany'" in problem["message"]
    assert problem["allowed"] == ["DE"]


def test_misspelt_section_does_not_cascade() -> None:
    text = _edit(TEXT, "\nsystems:\n", "\nsytems:\n")
    _message, details = _errors(text)
    assert _by_path(details, "sytems")["allowed"][0] == "systems"
    assert not [d for d in details if "unknown system" in d["message"]]
    assert not [d for d in details if "unknown flow" in d["message"]]


def test_problems_are_listed_in_file_order() -> None:
    text = _edit(TEXT, "    system: pricing\n", "    system: pricng\n")
    text = _edit(text, "  establishment_country: DE", "  establishment_country: XX")
    _message, details = _errors(text)
    lines = [d["line"] for d in details]
    assert lines == sorted(lines)
    assert details[0]["path"] == "organization.establishment_country"
