"""The basis a transfer relies on: what is recorded, and how free-text safeguards are read.

Why both: the vendor registry records a basis as structured data (mechanism, SCC module, transfer
impact assessment, derogation and its consent purpose), while data maps written before it carry a
free-text ``transfer_safeguard`` ("Standard Contractual Clauses (Decision 2021/914, module 2)").
:func:`parse_safeguard` reads the common spellings so those maps keep working; text it cannot read
is reported, never guessed.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trustcart.rules.transfer_rules import DerogationPoint

MechanismName = Literal["adequacy", "dpf", "scc", "bcr", "derogation"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class TransferImpactAssessment(_Model):
    """A transfer impact assessment (Schrems II, C-311/18) and its supplementary measures."""

    completed_on: date | None = None
    reference: str | None = None
    supplementary_measures: tuple[str, ...] = ()


class TransferBasis(_Model):
    """What a transfer relies on.

    - ``adequacy``: an Art. 45 decision covers the destination (checked against the rule pack);
    - ``dpf``: the importer is certified under the EU-US Data Privacy Framework;
    - ``scc`` (with ``scc_module``) or ``bcr``: an Art. 46/47 safeguard, which needs ``tia``;
    - ``derogation`` (with ``derogation`` point a-g; point a needs ``consent_purpose``).
    """

    mechanism: MechanismName
    scc_module: int | None = Field(default=None, ge=1, le=4)
    derogation: DerogationPoint | None = None
    consent_purpose: str | None = None
    tia: TransferImpactAssessment | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _fields_fit_mechanism(self) -> Self:
        if self.scc_module is not None and self.mechanism != "scc":
            raise ValueError("scc_module is only for mechanism 'scc'")
        if self.mechanism == "derogation" and self.derogation is None:
            raise ValueError("mechanism 'derogation' needs the Art. 49(1) point (derogation: a-g)")
        if self.derogation is not None and self.mechanism != "derogation":
            raise ValueError("derogation is only for mechanism 'derogation'")
        return self

    def describe(self) -> str:
        """Plain words for messages and documents."""
        if self.mechanism == "scc":
            module = f", module {self.scc_module}" if self.scc_module else ""
            return f"Standard Contractual Clauses{module}"
        if self.mechanism == "bcr":
            return "Binding Corporate Rules"
        if self.mechanism == "dpf":
            return "EU-US Data Privacy Framework certification"
        if self.mechanism == "derogation":
            return f"Art. 49(1)({self.derogation}) derogation"
        return "adequacy decision"


_SCC = re.compile(r"\bSCCs?\b|standard contractual clauses", re.IGNORECASE)
_MODULE = re.compile(r"\bmodule\s*([1-4])\b", re.IGNORECASE)
_BCR = re.compile(r"\bBCRs?\b|binding corporate rules", re.IGNORECASE)
_DPF = re.compile(r"\bDPF\b|data privacy framework", re.IGNORECASE)
_ART49 = re.compile(r"art(?:icle|\.)?\s*49\s*(?:\(1\))?\s*\(([a-g])\)", re.IGNORECASE)
_ADEQUACY = re.compile(r"\badequa(?:cy|te)\b|art(?:icle|\.)?\s*45\b", re.IGNORECASE)
_TIA = re.compile(r"\bTIA\b|transfer impact assessment", re.IGNORECASE)


def parse_safeguard(text: str | None) -> TransferBasis | None:
    """Read a free-text safeguard; ``None`` when empty or when no known mechanism is named.

    Recognised (case-insensitive): "SCC"/"Standard Contractual Clauses" (+ "module N"),
    "BCR"/"Binding Corporate Rules", "DPF"/"Data Privacy Framework", "Art. 49(1)(x)",
    "adequacy"/"Art. 45". A mention of "TIA" or "transfer impact assessment" records that one
    was done (without a date). When several are named, the strongest is kept, in the order
    adequacy, DPF, SCC, BCR, derogation.
    """
    if not text or not text.strip():
        return None
    tia = TransferImpactAssessment() if _TIA.search(text) else None
    if _ADEQUACY.search(text):
        return TransferBasis(mechanism="adequacy", notes=text)
    if _DPF.search(text):
        return TransferBasis(mechanism="dpf", notes=text)
    if _SCC.search(text):
        module = _MODULE.search(text)
        return TransferBasis(
            mechanism="scc",
            scc_module=int(module.group(1)) if module else None,
            tia=tia,
            notes=text,
        )
    if _BCR.search(text):
        return TransferBasis(mechanism="bcr", tia=tia, notes=text)
    point = _ART49.search(text)
    if point:
        return TransferBasis(
            mechanism="derogation",
            derogation=point.group(1).lower(),
            notes=text,
        )
    return None
