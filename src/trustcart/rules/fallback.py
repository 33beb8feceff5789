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
    OtherDeadline,
    ResponseDeadline,
    Right,
    SensitiveCategory,
)
from trustcart.rules.jurisdiction import Jurisdiction
from trustcart.rules.kinds import PurposeType, RightKind

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


def _gpc(sources: Sequence[Jurisdiction]) -> GpcRule | None:
    honouring = [j for j in sources if j.gpc is not None and j.gpc.honoured]
    if not honouring:
        return None
    return GpcRule(
        honoured=True,
        citation="; ".join(f"{j.code}: {j.gpc.citation}" for j in honouring if j.gpc),
        effective_from=min(j.gpc.effective_from for j in honouring if j.gpc),
        confidence="unconfirmed",
        notes="strictest default; honoured in " + ", ".join(j.code for j in honouring),
    )


def build_fallback(code: str, sources: Sequence[Jurisdiction], rules_version: str) -> Jurisdiction:
    """The strictest default for ``code``, built from every jurisdiction in ``sources``.

    ``code`` is kept as given (upper-cased) so records show what was asked for; ``is_fallback``
    and ``fallback_reason`` say plainly that it is not a jurisdiction of the rule pack.
    """
    if not sources:
        raise ValueError("cannot build a strictest default from an empty rule pack")
    deadline = _strictest_deadline(sources)
    built_from = ", ".join(j.code for j in sources)
    reason = (
        f"{code} is not in rule pack {rules_version}; applying the strictest default built from "
        f"{built_from}: the union of their rights, the shortest response deadline "
        f"({deadline.response}), opt-in consent for every purpose type and the union of their "
        f"sensitive data categories."
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
        is_fallback=True,
        fallback_reason=reason,
    )


def _looks_like_code(code: str) -> bool:
    return _CODE.fullmatch(code) is not None
