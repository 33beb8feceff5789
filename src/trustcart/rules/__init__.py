"""Legal facts as versioned data: jurisdictions, rights, deadlines, consent, sensitive data.

Why data and not code: the facts change (new laws, new regulations, court rulings) on a schedule
unrelated to releases, and every one must be traceable to its citation. The YAML under ``data/``
is the rule pack; this package loads it into frozen, typed models and answers questions about it::

    rules = load_rules()
    j = rules.resolve("fr")            # -> EU (GDPR)
    j.deadline.response                # Duration(amount=1, unit="months")
    rules.sensitivity_of("user.biometric.fingerprint")   # "sensitive"
    j.mechanism_rule("implied_banner", "personalization").grant   # "invalid" (GDPR Art. 4(11))
    rules.resolve("US-CA").gpc_opts_out("sale_sharing")          # True (regs §7025(b)-(c))
"""

from __future__ import annotations

from trustcart.rules.consent_table import consent_table_markdown
from trustcart.rules.deadlines import add_business_days, add_months, due_date
from trustcart.rules.diff import FindingChange, RuleChange, RulesDiff, diff_findings, diff_rules
from trustcart.rules.entries import (
    AliasSet,
    ConsentRequirement,
    Duration,
    GpcRule,
    MaxFine,
    MechanismEntry,
    MechanismGrant,
    MechanismRule,
    OtherDeadline,
    PurposeMapping,
    RefusalNotice,
    RefusalRule,
    ResponseDeadline,
    Right,
    SensitiveCategory,
)
from trustcart.rules.jurisdiction import Jurisdiction
from trustcart.rules.kinds import (
    Confidence,
    ConsentModel,
    DurationUnit,
    GrantWorth,
    Mechanism,
    PurposeType,
    RefusalWorth,
    RightKind,
    Sensitivity,
)
from trustcart.rules.loader import default_data_dir, load_rules
from trustcart.rules.review_rules import ReviewEntry, ReviewRules, Safeguard
from trustcart.rules.rules import Rules

__all__ = [
    "AliasSet",
    "Confidence",
    "ConsentModel",
    "ConsentRequirement",
    "Duration",
    "DurationUnit",
    "FindingChange",
    "GpcRule",
    "GrantWorth",
    "Jurisdiction",
    "MaxFine",
    "Mechanism",
    "MechanismEntry",
    "MechanismGrant",
    "MechanismRule",
    "OtherDeadline",
    "PurposeMapping",
    "PurposeType",
    "RefusalNotice",
    "RefusalRule",
    "RefusalWorth",
    "ResponseDeadline",
    "ReviewEntry",
    "ReviewRules",
    "Right",
    "RightKind",
    "RuleChange",
    "Rules",
    "RulesDiff",
    "Safeguard",
    "SensitiveCategory",
    "Sensitivity",
    "add_business_days",
    "add_months",
    "consent_table_markdown",
    "default_data_dir",
    "diff_findings",
    "diff_rules",
    "due_date",
    "load_rules",
]
