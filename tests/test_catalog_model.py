"""Data map model: the example loads, counts, merge, persistence rows, derived facts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from trustcart.catalog import (
    DataMap,
    LegalBasis,
    describe_duration,
    load_manifest,
    parse_manifest,
)
from trustcart.errors import ValidationError
from trustcart.rules import Rules, load_rules

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules()


@pytest.fixture(scope="module")
def shop() -> DataMap:
    return load_manifest(SHOP)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(SHOP.read_text(encoding="utf-8"))


def test_example_loads_with_expected_shape(shop: DataMap) -> None:
    assert shop.organization is not None
    assert shop.organization.establishment_country == "DE"
    assert shop.organization.jurisdictions == ["EU", "US-CA", "BR"]
    uses = {p.data_use for p in shop.purposes}
    assert {"personalize.profiling", "marketing.advertising.first_party.targeted"} <= uses
    assert {"essential.service", "marketing.communications.email"} <= uses
    categories = {c for d in shop.datasets for f in d.fields for c in f.data_categories}
    assert "user.contact.address.postal_code" in categories
    assert shop.purpose("personalization").legal_basis["EU"] is LegalBasis.CONSENT
    assert shop.system("esp").vendor is not None
    assert shop.system("web_shop").vendor is None


def test_summary_counts_match_the_file(shop: DataMap, raw: dict, rules: Rules) -> None:
    summary = shop.summary(rules)
    assert summary.systems == len(raw["systems"])
    assert summary.datasets == len(raw["datasets"])
    assert summary.fields == sum(len(d["fields"]) for d in raw["datasets"])
    assert summary.purposes == len(raw["purposes"])
    assert summary.recipients == len(raw["recipients"])
    assert summary.flows == len(raw["flows"])
    assert sum(summary.fields_by_sensitivity.values()) == summary.fields
    # order_id and quoted_price are system.operations: not personal data
    assert summary.fields_by_sensitivity["anonymous"] == 2
    vendors = {s["vendor"]["name"] for s in raw["systems"] if s.get("vendor")}
    assert set(summary.vendors) == vendors
    assert "US" in summary.countries and "DE" in summary.countries
    assert any(t.country == "US" for t in summary.third_country_transfers)
    table = str(summary)
    assert f"Systems                  {summary.systems}" in table
    assert "MailPilot Inc." in table
    assert "Newsletter platform (MailPilot Inc.) (US)" in table


def test_flow_key_is_derived_when_omitted(shop: DataMap) -> None:
    keys = [f.key for f in shop.flows]
    assert "crm->esp:email_marketing" in keys
    assert len(keys) == len(set(keys))


def test_retention_accepts_days_and_iso_durations() -> None:
    text = SHOP.read_text(encoding="utf-8").replace("retention: P1Y\n", "retention: 30\n", 1)
    dm = parse_manifest(text, "shop.yaml")
    assert dm.purpose("fraud_detection").retention == "P30D"
    assert describe_duration("P1Y6M") == "1 year 6 months"
    assert describe_duration("P30D") == "30 days"
    assert describe_duration(None) == "not recorded"


# --- merge ---------------------------------------------------------------------------------


def test_merge_is_idempotent(shop: DataMap) -> None:
    once = shop.merge(shop)
    twice = once.merge(shop)
    assert once == twice
    assert once == shop


def test_merge_replaces_by_key_and_appends_new(shop: DataMap) -> None:
    patch = DataMap.model_validate(
        {
            "purposes": [
                {
                    **shop.purpose("analytics").model_dump(mode="json", by_alias=True),
                    "description": "Counting visits, nothing more.",
                },
                {
                    "key": "loyalty",
                    "name": "Loyalty programme",
                    "description": "Points for purchases.",
                    "data_use": "essential.service",
                    "legal_basis": {"EU": "contract"},
                },
            ]
        }
    )
    merged = shop.merge(patch)
    assert merged.purpose("analytics").description == "Counting visits, nothing more."
    assert [p.key for p in merged.purposes][-1] == "loyalty"
    assert len(merged.purposes) == len(shop.purposes) + 1
    # position of a replaced object is kept; untouched objects are unchanged
    assert [p.key for p in merged.purposes][: len(shop.purposes)] == [p.key for p in shop.purposes]
    assert merged.systems == shop.systems
    assert merged.organization == shop.organization  # patch had none: kept
    assert shop.purpose("analytics").description != "Counting visits, nothing more."


def test_merge_replaces_organization_when_given(shop: DataMap) -> None:
    assert shop.organization is not None
    org = shop.organization.model_copy(update={"name": "StyleSense AG"})
    merged = shop.merge(DataMap(organization=org))
    assert merged.organization is not None
    assert merged.organization.name == "StyleSense AG"


def test_merge_result_is_validated(shop: DataMap) -> None:
    bad = DataMap.model_validate(
        {
            "datasets": [
                {
                    "key": "extra",
                    "name": "Extra",
                    "system": "no_such_system",
                    "location": "/tmp/x.csv",
                    "fields": [{"name": "email", "data_categories": ["user.contact.email"]}],
                }
            ]
        }
    )
    with pytest.raises(ValidationError, match="unknown system 'no_such_system'"):
        shop.merge(bad)


# --- persistence rows ---------------------------------------------------------------------


def test_objects_round_trip(shop: DataMap) -> None:
    rows = shop.objects()
    kinds = {kind for kind, _key, _body in rows}
    assert kinds == {
        "organization",
        "data_category",
        "data_use",
        "purpose",
        "system",
        "dataset",
        "recipient",
        "flow",
    }
    assert len({(k, key) for k, key, _ in rows}) == len(rows)
    flow_rows = [body for kind, _key, body in rows if kind == "flow"]
    assert "from" in flow_rows[0] and "to" in flow_rows[0]
    rebuilt = DataMap.from_objects(rows)
    assert rebuilt == shop
    assert rebuilt.objects() == rows


def test_objects_rows_are_json(shop: DataMap) -> None:
    import orjson

    for _kind, _key, body in shop.objects():
        assert orjson.loads(orjson.dumps(body)) == body


def test_from_objects_rejects_unknown_kind(shop: DataMap) -> None:
    rows = [*shop.objects(), ("gadget", "x", {})]
    with pytest.raises(ValidationError, match="unknown object kind 'gadget'"):
        DataMap.from_objects(rows)


# --- derived sensitivity and transfers ------------------------------------------------------


def _with_field(raw: dict, field: dict) -> DataMap:
    data = yaml.safe_load(yaml.safe_dump(raw))
    data["datasets"][0]["fields"].append(field)
    return DataMap.model_validate(data).check()


def test_sensitivity_is_derived_with_citations(raw: dict, rules: Rules) -> None:
    dm = _with_field(
        raw,
        {"name": "ethnicity", "data_categories": ["user.demographic.race_ethnicity"]},
    )
    sens = dm.sensitivity(rules)
    field = sens.of_field("customers", "ethnicity")
    assert field.level == "sensitive"
    by_jurisdiction = {r.jurisdiction: r.citation for r in field.reasons}
    assert "GDPR Art. 9" in by_jurisdiction["EU"]
    assert "US-CA" in by_jurisdiction
    # the dataset and its system inherit the highest level
    assert sens.datasets["customers"] == "sensitive"
    assert sens.systems["crm"] == "sensitive"
    assert sens.of_field("customers", "email").level == "personal"
    assert sens.of_field("orders", "order_id").level == "anonymous"
    assert sens.systems["pricing"] == "personal"


def test_extension_category_inherits_sensitivity_of_parent(raw: dict, rules: Rules) -> None:
    data = yaml.safe_load(yaml.safe_dump(raw))
    data["taxonomy"]["data_categories"].append(
        {
            "key": "user.biometric.gait",
            "parent_key": "user.biometric",
            "name": "Gait pattern",
            "description": "How a person walks, from fitting-room video.",
        }
    )
    data["datasets"][0]["fields"].append(
        {"name": "gait", "data_categories": ["user.biometric.gait"]}
    )
    dm = DataMap.model_validate(data).check()
    assert dm.sensitivity(rules).of_field("customers", "gait").level == "sensitive"
    # the example's own extension is an ordinary personal category
    assert dm.sensitivity(rules).of_field("fit_profiles", "size_profile").level == "personal"


def test_transfers_derived_from_countries(shop: DataMap) -> None:
    transfers = shop.transfers()
    third = [t for t in transfers if t.third_country]
    assert {t.country for t in third} == {"US"}
    flow = next(t for t in transfers if t.key == "crm->esp:email_marketing")
    assert flow.third_country and flow.safeguard is None
    assert flow.safeguard_text == "safeguard: not recorded"
    vendor = next(t for t in transfers if t.kind == "vendor")
    assert vendor.destination == "Metricly Inc." and vendor.safeguard is not None
    # intra-EEA cross-border flows are transfers but not third-country ones
    nl = next(t for t in transfers if t.country == "NL")
    assert not nl.third_country


def test_no_third_country_transfers_when_eu_not_served(raw: dict) -> None:
    data = yaml.safe_load(yaml.safe_dump(raw))
    data["organization"]["jurisdictions"] = ["US-CA"]
    for purpose in data["purposes"]:
        purpose["legal_basis"] = {"US-CA": purpose["legal_basis"]["US-CA"]}
    dm = DataMap.model_validate(data).check()
    assert not [t for t in dm.transfers() if t.third_country]
    assert [t for t in dm.transfers() if t.kind == "flow" and t.country == "US"]


def test_import_is_lazy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, trustcart.catalog as c; "
        "print(any(m in sys.modules for m in ('matplotlib', 'networkx', 'jinja2')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
