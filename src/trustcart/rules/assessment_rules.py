"""Assessment rules as data: DPIA screening criteria (WP248, Art. 35(3)) and EU AI Act tiers.

Why data: the criteria, the threshold, the mandatory cases and especially the AI Act dates are
facts with citations that move (the Annex III date may be postponed); code only evaluates them.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trustcart.rules.entries import Citation, Text
from trustcart.rules.kinds import Confidence

AiTier = Literal["prohibited", "high", "limited", "minimal"]
#: Facts an assessor answers that are not WP248 criteria but make an Art. 35(3) case.
EXTRA_FACTS = ("special_category", "public_area_monitoring")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CriterionSignals(_Frozen):
    """Data-map facts read as meeting a criterion (TrustCart's interpretation, not law)."""

    data_uses: tuple[Text, ...] = ()
    data_categories: tuple[Text, ...] = ()
    data_subjects: tuple[Text, ...] = ()
    automated_decision_making: bool = False
    sensitive: bool = False
    combines_datasets: bool = False


class Criterion(_Frozen):
    """One WP248 criterion."""

    key: Text
    number: int = Field(ge=1, le=9)
    label: Text
    citation: Citation
    signals: CriterionSignals | None = None
    signal_notes: Text | None = None


class MandatoryCase(_Frozen):
    """An Art. 35(3) case: a DPIA is required when all of ``all_of`` hold."""

    key: Text
    label: Text
    citation: Citation
    all_of: tuple[Text, ...] = Field(min_length=1)


class PriorConsultation(_Frozen):
    """Art. 36: consult the authority when high residual risk remains."""

    citation: Citation
    effective_from: date
    confidence: Confidence
    notes: Text | None = None
    answer_within_weeks: int = Field(gt=0)
    extension_weeks: int = Field(ge=0)


class DpiaRules(_Frozen):
    """``dpia.yaml``."""

    citation: Citation
    effective_from: date
    confidence: Confidence
    threshold: int = Field(ge=1)
    threshold_citation: Citation
    criteria: tuple[Criterion, ...]
    mandatory: tuple[MandatoryCase, ...]
    prior_consultation: PriorConsultation

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        keys = [c.key for c in self.criteria]
        if len(keys) != len(set(keys)):
            raise ValueError("a DPIA criterion key is listed more than once")
        known = set(keys) | set(EXTRA_FACTS)
        for case in self.mandatory:
            unknown = [k for k in case.all_of if k not in known]
            if unknown:
                raise ValueError(f"{case.key}: unknown criteria {unknown}")
        return self

    def criterion(self, key: str) -> Criterion | None:
        """The criterion with ``key``."""
        return next((c for c in self.criteria if c.key == key), None)


class DateAlternative(_Frozen):
    """Another date being discussed for the same milestone (e.g. a proposed postponement)."""

    date: date
    label: Text
    confidence: Confidence


class Milestone(_Frozen):
    """A date from which a group of AI Act obligations applies."""

    date: date
    citation: Citation
    confidence: Confidence
    alternatives: tuple[DateAlternative, ...] = ()


class AiUseCase(_Frozen):
    """A use of a model and the tier it puts the model in."""

    key: Text
    label: Text
    tier: AiTier
    citation: Citation
    applies_from: Text | None = None
    confidence: Confidence
    notes: Text | None = None


class ProfilingRule(_Frozen):
    """Art. 6(3): an Annex III system that profiles is always high-risk."""

    citation: Citation
    confidence: Confidence
    notes: Text | None = None


class AiActRules(_Frozen):
    """``ai_act.yaml``."""

    law: Text
    citation: Citation
    dates: dict[str, Milestone]
    tiers: tuple[AiTier, ...]
    use_cases: tuple[AiUseCase, ...]
    profiling_rule: ProfilingRule

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        keys = [u.key for u in self.use_cases]
        if len(keys) != len(set(keys)):
            raise ValueError("an AI Act use case is listed more than once")
        for u in self.use_cases:
            if u.applies_from is not None and u.applies_from not in self.dates:
                raise ValueError(f"use case {u.key}: unknown date {u.applies_from!r}")
        if sorted(self.tiers) != sorted(("prohibited", "high", "limited", "minimal")):
            raise ValueError("tiers must list prohibited, high, limited and minimal once each")
        return self

    def use_case(self, key: str) -> AiUseCase | None:
        """The use case with ``key``."""
        return next((u for u in self.use_cases if u.key == key), None)
