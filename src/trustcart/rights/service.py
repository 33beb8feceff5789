"""The rights service: take a request, verify the person, carry it out everywhere, prove it.

Every step is appended to the hash-chained ``rights`` log (without identifiers), so the request
log the law asks for (CCPA regs §7101: date, nature and manner of the request, date and nature
of the response, basis of any denial) is evidence, not a spreadsheet.

Identifiers are held in clear only while a request is open (connectors must search for them);
when it ends they are deleted and only a keyed pseudonym stays with the request.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from hashlib import sha256
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from trustcart.catalog import DataMap
from trustcart.catalog.repository import load_datamap
from trustcart.clock import utcnow
from trustcart.errors import (
    Conflict,
    ConnectorError,
    NotFound,
    TooManyAttempts,
    ValidationError,
    VerificationFailed,
)
from trustcart.ids import new_id
from trustcart.rights.connectors import (
    CONSENT_DATASET,
    Change,
    Connector,
    ConsentLedgerConnector,
    DecisionLogConnector,
    Found,
    WebhookConnector,
    build_connectors,
)
from trustcart.rights.kinds import FINAL, STOPS, RequestStatus, RequestType
from trustcart.rights.model import RequestIn, RightsRequest
from trustcart.rights.outbox import OutboxSender, Sender
from trustcart.rights.package import AccessPackage, build_package
from trustcart.rights.policy import assess, extended_due
from trustcart.store.tables import (
    RightsCode,
    RightsIdentity,
    RightsPackage,
    RightsRequestRow,
    RightsTask,
    table_of,
)

if TYPE_CHECKING:
    from trustcart.consent import ConsentService
    from trustcart.gateway import Gateway
    from trustcart.workspace import Workspace

RIGHTS_LOG = "rights"
_requests = table_of(RightsRequestRow)
_ids = table_of(RightsIdentity)
_codes = table_of(RightsCode)
_tasks = table_of(RightsTask)
_packages = table_of(RightsPackage)
_CONTACT = "_contact"
#: How many rounds of identifier linking (email -> customer_id -> device_id ...).
_LINK_ROUNDS = 3
_ACCESS_TYPES = frozenset({RequestType.ACCESS, RequestType.PORTABILITY, RequestType.EXPLANATION})


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _row_to_request(r: Any) -> RightsRequest:
    return RightsRequest(
        id=r.id,
        type=RequestType(r.type),
        jurisdiction=r.jurisdiction,
        status=RequestStatus(r.status),
        statutory=bool(r.statutory),
        citation=r.citation,
        channel=r.channel,
        needs_verification=bool(r.needs_verification),
        received_at=r.received_at,
        due_on=r.due_on,
        acknowledge_by=r.acknowledge_by,
        extended=bool(r.extended),
        details=orjson.loads(r.details),
        result=orjson.loads(r.result) if r.result else None,
        reason=r.reason,
        completed_at=r.completed_at,
    )


class RightsService:
    """Data-subject requests for one workspace."""

    def __init__(
        self,
        ws: Workspace,
        *,
        consent: ConsentService | None = None,
        gateway: Gateway | None = None,
        sender: Sender | None = None,
        clock: Callable[[], datetime] = utcnow,
        callback_base: str | None = None,
    ) -> None:
        from trustcart.consent import ConsentService

        self.ws = ws
        self.store = ws.store
        self.settings = ws.settings
        self.consent = consent or ConsentService(ws)
        self._gateway = gateway
        self.rules = self.consent.rules
        self.pseudonyms = self.consent.pseudonyms
        self.outbox = OutboxSender(ws.store)
        self.sender: Sender = sender or self.outbox
        self.clock = clock
        self.callback_base = callback_base
        self.log = ws.store.log(RIGHTS_LOG)
        self._key = ws.settings.pseudonym_key()

    # -- helpers -----------------------------------------------------------------------------
    @property
    def gateway(self) -> Gateway:
        """The decision gateway (built on first use: a rights-only process may never need it)."""
        if self._gateway is None:
            from trustcart.gateway import Gateway

            self._gateway = Gateway(self.ws, consent=self.consent, commit="sync")
        return self._gateway

    def datamap(self) -> DataMap:
        """The current data map."""
        return load_datamap(self.store)

    def connectors(self) -> tuple[list[Connector], list[str]]:
        """Every store a request reaches, and the datasets that declare no way in."""
        conns, missing = build_connectors(
            self.datamap(),
            root=self.ws.root,
            consent=self.consent,
            gateway=self.gateway,
            identity=self.settings.subject_identity,
            callback_base=self.callback_base,
        )
        return conns, [d.key for d in missing]

    def identity_kinds(self) -> set[str]:
        """Identity types some store knows (what a request may name a person by)."""
        kinds = {self.settings.subject_identity, "email"}
        for ds in self.datamap().datasets:
            kinds.update(ds.identity_columns())
        return kinds

    def _step(self, conn: Connection, request_id: str, step: str, **info: Any) -> None:
        """Append one step to the rights log (never an identifier: callers pass facts only)."""
        self.log.append(
            {"request_id": request_id, "step": step, "at": self.clock().isoformat(), **info},
            conn=conn,
        )

    def _set(self, conn: Connection, request_id: str, **values: Any) -> None:
        conn.execute(
            update(_requests)
            .where(_requests.c.id == request_id)
            .values(updated_at=self.clock(), **values)
        )

    def _identities(self, conn: Connection, request_id: str) -> dict[str, frozenset[str]]:
        rows = conn.execute(
            select(_ids.c.kind, _ids.c.value).where(_ids.c.request_id == request_id)
        ).all()
        out: dict[str, set[str]] = {}
        for kind, value in rows:
            out.setdefault(kind, set()).add(value)
        return {k: frozenset(v) for k, v in out.items()}

    def _dedupe_key(self, kind: RequestType, identifiers: Mapping[str, str]) -> str:
        text = (
            str(kind) + "|" + "|".join(f"{k}={v.lower()}" for k, v in sorted(identifiers.items()))
        )
        return hmac.new(self._key, b"rights-dedupe:" + text.encode(), sha256).hexdigest()

    def _code_hash(self, request_id: str, code: str) -> str:
        return hmac.new(self._key, f"otp:{request_id}:{code}".encode(), sha256).hexdigest()

    # -- reading -----------------------------------------------------------------------------
    def get(self, request_id: str) -> RightsRequest:
        """One request, or a 404 naming it."""
        with self.store.read() as conn:
            r = conn.execute(select(_requests).where(_requests.c.id == request_id)).first()
        if r is None:
            raise NotFound(f"no rights request {request_id!r}")
        return _row_to_request(r)

    def requests(
        self,
        *,
        status: Iterable[RequestStatus] | None = None,
        open_only: bool = False,
        due_before: date | None = None,
        limit: int = 500,
    ) -> list[RightsRequest]:
        """Requests, most urgent first."""
        q = select(_requests).order_by(_requests.c.due_on, _requests.c.id).limit(limit)
        if status is not None:
            q = q.where(_requests.c.status.in_([str(s) for s in status]))
        if open_only:
            q = q.where(_requests.c.status.not_in([str(s) for s in FINAL]))
        if due_before is not None:
            q = q.where(_requests.c.due_on < due_before)
        with self.store.read() as conn:
            return [_row_to_request(r) for r in conn.execute(q)]

    def overdue(self, today: date | None = None) -> list[RightsRequest]:
        """Open requests past their due date."""
        today = today or self.clock().date()
        return self.requests(open_only=True, due_before=today)

    def due_soon(self, days: int = 7, today: date | None = None) -> list[RightsRequest]:
        """Open requests due within ``days`` (not yet overdue)."""
        today = today or self.clock().date()
        return [
            r
            for r in self.requests(open_only=True, due_before=today + timedelta(days=days + 1))
            if r.due_on >= today
        ]

    def steps(self, request_id: str) -> list[dict[str, Any]]:
        """The request's log entries, oldest first."""
        self.get(request_id)
        return [
            {**rec.payload, "seq": rec.seq}
            for rec in self.log.entries()
            if rec.payload.get("request_id") == request_id
        ]

    def tasks(
        self, request_id: str | None = None, *, pending_only: bool = False
    ) -> list[dict[str, Any]]:
        """Connector tasks (e.g. vendors still to answer)."""
        q = select(_tasks).order_by(_tasks.c.created_at)
        if request_id:
            q = q.where(_tasks.c.request_id == request_id)
        if pending_only:
            q = q.where(_tasks.c.status.in_(("pending", "failed")))
        with self.store.read() as conn:
            return [{**dict(r._mapping), "detail": orjson.loads(r.detail)} for r in conn.execute(q)]

    # -- submitting --------------------------------------------------------------------------
    def submit(self, req: RequestIn) -> tuple[RightsRequest, bool]:
        """Record a request; returns it and whether it is new.

        Idempotent: an open request of the same type for the same identifiers is returned
        instead of a second one (a double-clicked form, a retried API call).
        Opt-outs and objections need no verification and are carried out at once.
        """
        known = self.identity_kinds() | {"email"}
        unknown = sorted(set(req.identifiers) - known)
        if unknown:
            raise ValidationError(
                f"unknown identifier type(s) {', '.join(unknown)}: the data map's stores know "
                f"{', '.join(sorted(known))}",
                details={"unknown": unknown, "known": sorted(known)},
            )
        contact = req.contact or req.identifiers.get("email")
        j = self.consent.jurisdiction(req.jurisdiction)
        now = self.clock()
        a = assess(req.type, j, now.date())
        if a.needs_verification and not contact:
            raise ValidationError(
                f"a {req.type} request needs a contact e-mail (or an email identifier) to send "
                "the one-time verification code to"
            )
        details = self._check_details(req)
        dedupe = self._dedupe_key(req.type, req.identifiers)
        primary = req.identifiers.get(self.settings.subject_identity) or next(
            iter(sorted(req.identifiers.values()))
        )
        with self.store.write() as conn:
            existing = conn.execute(
                select(_requests).where(
                    _requests.c.dedupe_key == dedupe,
                    _requests.c.status.not_in([str(s) for s in FINAL]),
                )
            ).first()
            if existing is not None:
                self._step(conn, existing.id, "duplicate_submission", channel=req.channel)
                return _row_to_request(existing), False
            rid = new_id("rr_")
            conn.execute(
                insert(_requests).values(
                    id=rid,
                    type=str(req.type),
                    jurisdiction=j.code,
                    status=str(RequestStatus.RECEIVED),
                    statutory=a.statutory,
                    citation=a.citation,
                    subject=self.pseudonyms.pseudonym(primary),
                    dedupe_key=dedupe,
                    channel=req.channel,
                    needs_verification=a.needs_verification,
                    received_at=now,
                    due_on=a.due_on,
                    acknowledge_by=a.acknowledge_by,
                    extended=False,
                    details=_json(details),
                    result=None,
                    reason=None,
                    created_at=now,
                    updated_at=now,
                    completed_at=None,
                )
            )
            values = [
                {"request_id": rid, "kind": k, "value": v} for k, v in req.identifiers.items()
            ]
            if contact:
                values.append({"request_id": rid, "kind": _CONTACT, "value": contact})
            conn.execute(insert(_ids), values)
            self._step(
                conn,
                rid,
                "received",
                type=str(req.type),
                jurisdiction=j.code,
                channel=req.channel,
                statutory=a.statutory,
                citation=a.citation,
                due_on=a.due_on.isoformat(),
                deadline_citation=a.deadline_citation,
                identifier_types=sorted(req.identifiers),
                detail_fields=sorted(details.get("changes", {})),
            )
        if a.needs_verification:
            self.send_code(rid)
        else:
            self.run(rid)
        return self.get(rid), True

    def _check_details(self, req: RequestIn) -> dict[str, Any]:
        d = dict(req.details)
        if req.type is RequestType.RECTIFICATION:
            changes = d.get("changes")
            if not isinstance(changes, dict) or not changes:
                raise ValidationError(
                    'a rectification request needs details.changes: {"field": "new value", ...}'
                )
            fields = {f.name for ds in self.datamap().datasets for f in ds.fields}
            unknown = sorted(k for k in changes if k not in fields)
            if unknown:
                raise ValidationError(
                    f"cannot correct {', '.join(unknown)}: no dataset in the data map has such "
                    "a field",
                    details={"unknown_fields": unknown},
                )
            idents = {c for ds in self.datamap().datasets for c in ds.identity_columns().values()}
            if any(k in idents for k in changes):
                raise ValidationError(
                    "identifiers cannot be changed by a rectification request; ask the shop to "
                    "merge or re-key the account"
                )
        allowed = {"changes", "decision_id", "note"}
        extra = sorted(set(d) - allowed)
        if extra:
            raise ValidationError(
                f"unknown details key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}"
            )
        return d

    # -- verification ------------------------------------------------------------------------
    def send_code(self, request_id: str) -> None:
        """Send a fresh one-time code to the request's contact (limited per request)."""
        req = self.get(request_id)
        if not req.needs_verification or req.status is not RequestStatus.RECEIVED:
            raise Conflict(f"request {request_id} is {req.status}: it is not waiting for a code")
        code = f"{secrets.randbelow(10**6):06d}"
        now = self.clock()
        expires = now + timedelta(minutes=self.settings.rights_code_ttl_minutes)
        with self.store.write() as conn:
            ids = self._identities(conn, request_id)
            contact = next(iter(ids.get(_CONTACT, frozenset())), None)
            if contact is None:
                raise Conflict(f"request {request_id} has no contact to send a code to")
            prev = conn.execute(select(_codes).where(_codes.c.request_id == request_id)).first()
            sent = (prev.codes_sent if prev else 0) + 1
            if sent > self.settings.rights_codes_per_request:
                raise TooManyAttempts(
                    f"request {request_id} was already sent "
                    f"{self.settings.rights_codes_per_request} codes; contact the shop's privacy "
                    "team to verify another way"
                )
            conn.execute(delete(_codes).where(_codes.c.request_id == request_id))
            conn.execute(
                insert(_codes).values(
                    request_id=request_id,
                    code_hash=self._code_hash(request_id, code),
                    expires_at=expires,
                    attempts=0,
                    codes_sent=sent,
                    created_at=now,
                )
            )
            self._step(conn, request_id, "code_sent", expires_at=expires.isoformat())
        self.sender.send(
            request_id,
            contact,
            "Your privacy request: verification code",
            f"Your code for request {request_id} ({req.type}) is {code}. It expires in "
            f"{self.settings.rights_code_ttl_minutes} minutes. If you did not make this "
            "request, ignore this message.",
        )

    def verify(self, request_id: str, code: str) -> RightsRequest:
        """Check a one-time code; on success the request is identity-verified."""
        req = self.get(request_id)
        if req.status is not RequestStatus.RECEIVED or not req.needs_verification:
            raise VerificationFailed(
                f"request {request_id} is {req.status}: it is not waiting for a code"
            )
        code = code.strip()
        now = self.clock()
        failure: Exception | None = None
        with self.store.write() as conn:
            row = conn.execute(select(_codes).where(_codes.c.request_id == request_id)).first()
            if row is None:
                raise VerificationFailed(f"no code was sent for request {request_id}; ask for one")
            if row.attempts >= self.settings.rights_code_attempts:
                raise TooManyAttempts(
                    f"too many wrong codes for request {request_id}; ask for a new code"
                )
            if row.expires_at < now:
                failure = VerificationFailed(
                    f"the code for request {request_id} has expired; ask for a new code"
                )
            elif not hmac.compare_digest(row.code_hash, self._code_hash(request_id, code)):
                left = self.settings.rights_code_attempts - row.attempts - 1
                conn.execute(
                    update(_codes)
                    .where(_codes.c.request_id == request_id)
                    .values(attempts=row.attempts + 1)
                )
                self._step(conn, request_id, "code_rejected", attempts_left=left)
                failure = (
                    VerificationFailed(f"wrong code; {left} attempt(s) left")
                    if left > 0
                    else TooManyAttempts("wrong code; no attempts left - ask for a new code")
                )
            else:
                conn.execute(delete(_codes).where(_codes.c.request_id == request_id))
                self._set(conn, request_id, status=str(RequestStatus.IDENTITY_VERIFIED))
                self._step(conn, request_id, "identity_verified", method="one_time_code")
        if failure is not None:
            raise failure
        return self.get(request_id)

    def mark_verified(self, request_id: str, *, method: str) -> RightsRequest:
        """DPO action: identity checked another way (e.g. a logged-in session, in person)."""
        req = self.get(request_id)
        if req.status is not RequestStatus.RECEIVED:
            raise Conflict(f"request {request_id} is {req.status}, not waiting for verification")
        with self.store.write() as conn:
            conn.execute(delete(_codes).where(_codes.c.request_id == request_id))
            self._set(conn, request_id, status=str(RequestStatus.IDENTITY_VERIFIED))
            self._step(conn, request_id, "identity_verified", method=method)
        return self.get(request_id)

    # -- DPO decisions -----------------------------------------------------------------------
    def extend(self, request_id: str, reason: str) -> RightsRequest:
        """Extend the period where the law allows, telling the person why and until when."""
        if not reason.strip():
            raise ValidationError("an extension needs a reason (it is sent to the person)")
        req = self._open(request_id)
        if req.extended:
            raise Conflict(f"request {request_id} was already extended (to {req.due_on})")
        j = self.rules.resolve(req.jurisdiction)
        new_due = extended_due(j, req.received_at.date(), req.due_on, self.clock().date())
        with self.store.write() as conn:
            self._set(
                conn,
                request_id,
                due_on=new_due,
                extended=True,
                reason=reason,
                status=str(RequestStatus.EXTENDED)
                if req.status is not RequestStatus.RECEIVED
                else str(req.status),
            )
            self._step(
                conn,
                request_id,
                "extended",
                old_due_on=req.due_on.isoformat(),
                due_on=new_due.isoformat(),
                reason=reason,
                citation=j.deadline.citation,
            )
            contact = self._contact(conn, request_id)
        if contact:
            self.sender.send(
                request_id,
                contact,
                "Your privacy request: more time needed",
                f"We need more time to answer request {request_id} ({req.type}): {reason}. "
                f"We will answer by {new_due.isoformat()} ({j.deadline.citation}).",
            )
        return self.get(request_id)

    def deny(self, request_id: str, reason: str) -> RightsRequest:
        """Refuse the request, telling the person why and what the law lets them do next."""
        if not reason.strip():
            raise ValidationError("a denial needs a reason (it is sent to the person)")
        req = self._open(request_id)
        j = self.rules.resolve(req.jurisdiction)
        refusal = j.deadline.refusal
        info = refusal.text if refusal else None
        now = self.clock()
        with self.store.write() as conn:
            contact = self._contact(conn, request_id)
            self._set(
                conn,
                request_id,
                status=str(RequestStatus.DENIED),
                reason=reason,
                completed_at=now,
                result=_json(
                    {
                        "denied": reason,
                        "rights_info": info,
                        "citation": refusal.citation if refusal else None,
                    }
                ),
            )
            self._step(
                conn,
                request_id,
                "denied",
                reason=reason,
                citation=refusal.citation if refusal else None,
            )
            self._forget(conn, request_id)
        if contact:
            body = f"We cannot act on request {request_id} ({req.type}): {reason}."
            if info:
                body += f" {info} ({refusal.citation if refusal else ''})"
            self.sender.send(request_id, contact, "Your privacy request: decision", body)
        return self.get(request_id)

    def _open(self, request_id: str) -> RightsRequest:
        req = self.get(request_id)
        if not req.open:
            raise Conflict(f"request {request_id} is already {req.status}")
        return req

    def _contact(self, conn: Connection, request_id: str) -> str | None:
        return next(iter(self._identities(conn, request_id).get(_CONTACT, frozenset())), None)

    def _forget(self, conn: Connection, request_id: str) -> None:
        """Delete the request's identifiers and codes (only the pseudonym stays)."""
        conn.execute(delete(_ids).where(_ids.c.request_id == request_id))
        conn.execute(delete(_codes).where(_codes.c.request_id == request_id))

    # -- carrying out ------------------------------------------------------------------------
    def resolve(
        self, ids: Mapping[str, frozenset[str]], connectors: list[Connector]
    ) -> tuple[dict[str, frozenset[str]], list[str]]:
        """Add the identifiers linked to the given ones in authoritative stores.

        A request naming an e-mail also reaches orders keyed by customer number, but only
        through stores marked ``links_identities`` (a CRM), never through ones where an
        identifier may be shared (a family's device), which would reach another person's data.
        """
        known: dict[str, set[str]] = {k: set(v) for k, v in ids.items() if k != _CONTACT}
        via: list[str] = []
        linkers = [c for c in connectors if c.links_identities]
        for _ in range(_LINK_ROUNDS):
            grew = False
            frozen = {k: frozenset(v) for k, v in known.items()}
            for c in linkers:
                try:
                    rows = c.find(frozen).rows
                except ConnectorError:
                    continue  # reported by the store's own step; linking goes on without it
                for kind, values in c.linked(rows).items():
                    new = values - known.get(kind, set())
                    if new:
                        known.setdefault(kind, set()).update(new)
                        grew = True
                        if c.key not in via:
                            via.append(c.key)
            if not grew:
                break
        return {k: frozenset(v) for k, v in known.items()}, via

    def run(self, request_id: str) -> RightsRequest:
        """Carry the request out over every store; complete it unless a vendor is pending.

        Safe to call again: erasures find nothing the second time, pending vendor tasks are
        polled, and a failed store is retried.
        """
        req = self._open(request_id)
        if req.status is RequestStatus.RECEIVED and req.needs_verification:
            raise Conflict(
                f"request {request_id} waits for identity verification (one-time code sent to "
                "the contact); verify it first"
            )
        with self.store.write() as conn:
            ids = self._identities(conn, request_id)
            if req.status is not RequestStatus.EXTENDED:
                self._set(conn, request_id, status=str(RequestStatus.IN_PROGRESS))
            self._step(conn, request_id, "started")
        connectors, missing = self.connectors()
        ids, linked_via = self.resolve(ids, connectors)
        for c in connectors:
            if isinstance(c, WebhookConnector):
                c.request_id = request_id
                c.task_id = self._task_id(request_id, c.key)
        handler = {
            RequestType.ERASURE: self._erase,
            RequestType.RECTIFICATION: self._rectify,
        }.get(req.type)
        if req.type in _ACCESS_TYPES:
            result = self._access(req, ids, connectors, missing)
        elif handler is not None:
            result = handler(req, ids, connectors, missing)
        else:
            result = self._stop(req, ids, connectors)
        result["identities_linked_via"] = linked_via
        result["identity_types"] = {k: len(v) for k, v in sorted(ids.items())}
        pending = [c for c in result.get("changes", []) if c["status"] in ("pending", "failed")]
        now = self.clock()
        with self.store.write() as conn:
            for c in result.get("changes", []):
                self._record_task(conn, request_id, c)
            if pending or result.get("verification", {}).get("remaining"):
                self._set(conn, request_id, result=_json(result))
                self._step(
                    conn,
                    request_id,
                    "waiting",
                    pending=[c["dataset"] for c in pending],
                    remaining=result.get("verification", {}).get("remaining", {}),
                )
                contact = None
            else:
                self._set(
                    conn,
                    request_id,
                    status=str(RequestStatus.COMPLETED),
                    result=_json(result),
                    completed_at=now,
                )
                self._step(conn, request_id, "completed", summary=_summary(result))
                contact = self._contact(conn, request_id)
                self._forget(conn, request_id)
        if contact:
            self.sender.send(
                request_id, contact, "Your privacy request: done", _answer_text(req, result)
            )
        remaining = result.get("verification", {}).get("remaining")
        if remaining:
            raise Conflict(
                f"erasure of request {request_id} is NOT complete: identifiers remain in "
                + ", ".join(f"{k} ({n} row(s))" for k, n in remaining.items())
                + "; fix the connector(s) and run the request again",
                details={"remaining": remaining},
            )
        return self.get(request_id)

    def _task_id(self, request_id: str, dataset: str) -> str:
        return "task_" + sha256(f"{request_id}:{dataset}".encode()).hexdigest()[:24]

    def _record_task(self, conn: Connection, request_id: str, change: dict[str, Any]) -> None:
        tid = self._task_id(request_id, change["dataset"])
        now = self.clock()
        exists = conn.execute(select(_tasks.c.id).where(_tasks.c.id == tid)).first()
        values = dict(status=change["status"], detail=_json(change), updated_at=now)
        if exists:
            conn.execute(update(_tasks).where(_tasks.c.id == tid).values(**values))
        else:
            conn.execute(
                insert(_tasks).values(
                    id=tid,
                    request_id=request_id,
                    dataset=change["dataset"],
                    action=change["action"],
                    created_at=now,
                    **values,
                )
            )

    def _found(self, connectors: list[Connector], ids: Mapping[str, frozenset[str]]) -> list[Found]:
        out = []
        for c in connectors:
            try:
                out.append(c.find(ids))
            except ConnectorError as exc:
                out.append(Found(c.key, [], status="failed", note=exc.message))
        return out

    def _access(
        self,
        req: RightsRequest,
        ids: Mapping[str, frozenset[str]],
        connectors: list[Connector],
        missing: list[str],
    ) -> dict[str, Any]:
        if req.type is RequestType.EXPLANATION:
            connectors = [c for c in connectors if isinstance(c, DecisionLogConnector)]
        found = self._found(connectors, ids)
        explanations: dict[str, dict[str, Any]] = {}
        wanted = req.details.get("decision_id")
        for f in found:
            if f.dataset != "trustcart_decisions":
                continue
            if wanted:
                f.rows = [r for r in f.rows if r.get("id") == wanted]
            for row in f.rows:
                try:
                    explanations[str(row["id"])] = self.gateway.explanation(str(row["id"]))
                except Exception as exc:
                    explanations[str(row["id"])] = {"unavailable": str(exc)[:200]}
        package = build_package(
            request_id=req.id,
            request_type=str(req.type),
            jurisdiction=req.jurisdiction,
            generated_at=self.clock(),
            dm=self.datamap(),
            found=found,
            identities_used={k: len(v) for k, v in ids.items()},
            explanations=explanations,
            not_reachable=missing,
        )
        self._store_package(req.id, package)
        changes = [
            Change(
                f.dataset, "find", "connector", rows_found=len(f.rows), status=f.status, note=f.note
            ).to_dict()
            for f in found
        ]
        return {
            "changes": changes,
            "not_reachable": missing,
            "package": {
                "datasets": len(package.datasets),
                "rows": sum(len(d.rows) for d in package.datasets),
                "consent_events": len(package.consent_history),
                "decisions": len(package.decisions),
            },
        }

    def _store_package(self, request_id: str, package: AccessPackage) -> None:
        with self.store.write() as conn:
            conn.execute(delete(_packages).where(_packages.c.request_id == request_id))
            conn.execute(
                insert(_packages).values(
                    request_id=request_id,
                    zip_bytes=package.to_zip(),
                    html=package.to_html(),
                    created_at=self.clock(),
                )
            )

    def package(self, request_id: str) -> tuple[bytes, str]:
        """The request's access package: (zip bytes, HTML)."""
        with self.store.read() as conn:
            r = conn.execute(select(_packages).where(_packages.c.request_id == request_id)).first()
        if r is None:
            self.get(request_id)
            raise NotFound(f"request {request_id} has no access package (yet)")
        return bytes(r.zip_bytes), str(r.html)

    def _erase(
        self,
        req: RightsRequest,
        ids: Mapping[str, frozenset[str]],
        connectors: list[Connector],
        missing: list[str],
    ) -> dict[str, Any]:
        changes: list[dict[str, Any]] = []
        for c in connectors:
            try:
                changes.append(c.erase(ids).to_dict())
            except ConnectorError as exc:
                changes.append(
                    Change(c.key, "erase", c.kind, status="failed", note=exc.message).to_dict()
                )
        verification = self.scan(ids, connectors)
        # a store whose erasure is still pending (a vendor working on it) or failed is not
        # "remaining" yet: it is awaited, and the request stays open until it answers
        waiting = {c["dataset"] for c in changes if c["status"] in ("pending", "failed")}
        verification["awaiting"] = sorted(waiting)
        verification["remaining"] = {
            k: n for k, n in verification["remaining"].items() if k not in waiting
        }
        return {
            "changes": changes,
            "verification": verification,
            "not_reachable": missing,
            "certificate": {
                "request_id": req.id,
                "erased_at": self.clock().isoformat(),
                "stores": [
                    {
                        k: c[k]
                        for k in (
                            "dataset",
                            "connector",
                            "strategy",
                            "rows_found",
                            "rows_changed",
                            "fields_changed",
                            "status",
                            "note",
                        )
                    }
                    for c in changes
                ],
                "verification": verification,
                "not_reachable": missing,
            },
        }

    def scan(
        self, ids: Mapping[str, frozenset[str]], connectors: list[Connector]
    ) -> dict[str, Any]:
        """Search every store for the identifiers: what remains, and what could not be checked."""
        remaining: dict[str, int] = {}
        unchecked: list[str] = []
        checked: list[str] = []
        for c in connectors:
            try:
                n = c.count(ids)
            except ConnectorError:
                unchecked.append(c.key)
                continue
            if n < 0:
                unchecked.append(c.key)
            elif n > 0:
                remaining[c.key] = n
            else:
                checked.append(c.key)
        return {"remaining": remaining, "unchecked": unchecked, "clean": checked}

    def _rectify(
        self,
        req: RightsRequest,
        ids: Mapping[str, frozenset[str]],
        connectors: list[Connector],
        missing: list[str],
    ) -> dict[str, Any]:
        changes_wanted = req.details.get("changes", {})
        changes: list[dict[str, Any]] = []
        for c in connectors:
            try:
                changes.append(c.rectify(ids, changes_wanted).to_dict())
            except ConnectorError as exc:
                changes.append(
                    Change(c.key, "rectify", c.kind, status="failed", note=exc.message).to_dict()
                )
        return {"changes": changes, "not_reachable": missing}

    def _stop(
        self, req: RightsRequest, ids: Mapping[str, frozenset[str]], connectors: list[Connector]
    ) -> dict[str, Any]:
        """Objections, opt-outs, restriction, limit: withdraw the matching consent at once."""
        kinds = STOPS.get(req.type, frozenset())
        dm = self.datamap()
        purposes = {p.key for p in dm.purposes if self.rules.purpose_type_of(p.data_use) in kinds}
        ledger = next(c for c in connectors if isinstance(c, ConsentLedgerConnector))
        if ids.get(self.settings.subject_identity):
            n = ledger.withdraw(ids, purposes, f"rights:{req.type}") if purposes else 0
            change = Change(
                CONSENT_DATASET,
                "opt_out",
                "trustcart",
                rows_changed=n,
                fields_changed=sorted(purposes),
                note=None
                if purposes
                else "no purpose of the data map is of the kind this request stops "
                f"({', '.join(sorted(kinds))}): nothing to change",
            )
        else:
            change = Change(
                CONSENT_DATASET,
                "opt_out",
                "trustcart",
                status="failed",
                note=f"the request names no {self.settings.subject_identity}, the "
                "identifier consent is recorded under",
            )
        return {"changes": [change.to_dict()], "purposes": sorted(purposes)}

    # -- vendor callbacks --------------------------------------------------------------------
    def task_result(self, task_id: str, answer: Mapping[str, Any]) -> dict[str, Any]:
        """A vendor's callback for a pending task; completes the request if it was the last."""
        status = str(answer.get("status", "done"))
        if status not in ("done", "failed"):
            raise ValidationError("status must be 'done' or 'failed'")
        with self.store.write() as conn:
            row = conn.execute(select(_tasks).where(_tasks.c.id == task_id)).first()
            if row is None:
                raise NotFound(f"no task {task_id!r}")
            detail = orjson.loads(row.detail)
            detail.update(
                status=status,
                rows_found=int(answer.get("rows_found", 0) or 0),
                rows_changed=int(answer.get("rows_changed", 0) or 0),
                note=str(answer.get("note") or "vendor callback"),
            )
            conn.execute(
                update(_tasks)
                .where(_tasks.c.id == task_id)
                .values(status=status, detail=_json(detail), updated_at=self.clock())
            )
            self._step(conn, row.request_id, "task_result", dataset=row.dataset, status=status)
            left = conn.execute(
                select(_tasks.c.id).where(
                    _tasks.c.request_id == row.request_id,
                    _tasks.c.status.in_(("pending", "failed")),
                )
            ).all()
            req_row = conn.execute(
                select(_requests).where(_requests.c.id == row.request_id)
            ).first()
            if not left and req_row is not None and req_row.status not in FINAL:
                result = orjson.loads(req_row.result) if req_row.result else {}
                for c in result.get("changes", []):
                    if c["dataset"] == row.dataset:
                        c.update(
                            {k: detail[k] for k in ("status", "rows_found", "rows_changed", "note")}
                        )
                self._set(
                    conn,
                    row.request_id,
                    status=str(RequestStatus.COMPLETED),
                    result=_json(result),
                    completed_at=self.clock(),
                )
                self._step(conn, row.request_id, "completed", summary=_summary(result))
                self._forget(conn, row.request_id)
        return {"task": task_id, "status": status, "request_id": row.request_id}


def _summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """Counts per store, for the log (no values)."""
    return {
        c["dataset"]: {
            "found": c["rows_found"],
            "changed": c["rows_changed"],
            "status": c["status"],
        }
        for c in result.get("changes", [])
    }


def _answer_text(req: RightsRequest, result: Mapping[str, Any]) -> str:
    if req.type in _ACCESS_TYPES:
        return (
            f"Your data for request {req.id} is ready: the shop's privacy team sends you the "
            "package (readable page and machine-readable files)."
        )
    if req.type is RequestType.ERASURE:
        n = sum(c["rows_changed"] for c in result.get("changes", []))
        return (
            f"Request {req.id} is done: {n} record(s) erased or anonymised; proof of your "
            "consent choices is kept as the law requires."
        )
    return f"Request {req.id} ({req.type}) is done."
