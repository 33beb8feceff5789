"""DPIA: screening each processing activity, and the DPIA record itself.

Screening (:func:`screen_purpose`) reads data-map facts against the rule pack's WP248 criteria and
Art. 35(3) cases; an assessor confirms or overrides any criterion with a reason (a
:class:`ScreeningRecord`). Two or more criteria met, or any Art. 35(3) case, means a DPIA is
required. The record (:class:`DpiaRecord`) scores each risk likelihood × severity before and after
its measures; a high residual risk raises the Art. 36 prior-consultation flag.

Scales (TrustCart practice, not law): likelihood and severity 1-4 (1 remote/negligible,
2 possible/limited, 3 likely/significant, 4 almost certain/maximum); a risk's score is their
product, 1-16: 1-3 low, 4-8 medium, 9-16 high.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from trustcart.catalog.primitives import Key
from trustcart.errors import NotFound

if TYPE_CHECKING:
    from trustcart.catalog.model import DataMap, Purpose
    from trustcart.rules import Rules
    from trustcart.rules.assessment_rules import Criterion

RiskLevel = Literal["low", "medium", "high"]
Source = Literal["data map", "assessor", "not answered"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def risk_level(score: int) -> RiskLevel:
    """1-3 low, 4-8 medium, 9-16 high."""
    return "high" if score >= 9 else "medium" if score >= 4 else "low"


def content_sha256(body: dict[str, Any], *, exclude: tuple[str, ...]) -> str:
    """sha256 of a record's canonical JSON without its approval fields: what a sign-off binds to."""
    kept = {k: v for k, v in body.items() if k not in exclude}
    return hashlib.sha256(orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)).hexdigest()


# --- screening ----------------------------------------------------------------------------


class Answer(_Model):
    """An assessor's answer to one criterion (or Art. 35(3) fact), with the reason."""

    met: bool
    reason: str


class ScreeningRecord(_Model):
    """Assessor answers for one purpose; keys are criterion keys or ``special_category`` /
    ``public_area_monitoring``."""

    key: Key
    answers: dict[str, Answer] = Field(default_factory=dict)
    by: str | None = None
    answered_on: date | None = None


@dataclass(frozen=True)
class CriterionResult:
    """Whether one criterion is met, and why."""

    key: str
    number: int
    label: str
    citation: str
    met: bool | None
    source: Source
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MandatoryResult:
    """An Art. 35(3) case that holds."""

    key: str
    label: str
    citation: str


@dataclass(frozen=True)
class Screening:
    """The screening of one purpose."""

    purpose: str
    criteria: list[CriterionResult]
    mandatory: list[MandatoryResult]
    threshold: int
    threshold_citation: str

    @property
    def met(self) -> list[CriterionResult]:
        """Criteria met."""
        return [c for c in self.criteria if c.met]

    @property
    def count(self) -> int:
        """How many criteria are met."""
        return len(self.met)

    @property
    def unanswered(self) -> list[str]:
        """Criteria neither derivable from the map nor answered by an assessor."""
        return [c.key for c in self.criteria if c.met is None]

    @property
    def required(self) -> bool:
        """Two or more criteria, or any Art. 35(3) case."""
        return self.count >= self.threshold or bool(self.mandatory)

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "purpose": self.purpose,
            "count": self.count,
            "threshold": self.threshold,
            "required": self.required,
            "criteria": [c.__dict__ for c in self.criteria],
            "mandatory": [m.__dict__ for m in self.mandatory],
            "unanswered": self.unanswered,
        }


def _within(key: str, roots: tuple[str, ...]) -> str | None:
    return next((r for r in roots if key == r or key.startswith(r + ".")), None)


def _derive(
    crit: Criterion, dm: DataMap, rules: Rules, purpose: Purpose
) -> tuple[bool | None, list[str]]:
    """What the data map says about one criterion (``None`` when it cannot say)."""
    sig = crit.signals
    if sig is None:
        return None, []
    reasons: list[str] = []
    fields = dm.fields_for(purpose.key)
    if sig.data_uses and (root := _within(purpose.data_use, sig.data_uses)):
        reasons.append(f"data use {purpose.data_use} (within {root})")
    if sig.automated_decision_making and purpose.automated_decision_making.enabled:
        reasons.append("the purpose declares automated decision-making")
    if sig.data_categories:
        for ds, f in fields:
            for c in f.data_categories:
                if root := _within(c, sig.data_categories):
                    reasons.append(f"{ds.key}.{f.name} is {c} (within {root})")
    if sig.sensitive:
        for ds, f in fields:
            for c in f.data_categories:
                if rules.sensitivity_of(c) == "sensitive":
                    reasons.append(f"{ds.key}.{f.name} is {c}, sensitive in the rule pack")
    if sig.data_subjects:
        subjects = set(purpose.data_subjects) | {f.data_subject for _, f in fields}
        hit = sorted(subjects & set(sig.data_subjects))
        if hit:
            reasons.append(f"data subjects: {', '.join(hit)}")
    if sig.combines_datasets:
        combined = _combined_datasets(dm, purpose.key)
        if combined:
            reasons.append(f"combines datasets {', '.join(combined)}")
    return bool(reasons), list(dict.fromkeys(reasons))


def _combined_datasets(dm: DataMap, purpose_key: str) -> list[str]:
    """Datasets in different systems that each add personal categories the others lack."""
    cats: dict[str, tuple[str, set[str]]] = {}
    for ds, f in dm.fields_for(purpose_key):
        personal = {c for c in f.data_categories if not c.startswith("system")}
        if personal:
            cats.setdefault(ds.key, (ds.system, set()))[1].update(personal)
    contributing = []
    for key, (_system, own) in cats.items():
        others = set().union(*(c for k, (_, c) in cats.items() if k != key))
        if own - others:
            contributing.append(key)
    systems = {cats[k][0] for k in contributing}
    return sorted(contributing) if len(contributing) >= 2 and len(systems) >= 2 else []


def _special_category(dm: DataMap, rules: Rules, purpose_key: str) -> tuple[bool, list[str]]:
    """Art. 9 data for the purpose: categories the EU rules list as special categories."""
    eu = rules.resolve("EU")
    roots = tuple(s.data_category for s in eu.sensitive_categories if "Art. 9" in s.citation)
    hits = [
        f"{ds.key}.{f.name} is {c}"
        for ds, f in dm.fields_for(purpose_key)
        for c in f.data_categories
        if _within(c, roots)
    ]
    return bool(hits), hits


def screen_purpose(
    dm: DataMap, rules: Rules, purpose_key: str, record: ScreeningRecord | None = None
) -> Screening:
    """Screen one purpose against WP248 and Art. 35(3); assessor answers override the map."""
    dpia = rules.require_dpia()
    purpose = dm.purpose(purpose_key)
    if purpose is None:
        raise NotFound(f"no purpose {purpose_key!r} in the data map")
    answers = record.answers if record else {}
    results: list[CriterionResult] = []
    for crit in dpia.criteria:
        met, reasons = _derive(crit, dm, rules, purpose)
        source: Source = "data map" if met is not None else "not answered"
        if crit.key in answers:
            met, source, reasons = answers[crit.key].met, "assessor", [answers[crit.key].reason]
        results.append(
            CriterionResult(crit.key, crit.number, crit.label, crit.citation, met, source, reasons)
        )
    facts = {r.key: bool(r.met) for r in results}
    special, _ = _special_category(dm, rules, purpose_key)
    facts["special_category"] = special
    facts["public_area_monitoring"] = False
    for extra in ("special_category", "public_area_monitoring"):
        if extra in answers:
            facts[extra] = answers[extra].met
    mandatory = [
        MandatoryResult(m.key, m.label, m.citation)
        for m in dpia.mandatory
        if all(facts.get(k, False) for k in m.all_of)
    ]
    return Screening(purpose_key, results, mandatory, dpia.threshold, dpia.threshold_citation)


def screen_datamap(
    dm: DataMap, rules: Rules, records: list[ScreeningRecord] | None = None
) -> list[Screening]:
    """Screen every purpose of the map."""
    by_key = {r.key: r for r in records or []}
    return [screen_purpose(dm, rules, p.key, by_key.get(p.key)) for p in dm.purposes]


# --- the DPIA record ----------------------------------------------------------------------


class Risk(_Model):
    """A risk to people, scored before and after its measures."""

    key: Key
    description: str
    likelihood: int = Field(ge=1, le=4)
    severity: int = Field(ge=1, le=4)
    measures: list[str] = Field(default_factory=list)
    residual_likelihood: int | None = Field(default=None, ge=1, le=4)
    residual_severity: int | None = Field(default=None, ge=1, le=4)

    @property
    def score(self) -> int:
        """likelihood × severity (1-16)."""
        return self.likelihood * self.severity

    @property
    def residual_score(self) -> int:
        """Residual likelihood × severity; the inherent value where a residual one is missing."""
        return (self.residual_likelihood or self.likelihood) * (
            self.residual_severity or self.severity
        )


class Opinion(_Model):
    """The DPO's opinion (Art. 35(2): the controller seeks the DPO's advice)."""

    by: str
    given_on: date
    text: str


class SignOff(_Model):
    """Who accepted the DPIA, and the content it accepted (``content_sha256``)."""

    by: str
    role: str
    signed_on: date
    content_sha256: str | None = None


class PriorConsultation(_Model):
    """An Art. 36 consultation of the supervisory authority."""

    requested_on: date
    authority: str
    reference: str | None = None


SIGN_OFF_FIELDS = ("sign_off",)


class DpiaRecord(_Model):
    """A data protection impact assessment of one or more purposes."""

    key: Key
    title: str
    purposes: list[str] = Field(min_length=1)
    description: str
    necessity_proportionality: str
    risks: list[Risk] = Field(default_factory=list)
    dpo_opinion: Opinion | None = None
    prior_consultation: PriorConsultation | None = None
    review_by: date | None = None
    sign_off: SignOff | None = None

    @property
    def residual_score(self) -> int:
        """The highest residual risk score (0 with no risks)."""
        return max((r.residual_score for r in self.risks), default=0)

    @property
    def residual_level(self) -> RiskLevel:
        """Level of the highest residual risk."""
        return risk_level(self.residual_score) if self.risks else "low"

    @property
    def prior_consultation_required(self) -> bool:
        """Art. 36: a high residual risk remains."""
        return self.residual_level == "high"

    def content_hash(self) -> str:
        """What a sign-off binds to: the record without its sign-off."""
        return content_sha256(self.model_dump(mode="json"), exclude=SIGN_OFF_FIELDS)

    @property
    def signed_off(self) -> bool:
        """Signed off, and unchanged since (a sign-off without a hash counts as given)."""
        s = self.sign_off
        return s is not None and (s.content_sha256 in (None, self.content_hash()))


def render_dpia(
    record: DpiaRecord,
    rules: Rules,
    fmt: Literal["markdown", "html"] = "markdown",
    screenings: list[Screening] | None = None,
) -> str:
    """The DPIA as Markdown or as a standalone HTML document (autoescaped)."""
    if fmt == "markdown":
        return _markdown(record, rules, screenings or [])
    from trustcart.templating import jinja_env

    return (
        jinja_env("trustcart.assessments")
        .get_template("dpia.html.j2")
        .render(d=record, screenings=screenings or [], rules=rules.require_dpia(), level=risk_level)
    )


def _markdown(d: DpiaRecord, rules: Rules, screenings: list[Screening]) -> str:
    pc = rules.require_dpia().prior_consultation
    out = [f"# DPIA: {d.title}", "", f"Key `{d.key}` · purposes: {', '.join(d.purposes)}", ""]
    out += ["## Description of the processing", "", d.description, ""]
    out += ["## Necessity and proportionality", "", d.necessity_proportionality, ""]
    for s in screenings:
        out += [f"## Screening: {s.purpose}", ""]
        out += [
            f"{s.count} of {len(s.criteria)} criteria met (threshold {s.threshold}, "
            f"{s.threshold_citation}); DPIA {'required' if s.required else 'not required'}.",
            "",
            "| # | criterion | met | source | why |",
            "|---|---|---|---|---|",
        ]
        for c in s.criteria:
            met = {True: "yes", False: "no", None: "not answered"}[c.met]
            out.append(f"| {c.number} | {c.label} | {met} | {c.source} | {'; '.join(c.reasons)} |")
        for m in s.mandatory:
            out.append(f"\nMandatory: {m.label} ({m.citation}).")
        out.append("")
    out += [
        "## Risks",
        "",
        "| risk | L | S | score | measures | residual |",
        "|---|---|---|---|---|---|",
    ]
    for r in d.risks:
        out.append(
            f"| {r.description} | {r.likelihood} | {r.severity} | {r.score} "
            f"({risk_level(r.score)}) | {'; '.join(r.measures)} | {r.residual_score} "
            f"({risk_level(r.residual_score)}) |"
        )
    out += [
        "",
        f"Residual risk: **{d.residual_level}** (highest residual score {d.residual_score}).",
        "",
    ]
    if d.prior_consultation_required:
        consult = (
            f"requested on {d.prior_consultation.requested_on} from "
            f"{d.prior_consultation.authority}"
            if d.prior_consultation
            else "**not yet requested**"
        )
        out += [
            f"Prior consultation required ({pc.citation}): {consult}. The authority answers "
            f"within {pc.answer_within_weeks} weeks (+{pc.extension_weeks}).",
            "",
        ]
    out += ["## DPO opinion", ""]
    if d.dpo_opinion:
        out += [f"{d.dpo_opinion.text}", "", f"— {d.dpo_opinion.by}, {d.dpo_opinion.given_on}", ""]
    else:
        out += ["Not recorded.", ""]
    out += ["## Sign-off", ""]
    if d.sign_off:
        state = "valid" if d.signed_off else "**outdated: the DPIA changed after it**"
        out += [
            f"Signed off by {d.sign_off.by} ({d.sign_off.role}) on {d.sign_off.signed_on} "
            f"({state}).",
            "",
        ]
    else:
        out += ["Not signed off.", ""]
    if d.review_by:
        out += [f"Review by {d.review_by}.", ""]
    return "\n".join(out)
