"""One jurisdiction's rule set: its rights, response deadline, consent model and sensitive data."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Self, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from trustcart.errors import RulesError
from trustcart.rules.entries import (
    AliasSet,
    ConsentRequirement,
    GpcRule,
    JurisdictionCode,
    MaxFine,
    MechanismEntry,
    MechanismGrant,
    MechanismRule,
    RefusalRule,
    ResponseDeadline,
    Right,
    SensitiveCategory,
    Text,
)
from trustcart.rules.kinds import Mechanism, PurposeType, RightKind

NOT_STATED_NOTE = "not stated in the rule pack; strictest assumed"
GPC_NOT_REQUIRED_NOTE = (
    "not required by the rule pack; a GPC signal is still honoured as a refusal of sale/sharing "
    "and marketing, because honouring a refusal is never unlawful"
)
_GPC_DEFAULT_OPT_OUTS = (PurposeType.SALE_SHARING, PurposeType.MARKETING)
"""What a GPC signal asks for where the rule pack states nothing: "do not sell or share",
which TrustCart reads as sale/sharing and (targeted) marketing."""


class Jurisdiction(BaseModel):
    """The legal facts of one regime, as loaded from its YAML file (or built as a fallback).

    A right a regime does not grant is simply absent from ``rights``; a purpose type the rule pack
    says nothing about is absent from ``consent_model`` (see :meth:`consent_requirement`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: JurisdictionCode
    name: Text
    regime: Text
    law: Text
    effective_from: date
    """Date the law generally applies from; entries may carry later dates of their own."""
    aliases: AliasSet | None = None
    notes: Text | None = None
    rights: tuple[Right, ...]
    deadline: ResponseDeadline
    consent_model: dict[PurposeType, ConsentRequirement] = {}
    sensitive_categories: tuple[SensitiveCategory, ...] = ()
    gpc: GpcRule | None = None
    consent_refusal: RefusalRule | None = None
    """What a refusal/withdrawal is worth through any mechanism without a refusal of its own."""
    consent_mechanisms: dict[Mechanism, MechanismEntry] = {}
    max_fine: MaxFine | None = None
    is_fallback: bool = False
    fallback_reason: Text | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        kinds = [r.kind for r in self.rights]
        dupes = sorted({k for k in kinds if kinds.count(k) > 1})
        if dupes:
            raise ValueError(f"right kinds listed more than once: {', '.join(dupes)}")
        if self.is_fallback != (self.fallback_reason is not None):
            raise ValueError("fallback_reason is required exactly when is_fallback is true")
        gpc_entry = self.consent_mechanisms.get(Mechanism.GPC_SIGNAL)
        if gpc_entry is not None and gpc_entry.refusal is not None:
            raise ValueError(
                "consent_mechanisms.gpc_signal.refusal: what a GPC signal refuses is stated once, "
                "in gpc.opts_out_of"
            )
        return self

    @property
    def honours_gpc(self) -> bool:
        """True where the rule pack states a duty to honour Global Privacy Control (US-CA, US-CO).

        False means no such duty is stated, not that ignoring the signal is recommended.
        """
        return self.gpc is not None and self.gpc.honoured

    def gpc_rule(self) -> GpcRule:
        """The cited GPC rule; where the rule pack has none, a refusal of sale/sharing and
        marketing that no provision requires (``confidence="unconfirmed"``)."""
        if self.gpc is not None:
            return self.gpc
        return GpcRule(
            honoured=False,
            opts_out_of=_GPC_DEFAULT_OPT_OUTS,
            citation=f"none: no {self.regime} rule on GPC in the rule pack",
            effective_from=self.effective_from,
            confidence="unconfirmed",
            notes=GPC_NOT_REQUIRED_NOTE,
        )

    def gpc_opts_out(self, purpose_type: PurposeType | str) -> bool:
        """Whether a GPC signal (``Sec-GPC: 1``) opts the person out of ``purpose_type`` here.

        The basis is :meth:`gpc_rule` (its ``citation``, and ``honoured`` for whether the rule
        pack states a duty or TrustCart honours the signal voluntarily).
        """
        return _parse(PurposeType, purpose_type, "purpose type") in self.gpc_rule().opts_out_of

    def mechanism_rule(
        self, mechanism: Mechanism | str, purpose_type: PurposeType | str
    ) -> MechanismRule:
        """What a grant and a refusal through ``mechanism`` are worth for ``purpose_type``.

        The grant comes from ``consent_mechanisms[mechanism]``: its per-purpose-type override if
        any, else its default. Where the rule pack states nothing, the grant is ``invalid`` with
        ``confidence="unconfirmed"`` and the note "not stated in the rule pack; strictest
        assumed": recording consent that does not count is a breach, asking again is not.

        The refusal comes from the mechanism's own ``refusal``, else ``consent_refusal``, else
        ``valid`` (honouring a refusal is never unlawful). For ``gpc_signal`` it is ``valid``
        exactly for the purpose types in ``gpc.opts_out_of`` and cites the GPC rule.

        A grant rule says whether an event *counts as consent*; whether consent is needed at all
        is :meth:`consent_requirement`.
        """
        mechanism = _parse(Mechanism, mechanism, "consent mechanism")
        purpose_type = _parse(PurposeType, purpose_type, "purpose type")
        entry = self.consent_mechanisms.get(mechanism)
        grant: MechanismGrant
        if entry is None:
            grant = MechanismGrant(
                grant="invalid",
                citation=(
                    f"none: no {self.regime} rule for mechanism '{mechanism.value}' in the "
                    "rule pack"
                ),
                effective_from=self.effective_from,
                confidence="unconfirmed",
                notes=NOT_STATED_NOTE,
            )
        else:
            grant = entry.purpose_types.get(purpose_type, entry)
        refusal = self._refusal(mechanism, purpose_type, entry)
        return MechanismRule(
            mechanism=mechanism,
            purpose_type=purpose_type,
            grant=grant.grant,
            condition=grant.condition,
            citation=grant.citation,
            effective_from=grant.effective_from,
            confidence=grant.confidence,
            notes=grant.notes,
            refusal=refusal.refusal,
            refusal_citation=refusal.citation,
            refusal_effective_from=refusal.effective_from,
            refusal_confidence=refusal.confidence,
            refusal_notes=refusal.notes,
        )

    def _refusal(
        self, mechanism: Mechanism, purpose_type: PurposeType, entry: MechanismEntry | None
    ) -> RefusalRule:
        if mechanism is Mechanism.GPC_SIGNAL:
            gpc = self.gpc_rule()
            covered = purpose_type in gpc.opts_out_of
            return RefusalRule(
                refusal="valid" if covered else "invalid",
                citation=gpc.citation,
                effective_from=gpc.effective_from,
                confidence=gpc.confidence,
                notes=gpc.notes
                if covered
                else f"a GPC signal does not express a refusal of '{purpose_type.value}' here; "
                "ask the person through another mechanism",
            )
        if entry is not None and entry.refusal is not None:
            return entry.refusal
        if self.consent_refusal is not None:
            return self.consent_refusal
        return RefusalRule(
            refusal="valid",
            citation=f"none: no {self.regime} rule on refusals in the rule pack",
            effective_from=self.effective_from,
            confidence="unconfirmed",
            notes="not stated in the rule pack; a refusal is honoured (never unlawful)",
        )

    def has_right(self, kind: RightKind | str, on: date | None = None) -> bool:
        """Whether the regime grants ``kind``; with ``on``, only if already in effect that day."""
        kind = _parse(RightKind, kind, "right kind")
        return any(r.kind == kind and (on is None or r.effective_from <= on) for r in self.rights)

    def right(self, kind: RightKind | str) -> Right:
        """The cited right of ``kind``.

        Raises :class:`RulesError` listing the rights the regime does grant when ``kind`` is absent.
        """
        kind = _parse(RightKind, kind, "right kind")
        for r in self.rights:
            if r.kind == kind:
                return r
        granted = ", ".join(r.kind.value for r in self.rights) or "none"
        raise RulesError(
            f"{self.code} ({self.regime}) grants no '{kind.value}' right; rights in the rule "
            f"pack: {granted}",
            details={"jurisdiction": self.code, "right": kind.value},
        )

    def consent_requirement(self, purpose_type: PurposeType | str) -> ConsentRequirement:
        """How ``purpose_type`` must be authorised here.

        Where the rule pack states nothing for this purpose type in this jurisdiction, the answer
        is ``opt_in`` with ``confidence="unconfirmed"`` and ``notes`` "not stated in the rule pack;
        strictest assumed": asking for consent is never unlawful, skipping it may be.
        """
        purpose_type = _parse(PurposeType, purpose_type, "purpose type")
        found = self.consent_model.get(purpose_type)
        if found is not None:
            return found
        return ConsentRequirement(
            model="opt_in",
            citation=f"none: no {self.regime} rule for '{purpose_type.value}' in the rule pack",
            effective_from=self.effective_from,
            confidence="unconfirmed",
            notes=NOT_STATED_NOTE,
        )


_E = TypeVar("_E", bound=StrEnum)


def _parse(enum: type[_E], value: _E | str, what: str) -> _E:
    """``value`` as a member of ``enum``, or a RulesError listing the known values."""
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(member.value for member in enum)
        raise RulesError(f"unknown {what} {value!r}; known: {known}") from None
