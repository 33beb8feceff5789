"""Closed vocabularies of the rule pack: right kinds, purpose types, sensitivity, confidence.

Why enums: other modules (rights workflow, consent ledger, gateway, compliance checks) key their
own records on these names, so they are part of the public contract and must stay stable. A new
name may be added; an existing one is never renamed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Confidence = Literal["confirmed", "unconfirmed"]
"""``unconfirmed`` marks a fact flagged as such in rules-reference.md (or otherwise not yet
verified), so the product can show it with a caveat instead of as settled law."""

Sensitivity = Literal["anonymous", "personal", "sensitive"]
"""Coarse sensitivity of a fideslang data category, see :meth:`Rules.sensitivity_of`."""

ConsentModel = Literal["opt_in", "opt_out", "not_required"]
"""How a purpose must be authorised: prior consent, a right to object/opt out, or neither."""

DurationUnit = Literal["days", "business_days", "months"]
"""Units the statutes use: calendar days, business days (CCPA regs) and months (GDPR)."""


class RightKind(StrEnum):
    """A data-subject right, named once for every regime that grants it."""

    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    OBJECTION = "objection"
    AUTOMATED_DECISION = "automated_decision"
    """GDPR Art. 22, UK Arts. 22A-22D, LGPD Art. 20 review, Quebec s.12.1 information."""
    EXPLANATION = "explanation"
    """Meaningful information about the logic of automated decisions (GDPR Art. 15(1)(h))."""
    OPT_OUT_SALE_SHARING = "opt_out_sale_sharing"
    OPT_OUT_TARGETED_ADS = "opt_out_targeted_ads"
    OPT_OUT_PROFILING = "opt_out_profiling"
    LIMIT_SENSITIVE = "limit_sensitive"
    NON_DISCRIMINATION = "non_discrimination"
    WITHDRAW_CONSENT = "withdraw_consent"
    CONFIRMATION = "confirmation"
    """Confirmation that processing exists (LGPD Art. 18 I)."""
    INFO_SHARING = "info_sharing"
    """Information on the entities data was shared with (LGPD Art. 18 VII)."""
    INFO_CONSENT_REFUSAL = "info_consent_refusal"
    """Information on refusing consent and its consequences (LGPD Art. 18 VIII)."""
    DEINDEXING = "deindexing"
    """De-indexing (Quebec s.28.1)."""
    ADMT_OPT_OUT = "admt_opt_out"
    """Opt out of automated decision-making technology (CCPA regs §7221)."""
    ADMT_ACCESS = "admt_access"
    """Access to the purpose, logic and outcome of ADMT (CCPA regs §7222)."""


class PurposeType(StrEnum):
    """Legal class of a processing purpose; fideslang data uses map onto these (purposes.yaml).

    ``sensitive_data`` is reached from the data categories involved, not from a data use.
    """

    ESSENTIAL = "essential"
    FUNCTIONAL = "functional"
    ANALYTICS = "analytics"
    PERSONALIZATION = "personalization"
    MARKETING = "marketing"
    SALE_SHARING = "sale_sharing"
    SENSITIVE_DATA = "sensitive_data"
    AI_TRAINING = "ai_training"


class Mechanism(StrEnum):
    """How a consent event was captured; what it is worth depends on the jurisdiction.

    Why an enum: the consent ledger records the mechanism with every event as proof of *how*
    consent was obtained (GDPR Art. 7(1)), and the rule pack says, per jurisdiction and purpose
    type, whether a grant or a refusal through it counts (``consent_mechanisms`` in the YAML).
    """

    OPT_IN_CHECKBOX = "opt_in_checkbox"
    """An unticked box the person ticks (or an equivalent explicit "accept" control)."""
    PREFERENCE_CENTER = "preference_center"
    """Per-purpose choices the person sets in the preference center."""
    IMPLIED_BANNER = "implied_banner"
    """A banner or notice treating continued use as agreement ("continue browsing = consent")."""
    JUST_IN_TIME = "just_in_time"
    """A prompt shown at the moment a feature first needs the data, answered by the person."""
    GPC_SIGNAL = "gpc_signal"
    """A Global Privacy Control signal (``Sec-GPC: 1``): an opt-out, never a grant."""
    API = "api"
    """An event posted by the shop's backend through TrustCart's API on the person's behalf."""
    TCF_STRING = "tcf_string"
    """An IAB TCF v2 consent string produced by a consent-management platform."""


GrantWorth = Literal["valid", "invalid", "conditional"]
"""What a grant through a mechanism is worth: counts, does not count, or counts only if the
``condition`` of the rule holds (the caller must check and record it)."""

RefusalWorth = Literal["valid", "invalid"]
"""What a refusal or withdrawal through a mechanism is worth. ``invalid`` means the mechanism
cannot express that refusal (a GPC signal says nothing about analytics), never that a refusal
the person did express may be ignored."""
