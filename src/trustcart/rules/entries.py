"""The cited facts a jurisdiction is made of: rights, deadlines, consent rules, sensitive data.

Why every entry repeats ``citation``, ``effective_from`` and ``confidence``: a finding, a rights
request or a consent decision records *which provision* it relied on and whether that provision is
settled, so each fact has to carry its own source rather than inherit one from its file.
All models are frozen and reject unknown keys, so a misspelt field in the YAML fails at load time.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from trustcart.rules._taxonomy import check_data_category, check_data_use
from trustcart.rules.kinds import (
    Confidence,
    ConsentModel,
    DurationUnit,
    GrantWorth,
    Mechanism,
    PurposeType,
    RefusalWorth,
    RightKind,
)

Citation = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A legal citation (e.g. ``GDPR Art. 12(3)``); never empty."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

JurisdictionCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]
"""ISO 3166-1 alpha-2, optionally with an ISO 3166-2 subdivision: ``EU``, ``US-CA``, ``CA-QC``."""

DataCategoryKey = Annotated[str, AfterValidator(check_data_category)]
DataUseKey = Annotated[str, AfterValidator(check_data_use)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Cited(_Frozen):
    """Fields shared by every fact: where it comes from, since when, and how sure we are."""

    citation: Citation
    effective_from: date
    confidence: Confidence
    notes: Text | None = None


class Duration(_Frozen):
    """A statutory period such as 1 month (GDPR) or 10 business days (CCPA regs §7021(a))."""

    amount: int = Field(gt=0)
    unit: DurationUnit

    def __str__(self) -> str:
        unit = self.unit.replace("_", " ")
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"

    def min_calendar_days(self) -> int:
        """The fewest calendar days this period can span, whatever the start date.

        Why: ranking "shortest" deadlines across units (the strictest default) must not depend on
        the day a request arrives; a month is at least 28 days per month, ``n`` business days at
        least ``n`` plus two weekend days per full working week.
        """
        if self.unit == "months":
            return 28 * self.amount
        if self.unit == "business_days":
            return self.amount + 2 * (self.amount // 5)
        return self.amount


class Right(_Cited):
    """A data-subject right granted by a regime."""

    kind: RightKind


class OtherDeadline(_Cited):
    """A deadline for something other than the main response (opt-outs, appeals)."""

    applies_to: Text
    duration: Duration


class RefusalNotice(_Cited):
    """What a refusal of a rights request must tell the person (reasons, complaint, appeal)."""

    text: Text


class ResponseDeadline(_Cited):
    """How long the controller has to answer a rights request.

    ``response`` is the initial period; ``extension`` the extra period allowed (usually with notice
    to the subject); ``max_total`` the cap; ``acknowledge`` the deadline to confirm receipt where
    one exists (CCPA regs §7021(a)).
    """

    response: Duration
    extension: Duration | None = None
    max_total: Duration | None = None
    acknowledge: Duration | None = None
    other_deadlines: tuple[OtherDeadline, ...] = ()
    refusal: RefusalNotice | None = None


class ConsentRequirement(_Cited):
    """How a purpose type must be authorised in a jurisdiction."""

    model: ConsentModel


class SensitiveCategory(_Cited):
    """A fideslang data category (and all its descendants) that a regime treats as sensitive."""

    data_category: DataCategoryKey
    label: Text


class GpcRule(_Cited):
    """What a Global Privacy Control signal means in a jurisdiction.

    ``honoured`` says whether the rule pack states a *duty* to honour the signal (US-CA regs
    §7025(b)-(c), US-CO §6-1-1313); ``opts_out_of`` lists the purpose types TrustCart treats a
    signal as refusing. The two differ on purpose: where no duty is stated, a signal is still
    honoured as a refusal because honouring a refusal is never unlawful.
    """

    honoured: bool
    opts_out_of: tuple[PurposeType, ...] = ()

    @model_validator(mode="after")
    def _no_duplicates(self) -> Self:
        if len(set(self.opts_out_of)) != len(self.opts_out_of):
            raise ValueError("opts_out_of lists a purpose type more than once")
        return self


class MaxFine(_Cited):
    """The maximum administrative fine, in the statute's words."""

    text: Text


class AliasSet(_Cited):
    """Other codes that resolve to this jurisdiction (EU member states, ``GB`` for the UK)."""

    codes: tuple[JurisdictionCode, ...]


class PurposeMapping(_Cited):
    """A fideslang data use (and its descendants) classified as one purpose type."""

    data_use: DataUseKey
    purpose_type: PurposeType


class MechanismGrant(_Cited):
    """What a grant (an "I agree") through a mechanism is worth for a purpose type.

    ``conditional`` requires a ``condition`` in words the caller can check and record (e.g. the
    API caller attests a clear affirmative act by the person).
    """

    grant: GrantWorth
    condition: Text | None = None

    @model_validator(mode="after")
    def _condition_iff_conditional(self) -> Self:
        if (self.grant == "conditional") != (self.condition is not None):
            raise ValueError("condition is required exactly when grant is 'conditional'")
        return self


class RefusalRule(_Cited):
    """What a refusal or withdrawal through a mechanism is worth (GDPR Art. 7(3): as easy as
    giving consent, so through every mechanism)."""

    refusal: RefusalWorth


class MechanismEntry(MechanismGrant):
    """A mechanism's rule in one jurisdiction: the grant for every purpose type, overrides per
    purpose type, and optionally a refusal rule replacing the jurisdiction's ``consent_refusal``.
    """

    purpose_types: dict[PurposeType, MechanismGrant] = {}
    refusal: RefusalRule | None = None


class MechanismRule(_Frozen):
    """The answer to "what is an event through ``mechanism`` for ``purpose_type`` worth here?".

    ``citation``, ``effective_from``, ``confidence`` and ``notes`` are those of the *grant*
    rule; the ``refusal_*`` fields those of the refusal rule, because the two usually rest on
    different provisions (GDPR Art. 4(11) for the grant, Art. 7(3) for the withdrawal) and a
    consent record must cite the one it relied on.
    """

    mechanism: Mechanism
    purpose_type: PurposeType
    grant: GrantWorth
    refusal: RefusalWorth
    condition: Text | None = None
    citation: Citation
    effective_from: date
    confidence: Confidence
    notes: Text | None = None
    refusal_citation: Citation
    refusal_effective_from: date
    refusal_confidence: Confidence
    refusal_notes: Text | None = None

    @property
    def grant_counts(self) -> bool:
        """True only for an unconditional ``valid`` grant; a conditional one needs the caller's
        attestation of ``condition`` before it counts."""
        return self.grant == "valid"
