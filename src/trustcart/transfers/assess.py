"""Is each transfer lawful? Adequacy first, then a recorded safeguard, then a derogation.

Which data leaves which country is derived from the data map by
:func:`trustcart.catalog.transfers.find_transfers` (the RoPA and the notice list the same
transfers); this module adds the vendor registry (sub-processors, DPF certification, structured
bases with their transfer impact assessment) and judges each transfer against the rule pack's
Chapter V data. It also flags the localisation regimes of served jurisdictions (PIPL, 152-FZ,
DPDP). Nothing here is hard-coded law: countries, modules and derogations come from
``rules/data/transfers.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from trustcart.catalog.countries import country_name, in_eea
from trustcart.catalog.primitives import LegalBasis
from trustcart.catalog.transfers import Transfer, find_transfers, serves_eu
from trustcart.rules.transfer_rules import Adequacy, Party, TransferRules
from trustcart.transfers.basis import TransferBasis, parse_safeguard

if TYPE_CHECKING:
    from trustcart.catalog.model import DataMap
    from trustcart.rules import Rules
    from trustcart.vendors.model import VendorRecord

Severity = Literal["low", "medium", "high"]
Outcome = Literal["adequacy", "safeguard", "derogation", "none"]


@dataclass(frozen=True, slots=True)
class TransferProblem:
    """One thing wrong with a transfer's basis, with the provision and the fix."""

    code: str
    severity: Severity
    citation: str
    message: str
    fix: str


@dataclass(frozen=True)
class TransferAssessment:
    """A transfer, what it relies on, and what is wrong with that (empty when lawful)."""

    transfer: Transfer
    exporter: Party
    importer: Party
    vendor: str | None
    basis: TransferBasis | None
    outcome: Outcome
    covered_by: str
    problems: list[TransferProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem of medium or high severity."""
        return all(p.severity == "low" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        """The JSON view ``trustcart transfers list`` and ``GET /v1/transfers`` answer."""
        return {
            "object": self.object,
            "destination": self.transfer.destination,
            "country": self.transfer.country,
            "outcome": self.outcome,
            "covered_by": self.covered_by,
            "basis": self.basis.model_dump(mode="json") if self.basis else None,
            "problems": [asdict(p) for p in self.problems],
        }

    @property
    def object(self) -> str:
        """The finding object: ``system:…``, ``flow:…``, ``recipient:…`` or ``vendor:…``."""
        kind = self.transfer.kind
        if kind == "vendor" and self.transfer.source_country is None:
            return f"vendor:{self.transfer.key}"  # a registry vendor no system names
        if kind in ("system", "vendor"):
            return f"system:{self.transfer.key}"
        if kind == "subprocessor":
            return f"vendor:{self.transfer.key.split('/', 1)[0]}"
        return f"{kind}:{self.transfer.key}"


@dataclass(frozen=True, slots=True)
class LocalisationFlag:
    """A served jurisdiction whose localisation rule the map may break."""

    jurisdiction: str
    law: str
    object: str
    severity: Severity
    citation: str
    confidence: str
    message: str
    fix: str


def adequacy_covers(
    rules: TransferRules, country: str, *, dpf_certified: bool, on: date
) -> tuple[Adequacy | None, str | None]:
    """``(decision, why_not)``: the decision covering a destination, or why none does."""
    decision = rules.adequacy_for(country)
    if decision is None:
        return None, f"{country_name(country)} has no adequacy decision in the rule pack"
    if not decision.in_force(on):
        if decision.expires is not None and on > decision.expires:
            return None, f"the adequacy decision for {decision.name} expired on {decision.expires}"
        return (
            None,
            f"the adequacy decision for {decision.name} applies from {decision.effective_from}",
        )
    if decision.requires == "dpf_certification" and not dpf_certified:
        return None, (
            f"the adequacy decision for {decision.name} covers {decision.scope}, and the "
            "importer is not recorded as certified"
        )
    return decision, None


class _Index:
    """Vendor records by the data-map systems and recipients they are linked to."""

    def __init__(self, vendors: Iterable[VendorRecord]) -> None:
        self.vendors = list(vendors)
        self.by_system = {s: v for v in self.vendors for s in v.systems}
        self.by_recipient = {r: v for v in self.vendors for r in v.recipients}

    def for_transfer(self, dm: DataMap, t: Transfer) -> VendorRecord | None:
        if t.kind in ("system", "vendor"):
            return self.by_system.get(t.key)
        if t.kind == "recipient":
            return self.by_recipient.get(t.key)
        if t.kind == "flow":
            flow = next((f for f in dm.flows if f.key == t.key), None)
            if flow is None:
                return None
            return self.by_system.get(flow.target) or self.by_recipient.get(flow.target)
        return None


def _importer(dm: DataMap, t: Transfer) -> Party:
    """The importer's role: a vendor running a system is a processor; a recipient says so."""
    if t.kind in ("system", "vendor", "subprocessor"):
        return "processor"
    target = t.key
    if t.kind == "flow":
        flow = next((f for f in dm.flows if f.key == t.key), None)
        target = flow.target if flow else t.key
    system = dm.system(target)
    if system is not None:
        return "processor" if system.vendor is not None else "controller"
    recipient = dm.recipient(target)
    if recipient is not None and recipient.type.value == "processor":
        return "processor"
    return "controller"


def _subprocessor_transfers(dm: DataMap, vendors: Iterable[VendorRecord]) -> list[Transfer]:
    out: list[Transfer] = []
    for v in vendors:
        for sp in v.sub_processors:
            if in_eea(sp.country):
                continue
            out.append(
                Transfer(
                    kind="subprocessor",
                    key=f"{v.key}/{sp.name}",
                    destination=f"{sp.name} (sub-processor of {v.name})",
                    source_country=v.country,
                    country=sp.country,
                    purposes=(),
                    data_categories=tuple(v.data_categories),
                    safeguard=None,
                    third_country=True,
                )
            )
    return out


def _unlinked_vendor_transfers(vendors: Iterable[VendorRecord]) -> list[Transfer]:
    """Registry vendors outside the EEA that no data-map system or recipient names."""
    return [
        Transfer(
            kind="vendor",
            key=v.key,
            destination=v.name,
            source_country=None,
            country=v.country,
            purposes=(),
            data_categories=tuple(v.data_categories),
            safeguard=None,
            third_country=True,
        )
        for v in vendors
        if not v.systems and not v.recipients and not in_eea(v.country)
    ]


def assess_transfers(
    dm: DataMap,
    rules: Rules,
    *,
    vendors: Iterable[VendorRecord] = (),
    on: date | None = None,
) -> list[TransferAssessment]:
    """Judge every third-country transfer of an EU-serving map (and its vendors' onward ones).

    ``on`` is the day to judge (adequacy decisions start and expire); today by default.
    """
    from trustcart.clock import utcnow

    day = on or utcnow().date()
    tr = rules.require_transfers()
    vendors = list(vendors)
    index = _Index(vendors)
    transfers = [t for t in find_transfers(dm) if t.third_country]
    if serves_eu(dm):
        transfers += _subprocessor_transfers(dm, vendors)
        transfers += _unlinked_vendor_transfers(vendors)
    out: list[TransferAssessment] = []
    for t in transfers:
        if t.kind == "subprocessor":
            vendor_key, _, sp_name = t.key.partition("/")
            owner = next(v for v in vendors if v.key == vendor_key)
            sp = next(s for s in owner.sub_processors if s.name == sp_name)
            out.append(_assess(dm, tr, t, owner, sp.transfer, "processor", day, certified=False))
            continue
        vendor = (
            next((v for v in vendors if v.key == t.key), None)
            if t.kind == "vendor" and t.source_country is None
            else index.for_transfer(dm, t)
        )
        basis = vendor.transfer if vendor and vendor.transfer else None
        out.append(
            _assess(
                dm,
                tr,
                t,
                vendor,
                basis,
                "controller",
                day,
                certified=bool(vendor and vendor.dpf_certified),
            )
        )
    return out


def _assess(
    dm: DataMap,
    tr: TransferRules,
    t: Transfer,
    vendor: VendorRecord | None,
    basis: TransferBasis | None,
    exporter: Party,
    day: date,
    *,
    certified: bool,
) -> TransferAssessment:
    importer = _importer(dm, t)
    problems: list[TransferProblem] = []
    where = f"{t.destination} in {country_name(t.country)} ({t.country})"
    text_basis = parse_safeguard(t.safeguard) if basis is None else None
    if basis is None and t.safeguard and text_basis is None:
        problems.append(
            TransferProblem(
                "unrecognised_safeguard",
                "medium",
                tr.citation,
                f"The safeguard recorded for {where} ({t.safeguard!r}) names no mechanism "
                "TrustCart can check.",
                "Name the mechanism: an adequacy decision, 'DPF' (US importers), 'SCC module N' "
                "or 'BCR' (with 'TIA' once the transfer impact assessment is done), or "
                "'Art. 49(1)(x)'; or record a structured `transfer` on the vendor.",
            )
        )
    basis = basis or text_basis
    certified = certified or (basis is not None and basis.mechanism == "dpf")
    decision, why_not = adequacy_covers(tr, t.country, dpf_certified=certified, on=day)
    if decision is not None:
        scope = f" ({decision.scope})" if decision.scope else ""
        return TransferAssessment(
            t, exporter, importer, vendor.key if vendor else None, basis, "adequacy",
            f"{decision.citation}{scope}", problems,
        )  # fmt: skip
    vendor_key = vendor.key if vendor else None
    if basis is None or basis.mechanism in ("adequacy", "dpf"):
        problems.append(_no_basis(tr, t, where, why_not or "", claimed=basis))
        return TransferAssessment(
            t, exporter, importer, vendor_key, basis, "none", "", problems
        )  # fmt: skip
    if basis.mechanism in ("scc", "bcr"):
        tool = tr.mechanisms[basis.mechanism]
        if basis.mechanism == "scc":
            expected = tool.module_for(exporter, importer)
            if basis.scc_module is None:
                problems.append(
                    TransferProblem(
                        "scc_module_missing",
                        "low",
                        tool.citation,
                        f"SCCs for {where}: the module is not recorded.",
                        f"Record the module: this transfer is {exporter} to {importer}"
                        + (f" (module {expected.module})." if expected else "."),
                    )
                )
            elif expected is not None and basis.scc_module != expected.module:
                problems.append(
                    TransferProblem(
                        "scc_wrong_module",
                        "medium",
                        tool.citation,
                        f"SCCs for {where} use module {basis.scc_module}, but the transfer is "
                        f"{expected.label} (module {expected.module}).",
                        f"Sign the clauses of module {expected.module} ({expected.label}).",
                    )
                )
        if tool.needs_tia and basis.tia is None:
            problems.append(
                TransferProblem(
                    "tia_missing",
                    "medium",
                    f"{tool.citation}; {tool.tia_citation or ''}".rstrip("; "),
                    f"{basis.describe()} cover {where}, but no transfer impact assessment is "
                    "recorded.",
                    "Carry out a transfer impact assessment (laws and practice of the destination, "
                    "supplementary measures where needed) and record it (`tia` on the vendor's "
                    "transfer, or 'TIA' in the safeguard text).",
                )
            )
        return TransferAssessment(
            t, exporter, importer, vendor_key, basis, "safeguard", tool.citation, problems
        )  # fmt: skip
    # derogation
    point = tr.derogations.get(basis.derogation or "")
    assert point is not None  # the Literal type only admits listed points
    if point.needs_consent_purpose:
        purpose = dm.purpose(basis.consent_purpose) if basis.consent_purpose else None
        eu_basis = purpose.legal_basis.get("EU") if purpose else None
        if purpose is None or eu_basis is not LegalBasis.CONSENT:
            got = (
                "names no consent purpose"
                if not basis.consent_purpose
                else f"names purpose {basis.consent_purpose!r}, which "
                + ("is not in the data map" if purpose is None else "is not consent-based in EU")
            )
            problems.append(
                TransferProblem(
                    "derogation_consent_purpose",
                    "high",
                    point.citation,
                    f"The transfer to {where} relies on explicit consent (Art. 49(1)(a)) but "
                    f"{got}.",
                    "Add a purpose for this transfer with legal basis consent in EU (the person "
                    "is told the risks of the transfer first), and name it in "
                    "`transfer.consent_purpose`; or use another basis.",
                )
            )
    problems.append(
        TransferProblem(
            "derogation_relied_on",
            "low",
            tr.derogations.citation,
            f"The transfer to {where} relies on a derogation ({point.citation}: {point.label}).",
            "Derogations are interpreted restrictively: prefer an adequacy decision or an "
            "Art. 46 safeguard for regular transfers.",
        )
    )
    return TransferAssessment(
        t, exporter, importer, vendor_key, basis, "derogation", point.citation, problems
    )  # fmt: skip


def _no_basis(
    tr: TransferRules, t: Transfer, where: str, why_not: str, *, claimed: TransferBasis | None
) -> TransferProblem:
    decision = tr.adequacy_for(t.country)
    claim = (
        f" The record claims {claimed.describe()}, but {why_not}"
        if claimed
        else f" {why_not[:1].upper()}{why_not[1:]}"
    )
    if decision is not None and decision.requires == "dpf_certification":
        return TransferProblem(
            "dpf_not_certified",
            "medium",
            decision.citation,
            f"Personal data reaches {where}, outside the EEA.{claim}; no Art. 46 safeguard is "
            "recorded.",
            "Record the importer's EU-US Data Privacy Framework certification "
            "(`dpf_certified: true` on the vendor) after checking the DPF list, or sign SCCs "
            "(Decision 2021/914) with a transfer impact assessment.",
        )
    return TransferProblem(
        "no_basis",
        "high",
        tr.citation,
        f"Personal data reaches {where}, outside the EEA.{claim}, and no Art. 46 safeguard or "
        "Art. 49 derogation is recorded.",
        "Sign SCCs (Decision 2021/914, the module for the parties' roles) or rely on BCRs, with "
        "a transfer impact assessment (Schrems II, C-311/18); or stop the transfer.",
    )


def localisation_flags(dm: DataMap, rules: Rules) -> list[LocalisationFlag]:
    """Localisation regimes of the served jurisdictions, applied to the map's systems."""
    tr = rules.require_transfers()
    org = dm.organization
    if org is None:
        return []
    out: list[LocalisationFlag] = []
    collected_into = {f.target for f in dm.flows if f.source == "data_subject"}
    for code in dict.fromkeys(org.jurisdictions):
        loc = tr.localisation_for(code)
        if loc is None:
            continue
        home = loc.jurisdiction
        if loc.rule == "initial_collection_in_country":
            for s in dm.systems:
                if s.key in collected_into and s.hosting_country != home:
                    out.append(
                        LocalisationFlag(
                            home, loc.law, f"system:{s.key}", "high", loc.citation,
                            loc.confidence,
                            f"{loc.law}: personal data of people in {country_name(home)} is "
                            f"first collected into {s.name}, hosted in "
                            f"{country_name(s.hosting_country)}.",
                            f"Collect into a database located in {country_name(home)} first "
                            "(copies may then be transferred).",
                        )
                    )  # fmt: skip
        elif loc.rule == "export_needs_mechanism":
            outside = sorted(s.key for s in dm.systems if s.hosting_country != home)
            outside += sorted(r.key for r in dm.recipients if r.country != home)
            if outside:
                out.append(
                    LocalisationFlag(
                        home, loc.law, "organization:organization", "medium", loc.citation,
                        loc.confidence,
                        f"{loc.law}: the shop serves {country_name(home)} and holds personal "
                        f"data outside it ({', '.join(outside)}).",
                        "For data of people in China: complete an Art. 38 route (CAC security "
                        "assessment, certification or the standard contract), obtain separate "
                        "consent (Art. 39), and store locally if Art. 40 applies.",
                    )
                )  # fmt: skip
        elif loc.rule == "blocked_destinations":
            blocked = set(loc.blocked_destinations)
            for s in dm.systems:
                if s.hosting_country in blocked:
                    out.append(
                        LocalisationFlag(
                            home, loc.law, f"system:{s.key}", "high", loc.citation,
                            loc.confidence,
                            f"{loc.law}: {s.name} is hosted in "
                            f"{country_name(s.hosting_country)}, a destination notified as "
                            "restricted.",
                            "Move the data to a destination that is not restricted.",
                        )
                    )  # fmt: skip
    return out
