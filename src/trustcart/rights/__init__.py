"""Data-subject rights: requests, verification, deadlines, connectors, packages, erasure proof.

::

    rights = RightsService(ws)
    req, new = rights.submit(RequestIn(type="erasure", identifiers={"email": "a@b.example"}))
    rights.verify(req.id, code_from_the_outbox)
    rights.run(req.id)        # erases everywhere, scans for leftovers, writes the certificate

See docs/rights.md.
"""

from __future__ import annotations

from trustcart.rights.connectors import (
    Change,
    Connector,
    FileConnector,
    Found,
    SqlConnector,
    WebhookConnector,
    sign,
    verify_signature,
)
from trustcart.rights.kinds import (
    FINAL,
    NEEDS_VERIFICATION,
    RequestStatus,
    RequestType,
    parse_request_type,
)
from trustcart.rights.model import RequestIn, RightsRequest, parse_request
from trustcart.rights.outbox import Message, OutboxSender, Sender
from trustcart.rights.package import AccessPackage
from trustcart.rights.policy import Assessment, assess, extended_due
from trustcart.rights.retention import RetentionReport, run_retention
from trustcart.rights.service import RIGHTS_LOG, RightsService

__all__ = [
    "FINAL",
    "NEEDS_VERIFICATION",
    "RIGHTS_LOG",
    "AccessPackage",
    "Assessment",
    "Change",
    "Connector",
    "FileConnector",
    "Found",
    "Message",
    "OutboxSender",
    "RequestIn",
    "RequestStatus",
    "RequestType",
    "RetentionReport",
    "RightsRequest",
    "RightsService",
    "Sender",
    "SqlConnector",
    "WebhookConnector",
    "assess",
    "extended_due",
    "parse_request",
    "parse_request_type",
    "run_retention",
    "sign",
    "verify_signature",
]
