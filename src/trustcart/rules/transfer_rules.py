"""International transfer rules as data: adequacy list, safeguards, derogations, localisation.

Why a separate file of the pack: Chapter V facts are about *destinations*, not about the regime a
person lives in, so they do not fit a jurisdiction file. Every entry carries its citation; an
adequacy decision without a date in the source keeps ``effective_from`` empty instead of a guessed
date (treated as in force, shown as "date not recorded").
"""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trustcart.rules.entries import Citation, Text
from trustcart.rules.kinds import Confidence

Party = Literal["controller", "processor"]
MechanismKind = Literal["scc", "bcr"]
DerogationPoint = Literal["a", "b", "c", "d", "e", "f", "g"]
LocalisationRule = Literal[
    "export_needs_mechanism", "initial_collection_in_country", "blocked_destinations"
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Adequacy(_Frozen):
    """One Art. 45 adequacy decision: a country (or international organisation) and its limits.

    ``requires`` names a fact the recipient must show for the decision to cover it (for the US:
    certification under the EU-US Data Privacy Framework); ``scope`` says in words what it covers.
    """

    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    organisation: Text | None = None
    name: Text
    scope: Text | None = None
    requires: Literal["dpf_certification"] | None = None
    expires: date | None = None
    citation: Citation
    effective_from: date | None = None
    confidence: Confidence
    notes: Text | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.country is None) == (self.organisation is None):
            raise ValueError("an adequacy entry names exactly one of country or organisation")
        return self

    def in_force(self, on: date) -> bool:
        """Whether the decision covers ``on`` (started, not expired)."""
        started = self.effective_from is None or self.effective_from <= on
        return started and (self.expires is None or on <= self.expires)


class SccModule(_Frozen):
    """An SCC module: who exports and who imports (Decision 2021/914)."""

    module: int = Field(ge=1, le=4)
    exporter: Party
    importer: Party
    label: Text


class Safeguard(_Frozen):
    """An Art. 46/47 tool (SCCs, BCRs) and whether it needs a transfer impact assessment."""

    name: Text
    citation: Citation
    effective_from: date | None = None
    confidence: Confidence
    needs_tia: bool
    tia_citation: Citation | None = None
    notes: Text | None = None
    modules: tuple[SccModule, ...] = ()

    def module_for(self, exporter: Party, importer: Party) -> SccModule | None:
        """The SCC module for a pair of roles (``None`` when the tool has no modules)."""
        return next(
            (m for m in self.modules if (m.exporter, m.importer) == (exporter, importer)), None
        )


class Derogation(_Frozen):
    """One Art. 49(1) point."""

    point: DerogationPoint
    label: Text
    citation: Citation
    needs_consent_purpose: bool = False


class Derogations(_Frozen):
    """Art. 49 derogations, interpreted restrictively."""

    citation: Citation
    effective_from: date | None = None
    confidence: Confidence
    notes: Text | None = None
    points: tuple[Derogation, ...]

    def get(self, point: str) -> Derogation | None:
        """The derogation for ``point`` (``"a"`` … ``"g"``)."""
        return next((d for d in self.points if d.point == point), None)


class Localisation(_Frozen):
    """A regime restricting data leaving, or requiring collection inside, its territory."""

    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$")
    law: Text
    rule: LocalisationRule
    citation: Citation
    effective_from: date | None = None
    confidence: Confidence
    notes: Text | None = None
    blocked_destinations: tuple[str, ...] = ()


class TransferRules(_Frozen):
    """``transfers.yaml``: Chapter V for data leaving the EU/EEA, plus localisation regimes."""

    regime: Text
    origin: Text
    citation: Citation
    effective_from: date
    confidence: Confidence
    adequacy: tuple[Adequacy, ...]
    mechanisms: dict[MechanismKind, Safeguard]
    derogations: Derogations
    localisation: tuple[Localisation, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Self:
        countries = [a.country for a in self.adequacy if a.country]
        dupes = sorted({c for c in countries if countries.count(c) > 1})
        if dupes:
            raise ValueError(f"adequacy lists a country more than once: {', '.join(dupes)}")
        points = [d.point for d in self.derogations.points]
        if len(points) != len(set(points)):
            raise ValueError("a derogation point is listed more than once")
        return self

    def adequacy_for(self, country: str) -> Adequacy | None:
        """The adequacy decision for an ISO country code, if any (whatever its dates)."""
        return next((a for a in self.adequacy if a.country == country.upper()), None)

    def localisation_for(self, jurisdiction: str) -> Localisation | None:
        """The localisation regime of a country code (``CN``, ``RU``, ``IN``), if any."""
        code = jurisdiction.split("-")[0].upper()
        return next((loc for loc in self.localisation if loc.jurisdiction == code), None)
