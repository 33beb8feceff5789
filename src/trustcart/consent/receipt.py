"""Consent receipts: one person's consent records as JSON *in the style of* ISO/IEC TS 27560.

Why a second export beside the proof: the proof (:mod:`trustcart.consent.proof`) is TrustCart's
own evidence format — ledger hashes, evidence, notice texts — for showing a regulator that a
consent was given (GDPR Art. 7(1)). A receipt is for *another system or the person*: it states
per purpose what was consented to, by whom, for what processing, and every consent event, in
the field vocabulary of ISO/IEC TS 27560:2023 ("consent record information structure") as the
W3C DPVCG's implementation guide names the fields ("Consent Records and Receipts as per
ISO/IEC TS 27560:2023 using DPV", 2024). It is not certified against the standard, whose text
is not reproduced here; docs/shop-pages.md lists which fields map to what and which are absent.

One record per purpose the person has events for; each event keeps its ledger position and
hash, so a receipt can be checked against the proof and ``trustcart ledger verify``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trustcart.clock import utcnow
from trustcart.consent.model import Decision, Mechanism, RecordedEvent
from trustcart.consent.notices import get_notice
from trustcart.ids import new_id

if TYPE_CHECKING:
    from trustcart.catalog import DataMap, Purpose
    from trustcart.consent.service import ConsentService

SCHEMA_VERSION = "trustcart-consent-receipt/1"
STYLE = (
    "in the style of ISO/IEC TS 27560:2023 (field names as in the W3C DPVCG guide 'Consent "
    "Records and Receipts as per ISO/IEC TS 27560:2023 using DPV'); not certified"
)
#: Mechanisms through which the person acted; the others were recorded by the shop's systems on
#: the person's behalf (an API call, a TCF string from a consent-management platform).
_BY_PERSON = frozenset(
    {
        Mechanism.OPT_IN_CHECKBOX,
        Mechanism.PREFERENCE_CENTER,
        Mechanism.IMPLIED_BANNER,
        Mechanism.JUST_IN_TIME,
        Mechanism.GPC_SIGNAL,
    }
)


def event_state(e: RecordedEvent) -> tuple[str, str]:
    """(state, DPV concept) of an event: given, invalidated (a grant the rules do not count),
    refused or withdrawn."""
    if e.decision is Decision.GRANTED:
        return (
            ("given", "dpv:ConsentGiven") if e.valid else ("invalidated", "dpv:ConsentInvalidated")
        )
    if e.decision is Decision.WITHDRAWN:
        return "withdrawn", "dpv:ConsentWithdrawn"
    return "refused", "dpv:ConsentRefused"


def event_type(e: RecordedEvent) -> tuple[str, str]:
    """(type, DPV concept): an implied banner is implied consent; every other way is expressed."""
    if e.mechanism == Mechanism.IMPLIED_BANNER.value:
        return "implied consent", "dpv:ImpliedConsent"
    return "expressed consent", "dpv:ExpressedConsent"


def build_receipt(service: ConsentService, subject: str) -> dict[str, Any]:
    """Every consent record of ``subject`` (one per purpose with events) as one receipt."""
    dm = service.datamap
    pseudonym = service.pseudonyms.pseudonym(subject)
    log = service.store.log("consent")
    by_purpose: dict[str, list[RecordedEvent]] = {}
    for e in service.events(subject):
        by_purpose.setdefault(e.purpose, []).append(e)
    notices: dict[str, dict[str, Any]] = {}
    records = []
    for key, events in by_purpose.items():
        purpose = dm.purpose(key)
        out_events = []
        for e in events:
            state, state_dpv = event_state(e)
            kind, kind_dpv = event_type(e)
            entry = log.get(e.seq)
            if e.notice_version and e.notice_version not in notices:
                n = get_notice(service.store, e.notice_version)
                notices[e.notice_version] = {
                    "version": n.version,
                    "title": n.title,
                    "language": n.language,
                    "kind": n.kind,
                    "effective_at": n.effective_at,
                }
            out_events.append(
                {
                    "event_id": e.id,
                    "event_time": e.created_at,
                    "event_type": kind,
                    "event_type_dpv": kind_dpv,
                    "event_state": state,
                    "event_state_dpv": state_dpv,
                    "validity_duration": _validity(service, e),
                    "entity_id": "pii_principal"
                    if e.mechanism in {m.value for m in _BY_PERSON}
                    else "pii_controller",
                    "collection_method": e.mechanism,
                    "channel": e.channel,
                    "privacy_notice": e.notice_version,
                    "jurisdiction": e.jurisdiction,
                    "valid": e.valid,
                    "validity": e.validity,
                    "ledger": {"log": "consent", "seq": e.seq, "hash": entry.hash},
                }
            )
        latest = events[-1]
        records.append(
            {
                "record_id": f"tc:{pseudonym}:{key}",
                "schema_version": SCHEMA_VERSION,
                "pii_principal_id": pseudonym,
                "processing": _processing(dm, purpose, key, latest.jurisdiction, events),
                "current_state": event_state(latest)[0],
                "events": out_events,
            }
        )
    org = dm.organization
    parties: list[dict[str, Any]] = []
    if org is not None:
        parties.append(
            {
                "party_id": "pii_controller",
                "party_name": org.controller.name,
                "party_role": "controller",
                "party_type": "organisation",
                "party_address": org.controller.address,
                "party_email": org.controller.email,
                "party_contact": org.dpo.email if org.dpo else org.controller.email,
                "party_url": org.preference_center_url,
            }
        )
    seen: set[str] = set()
    for key in by_purpose:
        for r in dm.recipients_for(key):
            if r.key in seen:
                continue
            seen.add(r.key)
            parties.append(
                {
                    "party_id": f"recipient:{r.key}",
                    "party_name": r.name,
                    "party_role": "recipient",
                    "party_type": r.type.value,
                    "party_country": r.country,
                }
            )
    return {
        "schema_version": SCHEMA_VERSION,
        "conforms_to": STYLE,
        "receipt_id": new_id("rcpt_"),
        "generated_at": utcnow(),
        "pii_principal_id": pseudonym,
        "parties": parties,
        "privacy_notices": notices,
        "records": records,
    }


def _validity(service: ConsentService, e: RecordedEvent) -> str | None:
    """ISO-8601 duration a grant stays valid for (the configured maximum consent age), or
    ``None``: valid until withdrawn (or not a grant)."""
    if e.decision is not Decision.GRANTED or not e.valid:
        return None
    ages = service.ws.settings.consent_max_age_days
    days = ages.get(e.jurisdiction, ages.get("*"))
    return f"P{days}D" if days else None


def _processing(
    dm: DataMap,
    purpose: Purpose | None,
    key: str,
    jurisdiction: str,
    events: list[RecordedEvent],
) -> dict[str, Any]:
    """The processing the consent is about, from the data map (what the person was told)."""
    if purpose is None:  # purpose since removed from the data map: keep what the ledger says
        return {"purpose": key, "purpose_id": key, "purpose_type": events[-1].data_use}
    fields = dm.fields_for(key)
    org = dm.organization
    adm = purpose.automated_decision_making
    basis = purpose.legal_basis.get(jurisdiction)
    return {
        "purpose": purpose.name,
        "purpose_id": purpose.key,
        "purpose_description": purpose.description,
        "purpose_type": purpose.data_use,
        "lawful_basis": basis.value if basis is not None else None,
        "pii_information": sorted({c for _, f in fields for c in f.data_categories}),
        "pii_attributes": sorted({f"{ds.key}.{f.name}" for ds, f in fields}),
        "pii_controllers": ["pii_controller"],
        "processing_method": adm.logic if adm.enabled else None,
        "storage_locations": sorted({s.hosting_country for s in dm.systems_for(key)}),
        "retention_period": purpose.retention,
        "jurisdiction": jurisdiction,
        "recipient_third_parties": [f"recipient:{r.key}" for r in dm.recipients_for(key)],
        "withdrawal_method": (
            f"preference center: {org.preference_center_url}"
            if org is not None and org.preference_center_url
            else "the shop's privacy settings (preference center)"
        ),
    }
