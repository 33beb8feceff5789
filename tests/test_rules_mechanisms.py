"""Consent mechanisms and GPC as rules data: what a grant or a refusal through each mechanism is
worth per jurisdiction and purpose type, the strictest fallback, and strict loading."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from rules_helpers import copy_rule_pack, edit, load_error
from trustcart.errors import RulesError
from trustcart.rules import (
    Mechanism,
    MechanismRule,
    PurposeType,
    Rules,
    consent_table_markdown,
    load_rules,
)

REQUIRED = ["EU", "UK", "US-CA", "US-VA", "US-CO", "BR", "CA", "CA-QC"]
DOC = Path(__file__).resolve().parent.parent / "docs" / "consent-model.md"


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules()


# --- EU / GDPR -------------------------------------------------------------------------------


def test_eu_implied_banner_is_not_consent(rules: Rules) -> None:
    eu = rules.resolve("FR")
    rule = eu.mechanism_rule("implied_banner", "personalization")
    assert isinstance(rule, MechanismRule)
    assert rule.grant == "invalid"
    assert not rule.grant_counts
    assert "Art. 4(11)" in rule.citation
    assert rule.confidence == "confirmed"
    for pt in ("analytics", "marketing", "sensitive_data"):
        assert eu.mechanism_rule(Mechanism.IMPLIED_BANNER, pt).grant == "invalid"


def test_eu_opt_in_checkbox_is_valid(rules: Rules) -> None:
    rule = rules.resolve("EU").mechanism_rule("opt_in_checkbox", "personalization")
    assert rule.grant == "valid"
    assert rule.grant_counts
    assert rule.condition is None
    assert "Art. 4(11)" in rule.citation
    assert rule.effective_from == date(2018, 5, 25)


def test_eu_refusal_counts_through_every_mechanism_art_7_3(rules: Rules) -> None:
    eu = rules.resolve("EU")
    rule = eu.mechanism_rule("implied_banner", "personalization")
    assert rule.refusal == "valid"
    assert rule.refusal_citation == "GDPR Art. 7(3)"
    assert rule.refusal_confidence == "confirmed"
    for m in Mechanism:
        if m is not Mechanism.GPC_SIGNAL:
            assert eu.mechanism_rule(m, "marketing").refusal == "valid", m


def test_eu_api_and_tcf_are_conditional(rules: Rules) -> None:
    eu = rules.resolve("EU")
    api = eu.mechanism_rule("api", "marketing")
    assert api.grant == "conditional"
    assert api.condition is not None and "clear affirmative act" in api.condition
    assert "Art. 7(1)" in api.citation
    assert not api.grant_counts
    tcf = eu.mechanism_rule("tcf_string", "marketing")
    assert tcf.grant == "conditional"
    assert tcf.confidence == "unconfirmed"  # the rule pack says nothing about TCF


def test_eu_sensitive_data_needs_more_than_a_checkbox(rules: Rules) -> None:
    rule = rules.resolve("EU").mechanism_rule("opt_in_checkbox", "sensitive_data")
    assert rule.grant == "conditional"
    assert "Art. 9(1)" in rule.citation
    assert rule.confidence == "unconfirmed"  # the Art. 9(2) conditions are not in the pack


def test_gpc_signal_never_grants(rules: Rules) -> None:
    for code in REQUIRED:
        for pt in PurposeType:
            assert rules.resolve(code).mechanism_rule("gpc_signal", pt).grant == "invalid"


def test_uk_mirrors_gdpr_but_unconfirmed(rules: Rules) -> None:
    uk = rules.resolve("GB")
    rule = uk.mechanism_rule("implied_banner", "marketing")
    assert rule.grant == "invalid"
    assert rule.citation.startswith("UK GDPR Art. 4(11)")
    assert rule.confidence == "unconfirmed"


# --- US / GPC --------------------------------------------------------------------------------


def test_us_ca_gpc_opts_out_of_sale_sharing_and_marketing(rules: Rules) -> None:
    ca = rules.resolve("US-CA")
    assert ca.gpc_opts_out(PurposeType.SALE_SHARING)
    assert ca.gpc_opts_out("marketing")
    assert not ca.gpc_opts_out("analytics")
    assert not ca.gpc_opts_out("sensitive_data")  # limiting use is a separate right (§1798.121)
    gpc = ca.gpc_rule()
    assert "§7025" in gpc.citation
    assert gpc.honoured and gpc.confidence == "confirmed"
    refusal = ca.mechanism_rule("gpc_signal", "sale_sharing")
    assert refusal.refusal == "valid"
    assert "§7025" in refusal.refusal_citation
    assert ca.mechanism_rule("gpc_signal", "analytics").refusal == "invalid"


def test_us_ca_implied_banner_for_opt_out_purpose_is_notice_only(rules: Rules) -> None:
    ca = rules.resolve("US-CA")
    assert ca.consent_requirement("sale_sharing").model == "opt_out"
    rule = ca.mechanism_rule("implied_banner", "sale_sharing")
    assert rule.grant == "conditional"
    assert rule.condition is not None
    assert "§7026(a)" in rule.condition
    assert "§7026(a)" in rule.citation
    assert "opt-out" in rule.condition
    # for a purpose type without an opt-out model in the pack, opt-in is assumed: banner invalid
    assert ca.consent_requirement("analytics").model == "opt_in"
    analytics = ca.mechanism_rule("implied_banner", "analytics")
    assert analytics.grant == "invalid"
    assert analytics.confidence == "unconfirmed"


def test_us_co_universal_opt_out_from_2024_07_01(rules: Rules) -> None:
    co = rules.resolve("US-CO")
    gpc = co.gpc_rule()
    assert gpc.honoured
    assert gpc.effective_from == date(2024, 7, 1)
    assert "6-1-1313" in gpc.citation and "5.07" in gpc.citation
    assert co.gpc_opts_out("marketing") and co.gpc_opts_out("sale_sharing")
    assert not co.gpc_opts_out("personalization")
    assert co.mechanism_rule("implied_banner", "personalization").grant == "conditional"


@pytest.mark.parametrize("code", ["EU", "UK", "US-VA", "BR", "CA", "CA-QC"])
def test_gpc_honoured_as_refusal_where_not_required(rules: Rules, code: str) -> None:
    j = rules.resolve(code)
    gpc = j.gpc_rule()
    assert not gpc.honoured  # no duty stated (tests/test_rules.py::test_gpc)
    assert not j.honours_gpc
    assert gpc.confidence == "unconfirmed"
    assert gpc.notes is not None and "not required by the rule pack" in gpc.notes.lower()
    assert j.gpc_opts_out("sale_sharing") and j.gpc_opts_out("marketing")
    assert not j.gpc_opts_out("essential")


# --- BR / CA ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["BR", "CA", "CA-QC"])
def test_regimes_without_a_stated_consent_standard_get_the_strictest(
    rules: Rules, code: str
) -> None:
    j = rules.resolve(code)
    checkbox = j.mechanism_rule("opt_in_checkbox", "marketing")
    assert checkbox.grant == "valid"
    assert checkbox.confidence == "unconfirmed"
    assert checkbox.citation.startswith("none:")
    assert checkbox.notes is not None and "verify" in checkbox.notes
    assert j.mechanism_rule("implied_banner", "marketing").grant == "invalid"
    assert j.mechanism_rule("api", "analytics").grant == "conditional"
    assert j.mechanism_rule("preference_center", "analytics").refusal == "valid"


def test_br_and_qc_refusals_cite_the_withdrawal_right(rules: Rules) -> None:
    assert rules.resolve("BR").mechanism_rule("api", "marketing").refusal_citation == (
        "LGPD Art. 18 IX"
    )
    assert rules.resolve("CA-QC").mechanism_rule("api", "marketing").refusal_citation == (
        "P-39.1 s.8.3"
    )
    ca = rules.resolve("CA").mechanism_rule("api", "marketing")
    assert ca.refusal == "valid" and ca.refusal_confidence == "unconfirmed"


# --- fallback --------------------------------------------------------------------------------


def test_fallback_grant_valid_only_where_valid_everywhere(rules: Rules) -> None:
    zz = rules.resolve("US-TX")
    assert zz.is_fallback
    for m in Mechanism:
        for pt in PurposeType:
            got = zz.mechanism_rule(m, pt)
            per_source = [rules.jurisdictions[c].mechanism_rule(m, pt).grant for c in REQUIRED]
            if all(g == "valid" for g in per_source):
                assert got.grant == "valid", (m, pt)
            elif "invalid" in per_source:
                assert got.grant == "invalid", (m, pt)
            else:
                assert got.grant == "conditional", (m, pt)
                assert got.condition
            assert got.confidence == "unconfirmed"
            assert got.refusal == ("valid" if m is not Mechanism.GPC_SIGNAL else got.refusal)
    banner = zz.mechanism_rule("implied_banner", "sale_sharing")
    assert banner.grant == "invalid"  # conditional in US-CA, invalid under the GDPR
    assert "EU" in banner.citation and "Art. 4(11)" in banner.citation
    checkbox = zz.mechanism_rule("opt_in_checkbox", "sensitive_data")
    assert checkbox.grant == "conditional"  # EU/UK Art. 9 condition carries over
    assert zz.mechanism_rule("opt_in_checkbox", "marketing").grant == "valid"


def test_fallback_gpc_is_union(rules: Rules) -> None:
    zz = rules.resolve("ZZ")
    union = {pt for c in REQUIRED for pt in rules.jurisdictions[c].gpc_rule().opts_out_of}
    assert set(zz.gpc_rule().opts_out_of) == union
    for pt in PurposeType:
        assert zz.gpc_opts_out(pt) == (pt in union)
    assert zz.honours_gpc
    assert "US-CA" in zz.gpc_rule().citation and "US-CO" in zz.gpc_rule().citation


# --- completeness ----------------------------------------------------------------------------


def test_every_mechanism_rule_is_cited(rules: Rules) -> None:
    codes = [*REQUIRED, "ZZ"]
    for code in codes:
        j = rules.resolve(code)
        for m in Mechanism:
            for pt in PurposeType:
                r = j.mechanism_rule(m, pt)
                assert r.citation.strip() and r.refusal_citation.strip(), (code, m, pt)
                assert isinstance(r.effective_from, date)
                assert r.confidence in ("confirmed", "unconfirmed")
                assert (r.grant == "conditional") == (r.condition is not None)
                if r.citation.startswith("none:"):
                    assert r.confidence == "unconfirmed", (code, m, pt)


def test_every_pack_jurisdiction_states_every_mechanism(rules: Rules) -> None:
    for code in REQUIRED:
        j = rules.jurisdictions[code]
        assert set(j.consent_mechanisms) == set(Mechanism), code
        assert j.consent_refusal is not None, code
        assert j.gpc is not None, code


def test_unknown_mechanism_and_purpose_raise(rules: Rules) -> None:
    eu = rules.resolve("EU")
    with pytest.raises(RulesError, match="unknown consent mechanism"):
        eu.mechanism_rule("carrier_pigeon", "marketing")
    with pytest.raises(RulesError, match="unknown purpose type"):
        eu.mechanism_rule("api", "astrology")
    with pytest.raises(RulesError, match="unknown purpose type"):
        eu.gpc_opts_out("astrology")


# --- loading ---------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A writable copy of the packaged rule pack."""
    return copy_rule_pack(tmp_path)


def test_unknown_mechanism_in_yaml(data_dir: Path) -> None:
    def bad(doc: Any) -> None:
        doc["consent_mechanisms"]["smoke_signal"] = doc["consent_mechanisms"]["api"]

    edit(data_dir / "eu.yaml", bad)
    err = load_error(data_dir)
    assert err.message.startswith("eu.yaml: ")
    assert "consent_mechanisms.smoke_signal" in err.message


def test_bad_grant_value(data_dir: Path) -> None:
    edit(data_dir / "us-ca.yaml", lambda d: d["consent_mechanisms"]["api"].update(grant="maybe"))
    err = load_error(data_dir)
    assert "us-ca.yaml" in err.message
    assert any(p["path"] == "consent_mechanisms.api.grant" for p in err.details)


def test_conditional_without_condition(data_dir: Path) -> None:
    edit(data_dir / "br.yaml", lambda d: d["consent_mechanisms"]["api"].pop("condition"))
    err = load_error(data_dir)
    assert "br.yaml: consent_mechanisms.api" in err.message
    assert "condition is required" in err.message


def test_missing_citation_in_purpose_override(data_dir: Path) -> None:
    def bad(doc: Any) -> None:
        banner = doc["consent_mechanisms"]["implied_banner"]
        banner["purpose_types"]["sale_sharing"].pop("citation")

    edit(data_dir / "us-ca.yaml", bad)
    err = load_error(data_dir)
    assert "consent_mechanisms.implied_banner.purpose_types.sale_sharing.citation" in err.message


def test_bad_refusal_and_gpc_purpose(data_dir: Path) -> None:
    def bad(doc: Any) -> None:
        doc["consent_refusal"]["refusal"] = "sometimes"
        doc["gpc"]["opts_out_of"] = ["sale_sharing", "telepathy"]

    edit(data_dir / "us-co.yaml", bad)
    err = load_error(data_dir)
    paths = {p["path"] for p in err.details}
    assert {"consent_refusal.refusal", "gpc.opts_out_of[1]"} <= paths
    assert all(p["file"] == "us-co.yaml" for p in err.details)


def test_gpc_refusal_is_stated_once(data_dir: Path) -> None:
    def bad(doc: Any) -> None:
        doc["consent_mechanisms"]["gpc_signal"]["refusal"] = dict(doc["consent_refusal"])

    edit(data_dir / "uk.yaml", bad)
    err = load_error(data_dir)
    assert "uk.yaml" in err.message
    assert "gpc.opts_out_of" in err.message


def test_missing_mechanism_gets_strictest(data_dir: Path) -> None:
    def drop(doc: Any) -> None:
        del doc["consent_mechanisms"]["just_in_time"]
        del doc["consent_refusal"]

    edit(data_dir / "ca.yaml", drop)
    ca = load_rules(path=data_dir).resolve("CA")
    rule = ca.mechanism_rule("just_in_time", "marketing")
    assert rule.grant == "invalid"
    assert rule.notes == "not stated in the rule pack; strictest assumed"
    assert rule.confidence == "unconfirmed"
    assert rule.refusal == "valid"
    assert rule.refusal_confidence == "unconfirmed"


# --- the user-facing page matches the data ---------------------------------------------------


def test_doc_embeds_the_generated_tables(rules: Rules) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert consent_table_markdown(rules) in text, (
        "docs/consent-model.md is out of date: paste trustcart.rules.consent_table_markdown()"
    )
    for code in REQUIRED:
        assert f"| {code} |" in text
    for m in Mechanism:
        assert f"| {m.value} |" in text
