"""TrustCart's own stores: the consent ledger and the decision log.

They are reached through the identifier the shop passes as ``subject`` (``subject_identity``
in ``trustcart.toml``, default ``customer_id``); both key rows by pseudonym, never by the raw id.

- Consent ledger: an erasure withdraws every remaining grant (so the gateway stops at once) and
  keeps the events: they are the proof of consent the controller must be able to show (GDPR
  Art. 7(1)) and hold no identifier in clear (pseudonym, truncated IP, hashed user agent).
- Decision log: erased by crypto-shredding (see :mod:`trustcart.privacy.shredding`): the rows
  stay for aggregate audits, the key that linked them to the person is destroyed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from trustcart.catalog import Connector as ConnectorSpec
from trustcart.catalog import Dataset, DatasetField
from trustcart.consent.model import ConsentEventIn, Decision, Mechanism
from trustcart.rights.connectors.base import Change, Connector, Found, Identities

if TYPE_CHECKING:
    from trustcart.consent import ConsentService
    from trustcart.gateway import Gateway

CONSENT_DATASET = "trustcart_consent"
DECISIONS_DATASET = "trustcart_decisions"


def _dataset(key: str, name: str, identity: str) -> Dataset:
    return Dataset(
        key=key,
        name=name,
        system="trustcart",
        location="trustcart",
        identity_keys=[identity],
        fields=[DatasetField(name=identity, data_categories=["user.unique_id"], identifying=True)],
        connector=ConnectorSpec(type="sql", identities={identity: identity}),
    )


class _Own(Connector):
    kind = "trustcart"

    def __init__(self, dataset: Dataset, identity: str) -> None:
        super().__init__(dataset)
        self.identity = identity

    def subjects(self, ids: Identities) -> list[str]:
        return sorted(ids.get(self.identity, frozenset()))

    def rectify(self, ids: Identities, changes: Mapping[str, Any]) -> Change:
        change = Change(self.key, "rectify", self.kind, status="skipped")
        change.note = "evidence logs are append-only; corrections are made in the source stores"
        return change

    def expire(self, cutoff: datetime, *, dry_run: bool) -> Change:
        change = Change(self.key, "retention", self.kind, status="skipped")
        change.note = "evidence logs are kept as proof; see docs/rights.md"
        return change


class ConsentLedgerConnector(_Own):
    """The person's consent history (access) and withdrawal of every grant (erasure)."""

    def __init__(self, consent: ConsentService, identity: str) -> None:
        super().__init__(
            _dataset(CONSENT_DATASET, "Consent ledger (TrustCart)", identity), identity
        )
        self.consent = consent

    def find(self, ids: Identities) -> Found:
        rows: list[dict[str, Any]] = []
        for s in self.subjects(ids):
            for e in self.consent.events(s):
                rows.append(
                    {
                        "event_id": e.id,
                        "purpose": e.purpose,
                        "decision": str(e.decision),
                        "mechanism": e.mechanism,
                        "jurisdiction": e.jurisdiction,
                        "notice_version": e.notice_version,
                        "channel": e.channel,
                        "valid": e.valid,
                        "created_at": e.created_at.isoformat(),
                    }
                )
        return Found(self.key, rows)

    def count(self, ids: Identities) -> int:
        # The ledger never holds the identifier in clear: nothing for the scan to find.
        return 0

    def withdraw(self, ids: Identities, purposes: set[str], channel: str) -> int:
        """Withdraw the person's grants for ``purposes`` (all granted ones when empty)."""
        n = 0
        for s in self.subjects(ids):
            state = self.consent.state(s)
            targets = sorted(
                p
                for p, entry in state.items()
                if str(entry.decision) == Decision.GRANTED and (not purposes or p in purposes)
            )
            targets += sorted(p for p in purposes if p not in state)
            if not targets:
                continue
            jurisdiction = next(iter(state.values())).jurisdiction if state else None
            self.consent.record(
                ConsentEventIn(
                    subject=s,
                    purposes=targets,
                    decision=Decision.WITHDRAWN if purposes == set() else Decision.DENIED,
                    mechanism=Mechanism.API,
                    jurisdiction=jurisdiction,
                    channel=channel,
                )
            )
            n += len(targets)
        return n

    def erase(self, ids: Identities) -> Change:
        change = Change(self.key, "erase", self.kind, strategy="retain_proof")
        change.rows_found = len(self.find(ids).rows)
        change.rows_changed = self.withdraw(ids, set(), "rights:erasure")
        change.status = "retained"
        change.note = (
            f"{change.rows_found} consent event(s) kept as proof of consent (GDPR Art. 7(1)); "
            "they hold a pseudonym, not the identifier; "
            f"{change.rows_changed} remaining grant(s) withdrawn"
        )
        return change


class DecisionLogConnector(_Own):
    """The person's automated decisions (access, explanation) and their crypto-shredding."""

    def __init__(self, gateway: Gateway, identity: str) -> None:
        super().__init__(
            _dataset(DECISIONS_DATASET, "Decision log (TrustCart)", identity), identity
        )
        self.gateway = gateway

    def find(self, ids: Identities) -> Found:
        rows: list[dict[str, Any]] = []
        for s in self.subjects(ids):
            rows.extend(self.gateway.for_subject(s))
        return Found(self.key, rows)

    def count(self, ids: Identities) -> int:
        return sum(len(self.gateway.for_subject(s)) for s in self.subjects(ids))

    def erase(self, ids: Identities) -> Change:
        change = Change(self.key, "erase", self.kind, strategy="crypto_shred")
        deleted = 0
        for s in self.subjects(ids):
            report = self.gateway.shred_subject(s)
            change.rows_found += report.rows_unlinkable
            change.rows_changed += report.rows_unlinkable
            deleted += sum(report.deleted.values())
        if deleted:
            change.fields_changed = ["decision_explanations"]
        change.note = (
            "the subject's key was destroyed: the rows stay for aggregate audits and can no "
            f"longer be linked to the person; {deleted} cached explanation(s) deleted"
        )
        return change
