"""One jurisdiction's rule set: its rights, response deadline, consent model and sensitive data."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from trustcart.errors import RulesError
from trustcart.rules.entries import (
    AliasSet,
    ConsentRequirement,
    GpcRule,
    JurisdictionCode,
    MaxFine,
    ResponseDeadline,
    Right,
    SensitiveCategory,
    Text,
)
from trustcart.rules.kinds import PurposeType, RightKind

NOT_STATED_NOTE = "not stated in the rule pack; strictest assumed"


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
        return self

    @property
    def honours_gpc(self) -> bool:
        """True where the rule pack states a duty to honour Global Privacy Control (US-CA, US-CO).

        False means no such duty is stated, not that ignoring the signal is recommended.
        """
        return self.gpc is not None and self.gpc.honoured

    def has_right(self, kind: RightKind | str, on: date | None = None) -> bool:
        """Whether the regime grants ``kind``; with ``on``, only if already in effect that day."""
        kind = _right_kind(kind)
        return any(r.kind == kind and (on is None or r.effective_from <= on) for r in self.rights)

    def right(self, kind: RightKind | str) -> Right:
        """The cited right of ``kind``.

        Raises :class:`RulesError` listing the rights the regime does grant when ``kind`` is absent.
        """
        kind = _right_kind(kind)
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
        purpose_type = _purpose_type(purpose_type)
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


def _right_kind(kind: RightKind | str) -> RightKind:
    try:
        return RightKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in RightKind)
        raise RulesError(f"unknown right kind {kind!r}; known: {known}") from None


def _purpose_type(purpose_type: PurposeType | str) -> PurposeType:
    try:
        return PurposeType(purpose_type)
    except ValueError:
        known = ", ".join(p.value for p in PurposeType)
        raise RulesError(f"unknown purpose type {purpose_type!r}; known: {known}") from None
