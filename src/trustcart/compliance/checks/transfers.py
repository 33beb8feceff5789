"""Transfers without a basis (GDPR Chapter V): no adequacy, no safeguard, no derogation."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.registry import CheckContext, Issue, check
from trustcart.transfers import TransferAssessment, TransferProblem, assess_transfers

CHAPTER_V = (
    "GDPR Chapter V (Art. 45 adequacy decision, Art. 46 appropriate safeguards such as SCCs "
    "(Decision 2021/914) or BCRs (Art. 47), or an Art. 49 derogation)"
)


def assessments(ctx: CheckContext) -> list[TransferAssessment]:
    """Every third-country transfer of the map and the vendor registry, judged once per scan."""
    return ctx.memo(
        "transfers",
        lambda: assess_transfers(
            ctx.datamap, ctx.rules, vendors=ctx.registry.vendors, on=ctx.today
        ),
    )


def issues(ctx: CheckContext, codes: set[str]) -> Iterator[Issue]:
    """Issues for the problems with ``codes``; a flow's problem is folded into the same problem
    of the system it flows into (one finding names both)."""
    found = [(a, p) for a in assessments(ctx) for p in a.problems if p.code in codes]
    by_object: dict[tuple[str, str], list[str]] = {}
    system_problems = {
        (a.transfer.key, p.code) for a, p in found if a.transfer.kind in ("system", "vendor")
    }
    flows = {f.key: f for f in ctx.datamap.flows}
    kept: list[tuple[TransferAssessment, TransferProblem]] = []
    for a, p in found:
        flow = flows.get(a.transfer.key) if a.transfer.kind == "flow" else None
        if flow is not None and (flow.target, p.code) in system_problems:
            by_object.setdefault((f"system:{flow.target}", p.code), []).append(flow.key)
            continue
        kept.append((a, p))
    seen: set[tuple[str, str]] = set()
    for a, p in kept:
        if (a.object, p.code + a.transfer.key) in seen:
            continue
        seen.add((a.object, p.code + a.transfer.key))
        also = by_object.get((a.object, p.code), [])
        extra = f" Flows into it: {', '.join(sorted(also))}." if also else ""
        yield Issue(
            a.object,
            p.message + extra,
            rule=p.citation,
            fix=p.fix,
            severity=p.severity,
            key=f"{a.transfer.kind}/{a.transfer.key}/{p.code}",
        )


@check(
    "TC-TRF-001",
    area="transfers",
    title="Third-country transfer with no lawful basis",
    severity="high",
    rule=CHAPTER_V,
    fix="Rely on an adequacy decision covering the destination (for the US, only organisations "
    "certified under the EU-US Data Privacy Framework), or sign SCCs (Decision 2021/914) or BCRs "
    "with a transfer impact assessment; stop the transfer if none applies.",
)
def transfer_without_basis(ctx: CheckContext) -> Iterator[Issue]:
    """Personal data leaving the EEA where the rule pack's adequacy list does not cover the
    destination and no safeguard or derogation is recorded (high); a US importer not recorded as
    DPF-certified, or a safeguard text naming no known mechanism (medium)."""
    yield from issues(ctx, {"no_basis", "dpf_not_certified", "unrecognised_safeguard"})
