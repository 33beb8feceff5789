"""The strictest default applied to a code that is not in the rule pack.

Why a union and not a guess: for a place whose law we have not encoded, the safe behaviour is to
honour every right any encoded regime grants, answer within the shortest deadline, ask consent for
every purpose and treat every category any regime calls sensitive as sensitive. Every entry keeps
the citation of the regime it came from, and all are ``unconfirmed`` because none is confirmed law
for the requested place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from trustcart.rules.entries import (
    ConsentRequirement,
    GpcRule,
    MechanismEntry,
    MechanismGrant,
    MechanismRule,
    OtherDeadline,
    RefusalRule,
    ResponseDeadline,
    Right,
    SensitiveCategory,
)
from trustcart.rules.jurisdiction import Jurisdiction
from trustcart.rules.kinds import GrantWorth, Mechanism, PurposeType, RightKind

FALLBACK_REGIME = "strictest default"
_CODE = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")


def _merged_rights(sources: Sequence[Jurisdiction]) -> tuple[Right, ...]:
    by_kind: dict[RightKind, list[tuple[str, Right]]] = {}
    for j in sources:
        for r in j.rights:
            by_kind.setdefault(r.kind, []).append((j.code, r))
    merged = []
    for kind in RightKind:  # enum order keeps the output stable
        granted = by_kind.get(kind)
        if not granted:
            continue
        merged.append(
            Right(
                kind=kind,
                citation="; ".join(f"{code}: {r.citation}" for code, r in granted),
                effective_from=min(r.effective_from for _, r in granted),
                confidence="unconfirmed",
                notes="strictest default; granted in " + ", ".join(code for code, _ in granted),
            )
        )
    return tuple(merged)


def _strictest_deadline(sources: Sequence[Jurisdiction]) -> ResponseDeadline:
    shortest = min(sources, key=lambda j: j.deadline.response.min_calendar_days())
    acks = [j for j in sources if j.deadline.acknowledge is not None]
    ack_src = min(
        acks,
        key=lambda j: j.deadline.acknowledge.min_calendar_days() if j.deadline.acknowledge else 0,
        default=None,
    )
    citation = f"{shortest.code}: {shortest.deadline.citation} (response)"
    if ack_src is not None:
        citation += f"; {ack_src.code}: {ack_src.deadline.citation} (acknowledgement)"
    others = tuple(
        OtherDeadline(
            applies_to=o.applies_to,
            duration=o.duration,
            citation=f"{j.code}: {o.citation}",
            effective_from=o.effective_from,
            confidence="unconfirmed",
            notes=f"strictest default; from {j.code}",
        )
        for j in sources
        for o in j.deadline.other_deadlines
    )
    return ResponseDeadline(
        response=shortest.deadline.response,
        extension=None,
        max_total=None,
        acknowledge=ack_src.deadline.acknowledge if ack_src is not None else None,
        other_deadlines=others,
        citation=citation,
        effective_from=shortest.deadline.effective_from,
        confidence="unconfirmed",
        notes=(
            f"strictest default: the shortest response period in the rule pack "
            f"({shortest.code}, {shortest.deadline.response}), no extension assumed"
        ),
    )


def _opt_in_everywhere(sources: Sequence[Jurisdiction]) -> dict[PurposeType, ConsentRequirement]:
    opt_ins = [
        (j.code, c) for j in sources for c in j.consent_model.values() if c.model == "opt_in"
    ]
    parts: dict[str, dict[str, None]] = {}
    for code, c in opt_ins:
        for part in c.citation.split("; "):
            parts.setdefault(code, {})[part] = None
    basis = " | ".join(f"{code}: {'; '.join(cited)}" for code, cited in parts.items())
    earliest = min((c.effective_from for _, c in opt_ins), default=sources[0].effective_from)
    citation = f"strictest default (opt-in standard of {basis})" if basis else FALLBACK_REGIME
    return {
        pt: ConsentRequirement(
            model="opt_in",
            citation=citation,
            effective_from=earliest,
            confidence="unconfirmed",
            notes="strictest default: prior opt-in consent assumed for every purpose type",
        )
        for pt in PurposeType
    }


def _union_sensitive(sources: Sequence[Jurisdiction]) -> tuple[SensitiveCategory, ...]:
    return tuple(
        s.model_copy(
            update={
                "citation": f"{j.code}: {s.citation}",
                "confidence": "unconfirmed",
                "notes": f"strictest default; sensitive in {j.code}"
                + (f" ({s.notes})" if s.notes else ""),
            }
        )
        for j in sources
        for s in j.sensitive_categories
    )


def _gpc(sources: Sequence[Jurisdiction]) -> GpcRule:
    """Honoured (as a duty) if any source states a duty; opts out of the union of purpose types."""
    rules = [(j.code, j.gpc_rule()) for j in sources]
    honouring = [code for code, g in rules if g.honoured]
    union = {pt for _, g in rules for pt in g.opts_out_of}
    notes = "strictest default: opts out of every purpose type any source's GPC rule covers"
    if honouring:
        notes += "; a duty to honour GPC is stated in " + ", ".join(honouring)
    return GpcRule(
        honoured=bool(honouring),
        opts_out_of=tuple(pt for pt in PurposeType if pt in union),
        citation="; ".join(
            f"{code}: {g.citation}"
            for code, g in rules
            if g.opts_out_of and (g.honoured or not honouring)
        ),
        effective_from=min(g.effective_from for _, g in rules),
        confidence="unconfirmed",
        notes=notes,
    )


def _joined(parts: Sequence[tuple[str, str]]) -> str:
    """``[("EU", "a"), ("UK", "a"), ("BR", "b")]`` -> ``"EU, UK: a | BR: b"`` (stable order)."""
    by_text: dict[str, list[str]] = {}
    for code, text in parts:
        by_text.setdefault(text, []).append(code)
    return " | ".join(f"{', '.join(codes)}: {text}" for text, codes in by_text.items())


def _strictest_grant(rules: Sequence[tuple[str, MechanismRule]]) -> MechanismGrant:
    """Valid only if valid everywhere; invalid if invalid anywhere; otherwise conditional on
    every source's condition."""
    invalid = [(c, r) for c, r in rules if r.grant == "invalid"]
    conditional = [(c, r) for c, r in rules if r.grant == "conditional"]
    deciding = invalid or conditional or list(rules)
    grant: GrantWorth = "invalid" if invalid else "conditional" if conditional else "valid"
    condition = (
        _joined([(c, r.condition) for c, r in conditional if r.condition])
        if grant == "conditional"
        else None
    )
    why = {
        "invalid": "invalid because it is invalid in " + ", ".join(c for c, _ in invalid),
        "conditional": "conditional on the conditions of " + ", ".join(c for c, _ in conditional),
        "valid": "valid in every jurisdiction of the rule pack",
    }[grant]
    return MechanismGrant(
        grant=grant,
        condition=condition,
        citation=_joined([(c, r.citation) for c, r in deciding]),
        effective_from=min(r.effective_from for _, r in deciding),
        confidence="unconfirmed",
        notes=f"strictest default: {why}",
    )


def _strictest_mechanisms(
    sources: Sequence[Jurisdiction],
) -> tuple[RefusalRule, dict[Mechanism, MechanismEntry]]:
    """Every mechanism x purpose type combined across ``sources``; refusals stay valid."""
    refusals = [(j.code, j.consent_refusal) for j in sources if j.consent_refusal is not None]
    refusal = RefusalRule(
        refusal="valid",
        citation=_joined([(c, r.citation) for c, r in refusals]) or FALLBACK_REGIME,
        effective_from=min(
            (r.effective_from for _, r in refusals), default=min(j.effective_from for j in sources)
        ),
        confidence="unconfirmed",
        notes="strictest default: a refusal or withdrawal counts through every mechanism",
    )
    entries: dict[Mechanism, MechanismEntry] = {}
    for mechanism in Mechanism:
        per_type = {
            pt: _strictest_grant([(j.code, j.mechanism_rule(mechanism, pt)) for j in sources])
            for pt in PurposeType
        }
        worst = _strictest_grant(
            [(j.code, j.mechanism_rule(mechanism, pt)) for j in sources for pt in PurposeType]
        )
        entries[mechanism] = MechanismEntry(
            **worst.model_dump(),
            purpose_types=per_type,
        )
    return refusal, entries


def build_fallback(code: str, sources: Sequence[Jurisdiction], rules_version: str) -> Jurisdiction:
    """The strictest default for ``code``, built from every jurisdiction in ``sources``.

    ``code`` is kept as given (upper-cased) so records show what was asked for; ``is_fallback``
    and ``fallback_reason`` say plainly that it is not a jurisdiction of the rule pack.
    """
    if not sources:
        raise ValueError("cannot build a strictest default from an empty rule pack")
    deadline = _strictest_deadline(sources)
    refusal, mechanisms = _strictest_mechanisms(sources)
    built_from = ", ".join(j.code for j in sources)
    reason = (
        f"{code} is not in rule pack {rules_version}; applying the strictest default built from "
        f"{built_from}: the union of their rights, the shortest response deadline "
        f"({deadline.response}), opt-in consent for every purpose type and the union of their "
        f"sensitive data categories; a consent mechanism counts only where it counts in all of "
        f"them, and a GPC signal opts out of every purpose type any of them covers."
    )
    return Jurisdiction(
        code=code if _looks_like_code(code) else "ZZ",
        name=f"Strictest default for {code}",
        regime=FALLBACK_REGIME,
        law=f"none encoded for {code}; strictest combination of {built_from}",
        effective_from=min(j.effective_from for j in sources),
        rights=_merged_rights(sources),
        deadline=deadline,
        consent_model=_opt_in_everywhere(sources),
        sensitive_categories=_union_sensitive(sources),
        gpc=_gpc(sources),
        consent_refusal=refusal,
        consent_mechanisms=mechanisms,
        is_fallback=True,
        fallback_reason=reason,
    )


def _looks_like_code(code: str) -> bool:
    return _CODE.fullmatch(code) is not None
