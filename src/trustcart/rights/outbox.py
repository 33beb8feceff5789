"""Messages to the person (one-time codes, extension notices, answers) through a pluggable sender.

Why an outbox by default: the workflow must work on a laptop with no mail server; the default
sender writes each message to the ``rights_outbox`` table, where the DPO dashboard and
``trustcart rights outbox`` show it. A shop plugs in its mailer by passing any object with
``send(request_id, recipient, subject, body)`` to :class:`~trustcart.rights.RightsService`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, insert, select

from trustcart.clock import utcnow
from trustcart.ids import new_id
from trustcart.store import Store
from trustcart.store.tables import OutboxMessage, table_of

_outbox = table_of(OutboxMessage)


class Sender(Protocol):
    """Delivers a message to a person."""

    def send(self, request_id: str, recipient: str, subject: str, body: str) -> None:
        """Deliver (or durably queue) the message; raise on failure."""


@dataclass(frozen=True)
class Message:
    """A message in the outbox."""

    id: str
    request_id: str
    recipient: str
    subject: str
    body: str
    created_at: datetime


class OutboxSender:
    """The default sender: a table the DPO dashboard reads."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def send(self, request_id: str, recipient: str, subject: str, body: str) -> None:
        with self.store.write() as conn:
            conn.execute(
                insert(_outbox).values(
                    id=new_id("msg_"),
                    request_id=request_id,
                    recipient=recipient,
                    subject=subject,
                    body=body,
                    created_at=utcnow(),
                )
            )

    def messages(self, request_id: str | None = None, *, limit: int = 100) -> list[Message]:
        """Newest first, optionally for one request."""
        q = select(_outbox).order_by(_outbox.c.created_at.desc(), _outbox.c.id.desc()).limit(limit)
        if request_id:
            q = q.where(_outbox.c.request_id == request_id)
        with self.store.read() as conn:
            return [Message(**r._mapping) for r in conn.execute(q)]

    def purge_before(self, cutoff: datetime) -> int:
        """Delete messages older than ``cutoff`` (they hold an address; keep them briefly)."""
        with self.store.write() as conn:
            return int(conn.execute(delete(_outbox).where(_outbox.c.created_at < cutoff)).rowcount)
