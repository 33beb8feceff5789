"""Consent: notice versions, a tamper-evident ledger of choices, and "may I use this?".

svc = ConsentService(workspace)
notice = register_notice(ws.store, **datamap_notice(svc.datamap))
svc.record(ConsentEventIn(subject="c-42", purposes=["personalization"], decision="granted",
                          mechanism="opt_in_checkbox", jurisdiction="EU",
                          notice_version=notice.version))
svc.may_use("c-42", "personalization", ["user.behavior.purchase_history"], "EU")
"""

from __future__ import annotations

from trustcart.consent.gpp import GppConfig, GppOptions, gpp_config
from trustcart.consent.index import CONSENT_LOG, ConsentIndex
from trustcart.consent.integrity import verify_consent_copies
from trustcart.consent.model import (
    ConsentEventIn,
    Decision,
    Evidence,
    Mechanism,
    Permission,
    RecordedEvent,
    StateEntry,
)
from trustcart.consent.notices import (
    NoticeVersion,
    datamap_notice,
    get_notice,
    list_notices,
    register_notice,
    text_hash,
)
from trustcart.consent.proof import build_proof, proof_html
from trustcart.consent.receipt import build_receipt
from trustcart.consent.service import ConsentService, RecordResult
from trustcart.consent.signals import (
    consent_mode_map,
    consent_mode_state,
    encode_tc_string,
    gdpr_applies,
    tcf_purpose_consents,
)
from trustcart.consent.stats import consent_rates
from trustcart.store.copies import CopyCheck

__all__ = [
    "CONSENT_LOG",
    "ConsentEventIn",
    "ConsentIndex",
    "ConsentService",
    "CopyCheck",
    "Decision",
    "Evidence",
    "GppConfig",
    "GppOptions",
    "Mechanism",
    "NoticeVersion",
    "Permission",
    "RecordResult",
    "RecordedEvent",
    "StateEntry",
    "build_proof",
    "build_receipt",
    "consent_mode_map",
    "consent_mode_state",
    "consent_rates",
    "datamap_notice",
    "encode_tc_string",
    "gdpr_applies",
    "get_notice",
    "gpp_config",
    "list_notices",
    "proof_html",
    "register_notice",
    "tcf_purpose_consents",
    "text_hash",
    "verify_consent_copies",
]
