"""The whistleblower channel: anyone may raise a concern about an AI system, anonymously.

What is stored, and what is not:

* The concern's text (and the system and category the reporter chose) and every reply are
  sealed with AES-GCM under a key derived (HKDF-SHA256) from the workspace secret, with the
  concern id, the message position and its author as associated data, so a sealed message
  cannot be moved to another concern or passed off as the other party's. A copy of the database
  alone reads nothing.
* The reporter's follow-up code is ``<concern id>.<random secret>``; only the SHA-256 of the
  secret is stored (256 random bits, so a fast hash is enough, as for API keys). It is shown
  once; whoever holds it reads the replies and may answer. Nobody can recover it.
* No IP address, user agent, account, cookie or time of day: the shell never passes them in and
  this module has no field for them. Dates are days, not instants, and concern ids are random,
  not time-ordered. The ``admin`` log records what the ethics committee *does* (replies,
  closes), never the receipt of a concern, since its entries carry exact times.

Reading is for the ethics role only (scopes ``concerns:read`` / ``concerns:write``, which not
even the DPO holds); the API and the CLI both check the scope and write each read to the access
log.

What this does not protect against: someone who holds both the database and the workspace
secret can derive the key and read every concern; and a reporter can identify themselves by
what they write. The page says so.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select, update

from trustcart.clock import utcnow
from trustcart.errors import AuthenticationError, Conflict, LedgerError, NotFound, ValidationError
from trustcart.governance.keys import ADMIN_LOG
from trustcart.store import Store
from trustcart.store.tables import ConcernMessage, ConcernRow, table_of

if TYPE_CHECKING:
    from trustcart.workspace import Workspace

Author = Literal["reporter", "ethics"]
ConcernStatus = Literal["open", "answered", "closed"]
#: What a concern may be about (the reporter picks one; "other" is the default).
CATEGORIES: dict[str, str] = {
    "discrimination": "Unfair treatment of some groups of people",
    "manipulation": "Manipulative design or exploiting people's vulnerabilities",
    "privacy": "Misuse of personal data",
    "transparency": "Decisions that are not explained or cannot be contested",
    "safety": "Harm to people's health, safety or finances",
    "other": "Something else",
}
MAX_TEXT = 10_000
_HKDF_INFO = b"trustcart/concerns/v1"
_NONCE = 12
_concerns = table_of(ConcernRow)
_messages = table_of(ConcernMessage)


def derive_concern_key(secret: bytes) -> bytes:
    """The 256-bit AES key for concerns, derived from the workspace secret (never stored)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret)


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"trustcart concern key id\n" + key).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a thread, opened."""

    seq: int
    author: str
    text: str
    created_on: date


@dataclass(frozen=True, slots=True)
class ConcernThread:
    """A concern with its opened messages."""

    id: str
    status: str
    received_on: date
    updated_on: date
    system: str | None
    category: str
    messages: list[Message] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ConcernSummary:
    """A concern in a list: no text, so listing opens nothing."""

    id: str
    status: str
    received_on: date
    updated_on: date
    messages: int
    awaiting_reply: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RaisedConcern:
    """What the reporter gets back: the id and the follow-up code (shown once)."""

    id: str
    token: str


def _clean_text(text: str) -> str:
    body = text.strip()
    if not body:
        raise ValidationError("describe your concern (the text is empty)")
    if len(body) > MAX_TEXT:
        raise ValidationError(f"the text is too long ({len(body)} characters; at most {MAX_TEXT})")
    return body


class ConcernBox:
    """Raise, follow up, read and answer concerns in one store.

    ``secret`` is the workspace secret; ``previous`` are earlier secrets whose messages must
    stay readable after a key rotation (new messages are always sealed with ``secret``).
    """

    def __init__(self, store: Store, secret: bytes, *, previous: Sequence[bytes] = ()) -> None:
        self.store = store
        key = derive_concern_key(secret)
        self._key_id = _key_id(key)
        self._aead = AESGCM(key)
        self._keys = {self._key_id: self._aead}
        for old in previous:
            k = derive_concern_key(old)
            self._keys.setdefault(_key_id(k), AESGCM(k))

    @classmethod
    def of(cls, ws: Workspace) -> ConcernBox:
        """The box of a workspace (key from its secret)."""
        return cls(ws.store, ws.settings.pseudonym_key())

    # -- sealing -----------------------------------------------------------------------------
    @staticmethod
    def _aad(concern_id: str, seq: int, author: str) -> bytes:
        return f"{concern_id}\n{seq}\n{author}".encode()

    def _seal(self, concern_id: str, seq: int, author: str, payload: dict[str, Any]) -> bytes:
        nonce = os.urandom(_NONCE)
        data = orjson.dumps(payload)
        return nonce + self._aead.encrypt(nonce, data, self._aad(concern_id, seq, author))

    def _open(self, row: Any) -> dict[str, Any]:
        aead = self._keys.get(row.key_id)
        if aead is None:
            raise LedgerError(
                f"concern {row.concern_id} message {row.seq} was sealed with a key this "
                "workspace no longer has (was the secret key changed?)"
            )
        blob = bytes(row.body)
        try:
            data = aead.decrypt(
                blob[:_NONCE], blob[_NONCE:], self._aad(row.concern_id, row.seq, row.author)
            )
        except InvalidTag:
            raise LedgerError(
                f"concern {row.concern_id} message {row.seq} does not open: it was altered or moved"
            ) from None
        payload: dict[str, Any] = orjson.loads(data)
        return payload

    # -- reporter side -----------------------------------------------------------------------
    def raise_concern(
        self, text: str, *, system: str | None = None, category: str = "other"
    ) -> RaisedConcern:
        """Record a concern; returns its id and the reporter's follow-up code."""
        body = _clean_text(text)
        if category not in CATEGORIES:
            raise ValidationError(
                f"unknown category {category!r}; choose one of: {', '.join(CATEGORIES)}"
            )
        sys_name = (system or "").strip() or None
        if sys_name is not None and len(sys_name) > 200:
            raise ValidationError("the system name is too long (at most 200 characters)")
        concern_id = "c_" + secrets.token_hex(10)
        secret = secrets.token_urlsafe(32)
        today = utcnow().date()
        sealed = self._seal(
            concern_id, 1, "reporter", {"text": body, "system": sys_name, "category": category}
        )
        with self.store.write() as conn:
            conn.execute(
                _concerns.insert().values(
                    id=concern_id,
                    token_hash=hashlib.sha256(secret.encode()).hexdigest(),
                    status="open",
                    received_on=today,
                    updated_on=today,
                )
            )
            conn.execute(
                _messages.insert().values(
                    concern_id=concern_id,
                    seq=1,
                    author="reporter",
                    key_id=self._key_id,
                    body=sealed,
                    created_on=today,
                )
            )
        return RaisedConcern(concern_id, f"{concern_id}.{secret}")

    def _by_token(self, token: str) -> str:
        concern_id, sep, secret = token.strip().partition(".")
        bad = AuthenticationError(
            "this follow-up code is not valid: check that you copied all of it"
        )
        if not sep or not secret or len(token) > 200:
            raise bad
        with self.store.read() as conn:
            row = conn.execute(
                select(_concerns.c.token_hash).where(_concerns.c.id == concern_id)
            ).first()
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            raise bad
        return concern_id

    def follow_up(self, token: str) -> ConcernThread:
        """The reporter's view of their concern and its replies."""
        return self._thread(self._by_token(token))

    def reporter_message(self, token: str, text: str) -> ConcernThread:
        """The reporter adds to their concern (e.g. answers a question)."""
        concern_id = self._by_token(token)
        self._append(concern_id, "reporter", _clean_text(text), status="open")
        return self._thread(concern_id)

    # -- ethics side -------------------------------------------------------------------------
    def summaries(self, *, status: str | None = None) -> list[ConcernSummary]:
        """Concerns without their text, those awaiting a reply first."""
        counts = (
            select(
                _messages.c.concern_id,
                func.count().label("n"),
                func.max(_messages.c.seq).label("last"),
            )
            .group_by(_messages.c.concern_id)
            .subquery()
        )
        stmt = select(_concerns, counts.c.n, counts.c.last).join(
            counts, counts.c.concern_id == _concerns.c.id
        )
        if status is not None:
            stmt = stmt.where(_concerns.c.status == status)
        with self.store.read() as conn:
            rows = conn.execute(stmt).all()
            last_authors = {
                (r.concern_id, r.seq): r.author
                for r in conn.execute(
                    select(_messages.c.concern_id, _messages.c.seq, _messages.c.author)
                )
            }
        out = [
            ConcernSummary(
                r.id,
                r.status,
                r.received_on,
                r.updated_on,
                int(r.n),
                r.status != "closed" and last_authors.get((r.id, r.last)) == "reporter",
            )
            for r in rows
        ]
        out.sort(key=lambda c: (not c.awaiting_reply, c.received_on, c.id))
        return out

    def read(self, concern_id: str) -> ConcernThread:
        """One concern with every message opened (ethics role only: the shells check)."""
        return self._thread(concern_id)

    def reply(self, concern_id: str, text: str, *, actor: str) -> ConcernThread:
        """The ethics committee answers; the reporter sees it with their code."""
        self._append(concern_id, "ethics", _clean_text(text), status="answered", actor=actor)
        return self._thread(concern_id)

    def close(self, concern_id: str, *, actor: str) -> ConcernThread:
        """Close a concern (the reporter can still read it, no longer add to it)."""
        today = utcnow().date()
        with self.store.write() as conn:
            done = conn.execute(
                update(_concerns)
                .where(_concerns.c.id == concern_id)
                .values(status="closed", updated_on=today)
            ).rowcount
            if not done:
                raise NotFound(f"no concern {concern_id!r}")
            self.store.log(ADMIN_LOG).append(
                {"action": "concern.closed", "concern_id": concern_id, "actor": actor}, conn=conn
            )
        return self._thread(concern_id)

    # -- shared ------------------------------------------------------------------------------
    def _append(
        self, concern_id: str, author: Author, text: str, *, status: str, actor: str | None = None
    ) -> None:
        today = utcnow().date()
        with self.store.write() as conn:
            row = conn.execute(
                select(_concerns.c.status).where(_concerns.c.id == concern_id)
            ).first()
            if row is None:
                raise NotFound(f"no concern {concern_id!r}")
            if row.status == "closed":
                raise Conflict(f"concern {concern_id} is closed; raise a new one if needed")
            seq = (
                int(
                    conn.execute(
                        select(func.coalesce(func.max(_messages.c.seq), 0)).where(
                            _messages.c.concern_id == concern_id
                        )
                    ).scalar_one()
                )
                + 1
            )
            conn.execute(
                _messages.insert().values(
                    concern_id=concern_id,
                    seq=seq,
                    author=author,
                    key_id=self._key_id,
                    body=self._seal(concern_id, seq, author, {"text": text}),
                    created_on=today,
                )
            )
            conn.execute(
                update(_concerns)
                .where(_concerns.c.id == concern_id)
                .values(status=status, updated_on=today)
            )
            if actor is not None:  # the committee's acts are accountable; the reporter's not
                self.store.log(ADMIN_LOG).append(
                    {"action": "concern.replied", "concern_id": concern_id, "actor": actor},
                    conn=conn,
                )

    def _thread(self, concern_id: str) -> ConcernThread:
        with self.store.read() as conn:
            head = conn.execute(select(_concerns).where(_concerns.c.id == concern_id)).first()
            if head is None:
                raise NotFound(f"no concern {concern_id!r}")
            rows = conn.execute(
                select(_messages)
                .where(_messages.c.concern_id == concern_id)
                .order_by(_messages.c.seq)
            ).all()
        messages: list[Message] = []
        system: str | None = None
        category = "other"
        for row in rows:
            payload = self._open(row)
            if row.seq == 1:
                system = payload.get("system")
                category = str(payload.get("category") or "other")
            messages.append(Message(row.seq, row.author, str(payload["text"]), row.created_on))
        return ConcernThread(
            head.id, head.status, head.received_on, head.updated_on, system, category, messages
        )
