"""Whether a purpose may use data for a person: the rules, separated from storage and caching.

The answer depends on three things only: the data map (the purpose's legal basis in each
jurisdiction and the data categories it declares), the rule pack (the jurisdiction's consent
model, sensitive categories and citations) and the person's latest recorded choice for the
purpose. :class:`PurposePolicy` precomputes everything that does not depend on the person, so
the per-check work is a dictionary lookup and a few comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from trustcart.catalog import DataMap, Purpose
from trustcart.consent.model import Decision, Permission, StateEntry
from trustcart.rules import Jurisdiction, PurposeType, Rules

#: Legal bases under which the person's consent is what makes the use lawful.
CONSENT = "consent"
#: Bases under which a recorded refusal works as an objection / opt-out.
_OBJECTABLE = {"legitimate_interests", "notice_opt_out"}


@dataclass(frozen=True, slots=True)
class PurposePolicy:
    """What one purpose needs in one jurisdiction for one set of data categories."""

    purpose: str
    jurisdiction: str
    basis: str
    needs_consent: bool
    objectable: bool
    citation: str
    blocked: str | None = None  # a reason no choice can fix (e.g. undeclared data category)
    note: str = ""


def _declared_categories(dm: DataMap, purpose: str) -> set[str]:
    return {c for _ds, fld in dm.fields_for(purpose) for c in fld.data_categories}


def _covered(category: str, declared: set[str]) -> bool:
    return any(category == d or category.startswith(d + ".") for d in declared)


def _sensitive(j: Jurisdiction, categories: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for c in categories:
        for s in j.sensitive_categories:
            if c == s.data_category or c.startswith(s.data_category + "."):
                out.append((c, s.citation))
                break
    return out


def _basis_for(purpose: Purpose, j: Jurisdiction) -> str | None:
    if j.is_fallback:
        return None  # the strictest default never relies on a basis recorded for elsewhere
    value = purpose.legal_basis.get(j.code)
    return None if value is None else str(value.value if hasattr(value, "value") else value)


def build_policy(
    dm: DataMap, rules: Rules, purpose: Purpose, j: Jurisdiction, categories: Sequence[str]
) -> PurposePolicy:
    """Precompute the person-independent part of a permission check."""
    pt = rules.purpose_type_of(purpose.data_use)
    requirement = j.consent_requirement(pt)
    basis = _basis_for(purpose, j)
    note = ""
    if basis is None:
        basis = {"opt_in": CONSENT, "opt_out": "notice_opt_out"}.get(
            requirement.model, "not_required"
        )
        note = (
            f"no legal basis recorded for {j.code} in the data map; "
            f"the rule pack's {requirement.model} model for {pt} applies"
        )
    citation = requirement.citation
    declared = _declared_categories(dm, purpose.key)
    undeclared = [c for c in categories if not _covered(c, declared)]
    if undeclared:
        return PurposePolicy(
            purpose.key,
            j.code,
            basis,
            False,
            False,
            "",
            blocked=(
                f"data categories {', '.join(undeclared)} are not declared for purpose "
                f"'{purpose.key}' in the data map; declare them (and the notice will change) "
                "before using them for this purpose"
            ),
        )
    sensitive = _sensitive(j, categories)
    if sensitive:
        sens_req = j.consent_requirement(PurposeType.SENSITIVE_DATA)
        cats = ", ".join(c for c, _ in sensitive)
        if sens_req.model == "opt_in" and basis != CONSENT:
            note = f"sensitive data ({cats}) needs explicit consent here, whatever the basis"
            basis, citation = CONSENT, f"{sensitive[0][1]}; {sens_req.citation}"
        elif sens_req.model == "opt_out":
            note = f"sensitive data ({cats}): the person may limit its use"
            citation = f"{citation}; {sens_req.citation}"
    return PurposePolicy(
        purpose=purpose.key,
        jurisdiction=j.code,
        basis=basis,
        needs_consent=basis == CONSENT,
        objectable=basis in _OBJECTABLE or requirement.model == "opt_out",
        citation=citation,
        note=note,
    )


def decide(
    policy: PurposePolicy,
    state: StateEntry | None,
    *,
    now: datetime,
    current_wording: str | None,
    granted_wording: str | None,
    max_age: timedelta | None,
) -> Permission:
    """Combine the precomputed policy with the person's latest choice."""
    p, j, basis = policy.purpose, policy.jurisdiction, policy.basis
    evidence = (state.event_id,) if state else ()

    def answer(allowed: bool, reason: str) -> Permission:
        full = f"{reason} ({policy.note})" if policy.note else reason
        return Permission(allowed, full, basis, evidence, policy.citation or None, p, j)

    if policy.blocked:
        return Permission(False, policy.blocked, basis, (), None, p, j)
    if policy.needs_consent:
        if state is None:
            return answer(False, f"no consent recorded for '{p}' and {j} requires it")
        if state.decision is not Decision.GRANTED:
            return answer(
                False,
                f"consent {state.decision.value} via {state.mechanism} at {state.at.date()}",
            )
        if not state.valid:
            return answer(
                False, f"the recorded grant via {state.mechanism} is not valid consent in {j}"
            )
        if max_age is not None and now - state.at > max_age:
            return answer(
                False,
                f"consent given {state.at.date().isoformat()} is older than the configured "
                f"{max_age.days} days; ask again",
            )
        if current_wording is not None and granted_wording != current_wording:
            return answer(
                False,
                f"the notice wording for '{p}' changed since consent was given; "
                "re-consent required",
            )
        return answer(True, f"consent given via {state.mechanism} at {state.at.date().isoformat()}")
    if policy.objectable and state is not None and state.decision is not Decision.GRANTED:
        return answer(
            False,
            f"the person opted out / objected via {state.mechanism} at {state.at.date()}",
        )
    if policy.objectable:
        return answer(True, f"legal basis {basis}: no opt-out or objection recorded")
    return answer(True, f"legal basis {basis}: consent is not what makes this use lawful")
