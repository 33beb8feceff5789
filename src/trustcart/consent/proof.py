"""Proof of consent for one person (GDPR Art. 7(1)): every event, its evidence, its place in
the hash chain, and the exact notice text shown — as JSON and as a readable HTML page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trustcart.clock import utcnow
from trustcart.consent.index import CONSENT_LOG
from trustcart.consent.notices import get_notice

if TYPE_CHECKING:
    from trustcart.consent.service import ConsentService


def build_proof(service: ConsentService, subject: str) -> dict[str, Any]:
    """Everything needed to demonstrate this person's consents, self-contained."""
    log = service.store.log(CONSENT_LOG)
    events = service.events(subject)
    notices: dict[str, dict[str, Any]] = {}
    out_events = []
    for e in events:
        entry = log.get(e.seq)
        out_events.append(
            {
                "id": e.id,
                "at": e.created_at,
                "purpose": e.purpose,
                "data_use": e.data_use,
                "decision": e.decision.value,
                "mechanism": e.mechanism,
                "jurisdiction": e.jurisdiction,
                "channel": e.channel,
                "notice_version": e.notice_version,
                "valid": e.valid,
                "validity": e.validity,
                "evidence": entry.payload.get("evidence"),
                "rules_version": entry.payload.get("rules_version"),
                "ledger": {
                    "log": CONSENT_LOG,
                    "seq": e.seq,
                    "hash": entry.hash,
                    "prev_hash": entry.prev_hash,
                },
            }
        )
        if e.notice_version and e.notice_version not in notices:
            notices[e.notice_version] = get_notice(service.store, e.notice_version).to_dict()
    check = log.verify()
    return {
        "subject": service.pseudonyms.pseudonym(subject),
        "generated_at": utcnow(),
        "controller": service.datamap.organization.name if service.datamap.organization else None,
        "events": out_events,
        "notices": notices,
        "ledger_verification": check.to_dict(),
    }


def proof_html(proof: dict[str, Any]) -> str:
    """The proof as a standalone HTML page (autoescaped)."""
    from trustcart.templating import jinja_env

    env = jinja_env("trustcart.consent")
    return env.get_template("proof.html.j2").render(proof=proof)
