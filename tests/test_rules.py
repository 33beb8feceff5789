"""The packaged rule pack: values match rules-reference.md, lookups behave, every fact is cited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from importlib.resources import files
from typing import Any

import pytest
from fideslang.default_taxonomy import DEFAULT_TAXONOMY
from pydantic import BaseModel

from trustcart.errors import RulesError
from trustcart.rules import (
    ConsentRequirement,
    Duration,
    Jurisdiction,
    PurposeType,
    Right,
    RightKind,
    Rules,
    SensitiveCategory,
    load_rules,
)

REQUIRED = ["EU", "UK", "US-CA", "US-VA", "US-CO", "BR", "CA", "CA-QC"]
EU_MEMBERS = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
]  # fmt: skip


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules()


def d(amount: int, unit: str) -> Duration:
    return Duration.model_validate({"amount": amount, "unit": unit})


def test_package_data_is_reachable_through_importlib_resources() -> None:
    data = files("trustcart.rules") / "data"
    assert (data / "pack.yaml").is_file()
    assert (data / "eu.yaml").is_file()


def test_load_is_cached_and_versioned(rules: Rules) -> None:
    assert load_rules() is rules
    assert rules.version == "2026.11.3"


@pytest.mark.parametrize("code", REQUIRED)
def test_required_jurisdictions_load(rules: Rules, code: str) -> None:
    j = rules.jurisdictions[code]
    assert j.code == code
    assert not j.is_fallback
    assert j.fallback_reason is None
    assert j.rights, f"{code} has no rights"


@pytest.mark.parametrize(
    ("code", "response", "extension", "max_total", "acknowledge"),
    [
        ("EU", d(1, "months"), d(2, "months"), d(3, "months"), None),
        ("UK", d(1, "months"), d(2, "months"), d(3, "months"), None),
        ("US-CA", d(45, "days"), d(45, "days"), d(90, "days"), d(10, "business_days")),
        ("US-VA", d(45, "days"), d(45, "days"), d(90, "days"), None),
        ("US-CO", d(45, "days"), d(45, "days"), d(90, "days"), None),
        ("BR", d(15, "days"), None, None, None),
        ("CA", d(30, "days"), d(30, "days"), d(60, "days"), None),
        ("CA-QC", d(30, "days"), None, None, None),
    ],
)
def test_deadlines_match_reference(
    rules: Rules,
    code: str,
    response: Duration,
    extension: Duration | None,
    max_total: Duration | None,
    acknowledge: Duration | None,
) -> None:
    dl = rules.jurisdictions[code].deadline
    assert (dl.response, dl.extension, dl.max_total, dl.acknowledge) == (
        response,
        extension,
        max_total,
        acknowledge,
    )


def test_deadline_citations(rules: Rules) -> None:
    assert rules.resolve("EU").deadline.citation == "GDPR Art. 12(3)"
    assert "§7021" in rules.resolve("US-CA").deadline.citation
    assert rules.resolve("BR").deadline.citation == "LGPD Art. 19"
    assert "s.8(3)" in rules.resolve("CA").deadline.citation
    assert rules.resolve("CA-QC").deadline.citation == "P-39.1 s.32"


def _cited(obj: object) -> Iterator[dict[str, Any]]:
    """Every dumped model that carries a citation, at any depth."""
    if isinstance(obj, BaseModel):
        yield from _cited(obj.model_dump())
    elif isinstance(obj, dict):
        if "citation" in obj:
            yield obj
        for v in obj.values():
            yield from _cited(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _cited(v)


def test_every_entry_has_citation_date_and_confidence(rules: Rules) -> None:
    jurisdiction_facts = rules.model_dump(exclude={"transfers", "dpia", "ai_act"})
    cited = [*_cited(jurisdiction_facts), *_cited(rules.resolve("ZZ"))]
    assert len(cited) > 150
    for m in cited:
        assert isinstance(m["citation"], str) and m["citation"].strip(), m
        assert isinstance(m["effective_from"], date), m
        assert m["confidence"] in ("confirmed", "unconfirmed"), m
    # the walk reaches nested entries, not only top-level ones
    assert any(m.get("applies_to") == "opt_out_request" for m in cited)
    assert any(m.get("kind") == "deindexing" for m in cited)


def test_entries_the_reference_marks_unconfirmed_are_unconfirmed(rules: Rules) -> None:
    ca_other = {o.applies_to: o for o in rules.resolve("US-CA").deadline.other_deadlines}
    assert ca_other["opt_out_request"].duration == d(15, "business_days")
    assert ca_other["opt_out_request"].confidence == "unconfirmed"
    va_other = {o.applies_to: o for o in rules.resolve("US-VA").deadline.other_deadlines}
    assert va_other["appeal_decision"].duration == d(60, "days")
    assert va_other["appeal_decision"].confidence == "unconfirmed"
    assert rules.resolve("US-CO").deadline.confidence == "unconfirmed"
    br = rules.resolve("BR").sensitive_categories
    assert br and all(s.confidence == "unconfirmed" for s in br)
    # PIPEDA: "no statutory erasure/portability/ADM right (unconfirmed)" -> absent, and said so
    ca = rules.resolve("CA")
    for kind in (RightKind.ERASURE, RightKind.PORTABILITY, RightKind.AUTOMATED_DECISION):
        assert not ca.has_right(kind)
    assert ca.notes is not None and "unconfirmed" in ca.notes
    # ... and confirmed facts are not blanket-downgraded
    assert rules.resolve("EU").deadline.confidence == "confirmed"
    assert rules.resolve("US-CA").right(RightKind.OPT_OUT_SALE_SHARING).confidence == "confirmed"


@pytest.mark.parametrize(
    ("code", "kinds"),
    [
        (
            "EU",
            {"access", "explanation", "rectification", "erasure", "restriction", "portability",
             "objection", "automated_decision", "withdraw_consent"},
        ),
        (
            "US-CA",
            {"access", "erasure", "rectification", "opt_out_sale_sharing", "limit_sensitive",
             "non_discrimination", "admt_opt_out", "admt_access"},
        ),
        (
            "US-VA",
            {"access", "rectification", "erasure", "portability", "opt_out_targeted_ads",
             "opt_out_sale_sharing", "opt_out_profiling"},
        ),
        (
            "BR",
            {"confirmation", "access", "rectification", "erasure", "restriction", "portability",
             "info_sharing", "info_consent_refusal", "withdraw_consent", "objection",
             "automated_decision"},
        ),
        ("CA", {"access", "rectification"}),
        (
            "CA-QC",
            {"access", "portability", "rectification", "deindexing", "withdraw_consent",
             "automated_decision", "explanation"},
        ),
    ],
)  # fmt: skip
def test_rights_per_jurisdiction(rules: Rules, code: str, kinds: set[str]) -> None:
    assert {r.kind.value for r in rules.resolve(code).rights} == kinds


def test_right_lookup_and_absence(rules: Rules) -> None:
    eu = rules.resolve("EU")
    assert eu.right("explanation").citation.startswith("GDPR Art. 15(1)(h)")
    assert (
        rules.resolve("UK")
        .right(RightKind.AUTOMATED_DECISION)
        .citation.startswith("UK GDPR Arts. 22A-22D")
    )
    with pytest.raises(RulesError) as err:
        rules.resolve("CA").right(RightKind.ERASURE)
    assert "erasure" in err.value.message
    assert "access, rectification" in err.value.message
    with pytest.raises(RulesError, match="unknown right kind"):
        eu.has_right("teleportation")


def test_admt_rights_start_2027(rules: Rules) -> None:
    ca = rules.resolve("US-CA")
    assert ca.right(RightKind.ADMT_OPT_OUT).effective_from == date(2027, 1, 1)
    assert ca.has_right(RightKind.ADMT_OPT_OUT)
    assert not ca.has_right(RightKind.ADMT_OPT_OUT, on=date(2026, 12, 31))
    assert ca.has_right(RightKind.ADMT_ACCESS, on=date(2027, 1, 1))


def test_consent_models(rules: Rules) -> None:
    eu = rules.resolve("EU")
    assert eu.consent_requirement(PurposeType.ESSENTIAL).model == "not_required"
    for pt in ("analytics", "personalization", "marketing"):
        assert eu.consent_requirement(pt).model == "opt_in"
    assert "Art. 5(3)" in eu.consent_requirement("analytics").citation
    ca = rules.resolve("US-CA")
    assert ca.consent_requirement(PurposeType.SALE_SHARING).model == "opt_out"
    assert "§1798.120" in ca.consent_requirement(PurposeType.SALE_SHARING).citation
    assert ca.consent_requirement(PurposeType.SENSITIVE_DATA).model == "opt_out"
    assert "§1798.121" in ca.consent_requirement(PurposeType.SENSITIVE_DATA).citation
    assert rules.resolve("US-VA").consent_requirement("marketing").model == "opt_out"


def test_unstated_purpose_falls_back_to_opt_in(rules: Rules) -> None:
    br = rules.resolve("BR")
    assert PurposeType.MARKETING not in br.consent_model
    req = br.consent_requirement(PurposeType.MARKETING)
    assert isinstance(req, ConsentRequirement)
    assert req.model == "opt_in"
    assert req.notes == "not stated in the rule pack; strictest assumed"
    assert req.confidence == "unconfirmed"
    assert rules.resolve("EU").consent_requirement("ai_training").model == "opt_in"
    with pytest.raises(RulesError, match="unknown purpose type"):
        br.consent_requirement("astrology")


def test_gpc(rules: Rules) -> None:
    assert rules.resolve("US-CA").honours_gpc
    co = rules.resolve("US-CO")
    assert co.honours_gpc
    assert co.gpc is not None
    assert co.gpc.effective_from == date(2024, 7, 1)
    assert "6-1-1313" in co.gpc.citation
    for code in ("EU", "UK", "US-VA", "BR", "CA", "CA-QC"):
        assert not rules.resolve(code).honours_gpc, code


def test_max_fines(rules: Rules) -> None:
    eu = rules.resolve("EU").max_fine
    assert eu is not None and "4%" in eu.text and "83" in eu.citation
    br = rules.resolve("BR").max_fine
    assert br is not None and br.citation == "LGPD Art. 52(II)"


# --- resolve ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", REQUIRED)
def test_resolve_exact_and_case_insensitive(rules: Rules, code: str) -> None:
    assert rules.resolve(code) is rules.jurisdictions[code]
    assert rules.resolve(f" {code.lower()} ") is rules.jurisdictions[code]


@pytest.mark.parametrize("member", EU_MEMBERS)
def test_every_eu_member_state_resolves_to_eu(rules: Rules, member: str) -> None:
    j = rules.resolve(member.lower())
    assert j.code == "EU"
    assert j.regime == "GDPR"
    assert not j.is_fallback


def test_gb_resolves_to_uk(rules: Rules) -> None:
    assert rules.resolve("GB").code == "UK"
    assert rules.resolve("gb").regime == "UK GDPR"


@pytest.mark.parametrize("code", ["US-TX", "ZZ", "us-ny", "NO"])
def test_unknown_codes_get_strictest_default(rules: Rules, code: str) -> None:
    j = rules.resolve(code)
    assert j.is_fallback
    assert j.code == code.upper()
    assert j.fallback_reason is not None
    assert code.upper() in j.fallback_reason
    assert "strictest default" in j.fallback_reason
    for src in REQUIRED:
        assert src in j.fallback_reason
    assert rules.resolve(code) is j  # built once per code


def test_strictest_default_content(rules: Rules) -> None:
    j = rules.resolve("US-TX")
    every_kind = {r.kind for src in REQUIRED for r in rules.jurisdictions[src].rights}
    assert {r.kind for r in j.rights} == every_kind
    access = j.right(RightKind.ACCESS)
    assert "EU: GDPR Art. 15" in access.citation
    assert "CA-QC: P-39.1 s.27" in access.citation
    assert access.notes is not None and "US-CA" in access.notes
    assert j.right(RightKind.DEINDEXING).citation.startswith("CA-QC:")
    assert all(r.confidence == "unconfirmed" for r in j.rights)
    # shortest response deadline (LGPD 15 days), no extension, shortest acknowledgement
    assert j.deadline.response == d(15, "days")
    assert j.deadline.extension is None
    assert j.deadline.acknowledge == d(10, "business_days")
    assert "BR" in j.deadline.citation
    # opt-in for every purpose type, including those known regimes leave to opt-out
    assert set(j.consent_model) == set(PurposeType)
    assert all(c.model == "opt_in" for c in j.consent_model.values())
    assert j.consent_requirement(PurposeType.ESSENTIAL).model == "opt_in"
    # union of sensitive categories, each citing its source
    keys = {s.data_category for s in j.sensitive_categories}
    assert {"user.location.precise", "user.criminal_history", "user.biometric"} <= keys
    assert any(s.citation.startswith("US-CA:") for s in j.sensitive_categories)
    assert j.honours_gpc


def test_garbage_code_still_answers_with_fallback(rules: Rules) -> None:
    j = rules.resolve("narnia")
    assert j.is_fallback
    assert j.fallback_reason is not None and "NARNIA" in j.fallback_reason
    with pytest.raises(RulesError):
        rules.resolve("  ")


# --- sensitivity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("user.biometric", "sensitive"),
        ("user.biometric.fingerprint", "sensitive"),  # descendant of a flagged category
        ("user.health_and_medical.genetic", "sensitive"),
        ("user.location.precise", "sensitive"),  # CPRA only
        ("user.government_id.passport_number", "sensitive"),
        ("user.criminal_history", "sensitive"),
        ("user.demographic.race_ethnicity", "sensitive"),
        ("user.demographic", "personal"),  # ancestor of a sensitive category is not sensitive
        ("user", "personal"),
        ("user.location.imprecise", "personal"),
        ("user.contact.email", "personal"),
        ("user.financialx", "personal"),  # prefix match is per dot-segment
        ("system", "anonymous"),
        ("system.operations", "anonymous"),
        ("telemetry.custom", "personal"),  # unknown top level: safe side
    ],
)
def test_sensitivity_of(rules: Rules, key: str, expected: str) -> None:
    assert rules.sensitivity_of(key) == expected


def test_sensitive_in(rules: Rules) -> None:
    hits = rules.sensitive_in("user.location.precise")
    assert [code for code, _ in hits] == ["US-CA"]
    _, entry = hits[0]
    assert isinstance(entry, SensitiveCategory)
    assert entry.citation == "CCPA §1798.140(ae)"
    fp = {code for code, _ in rules.sensitive_in("user.biometric.fingerprint")}
    assert {"EU", "UK", "US-CA", "BR"} <= fp
    assert rules.sensitive_in("user.contact.email") == []
    financial = dict(rules.sensitive_in("user.financial.bank_account"))
    assert financial["US-CA"].notes is not None and "credentials" in financial["US-CA"].notes


def test_every_named_category_exists_in_fideslang(rules: Rules) -> None:
    keys = {c.fides_key for c in DEFAULT_TAXONOMY.data_category}
    for j in rules.jurisdictions.values():
        for s in j.sensitive_categories:
            assert s.data_category in keys


# --- purposes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("use", "expected"),
    [
        ("personalize.profiling", PurposeType.PERSONALIZATION),
        ("personalize", PurposeType.PERSONALIZATION),
        ("essential.service.payment_processing", PurposeType.ESSENTIAL),
        ("analytics.reporting.ad_performance", PurposeType.ANALYTICS),
        ("marketing.advertising.third_party.targeted", PurposeType.MARKETING),
        ("functional.storage", PurposeType.FUNCTIONAL),
        ("third_party_sharing", PurposeType.SALE_SHARING),
        ("third_party_sharing.legal_obligation", PurposeType.ESSENTIAL),  # longest prefix wins
        ("train_ai_system", PurposeType.AI_TRAINING),
    ],
)
def test_purpose_type_of(rules: Rules, use: str, expected: PurposeType) -> None:
    assert rules.purpose_type_of(use) is expected


@pytest.mark.parametrize("use", ["collect", "employment.recruitment", "personalizex"])
def test_unmapped_data_use_raises(rules: Rules, use: str) -> None:
    with pytest.raises(RulesError, match="no purpose type"):
        rules.purpose_type_of(use)


def test_models_are_frozen(rules: Rules) -> None:
    j: Jurisdiction = rules.resolve("EU")
    right: Right = j.rights[0]
    with pytest.raises(ValueError, match="frozen"):
        right.citation = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        j.code = "XX"  # type: ignore[misc]


def test_transfer_dpia_and_ai_act_entries_cite_and_never_guess_a_date(rules: Rules) -> None:
    """Chapter V, DPIA and AI Act entries: every one cites; a date is either given or left
    empty (``None``, shown as "date not recorded") - never guessed."""
    sections = rules.model_dump(include={"transfers", "dpia", "ai_act"})
    cited = list(_cited(sections))
    assert len(cited) > 40
    for m in cited:
        assert isinstance(m["citation"], str) and m["citation"].strip(), m
        if "effective_from" in m:
            assert m["effective_from"] is None or isinstance(m["effective_from"], date), m
        if "confidence" in m:
            assert m["confidence"] in ("confirmed", "unconfirmed"), m
    transfers = rules.require_transfers()
    assert transfers.adequacy_for("BR").effective_from == date(2026, 1, 26)  # type: ignore[union-attr]
    assert transfers.adequacy_for("GB").expires == date(2031, 12, 27)  # type: ignore[union-attr]
    assert transfers.adequacy_for("US").requires == "dpf_certification"  # type: ignore[union-attr]
    assert transfers.adequacy_for("IN") is None and transfers.adequacy_for("CN") is None
    # localisation regimes carry no date the source does not give, and say so
    for loc in transfers.localisation:
        assert loc.effective_from is None and loc.confidence == "unconfirmed"
    ai = rules.require_ai_act()
    annex = ai.dates["annex_iii"]
    assert annex.date == date(2026, 8, 2)
    assert [(a.date, a.confidence) for a in annex.alternatives] == [
        (date(2027, 12, 2), "unconfirmed")
    ]
