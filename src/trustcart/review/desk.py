"""The review desk: a shopper contests a logged decision, a human upholds or overrides it.

Every step — contested, assigned, upheld/overridden, shopper notified — is appended to the
hash-chained ``human_review`` log in the same transaction as the ``review_cases`` row it
changes, so ``trustcart ledger verify`` covers both (the row is checked against the replay of
the log, see :func:`verify_review_cases`). A case is bound to the decision's log entry by its
position and hash: editing the decision after it was contested breaks that link too.

Personal parts (the statement, the contact address, the reviewer's reasons) are sealed with the
key of the decision's subject (:meth:`SubjectKeys.seal_for_token`): erasing the person makes the
decision and everything said about it unreadable together, while the counts behind overturn
rates survive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from trustcart.clock import utcnow
from trustcart.errors import Conflict, NotFound, SubjectErased, ValidationError
from trustcart.ids import new_id
from trustcart.review.model import (
    FINAL,
    MAX_REASONS,
    MAX_STATEMENT,
    CaseStatus,
    ContestIn,
    ReviewCase,
    Verdict,
)
from trustcart.review.policy import ReviewFrame, review_frame
from trustcart.review.tokens import DEFAULT_TTL, make_review_token, read_review_token
from trustcart.rights.outbox import OutboxSender, Sender
from trustcart.rights.policy import extended_due
from trustcart.rules import Rules, load_rules
from trustcart.store import CopyCheck, LogRecord, Store, VerifyResult
from trustcart.store.tables import ReviewCaseRow, table_of

if TYPE_CHECKING:
    from trustcart.gateway import Gateway
    from trustcart.workspace import Workspace

REVIEW_LOG = "human_review"
_cases = table_of(ReviewCaseRow)
#: Columns replayed from the log and compared with the table (see verify_review_cases).
_PROJECTED = (
    "decision_id",
    "subject",
    "kind",
    "jurisdiction",
    "group",
    "channel",
    "status",
    "statutory",
    "citation",
    "due_on",
    "assigned_to",
    "statement",
    "contact",
    "outcome",
    "reasons",
    "reviewer",
)


def _text(text: str, missing: str) -> str:
    """Words someone will read (the shopper, a colleague): stripped, 422 when empty or longer
    than :data:`MAX_REASONS`."""
    text = text.strip()
    if not text:
        raise ValidationError(missing)
    if len(text) > MAX_REASONS:
        raise ValidationError(f"reasons are limited to {MAX_REASONS} characters")
    return text


def _reviewer(name: str, doing: str) -> str:
    """The acting reviewer's name as logged (at most 200 characters); 422 when empty."""
    name = name.strip()[:200]
    if not name:
        raise ValidationError(f"name the reviewer {doing}")
    return name


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _row(r: Any) -> ReviewCase:
    return ReviewCase(
        id=r.id,
        decision_id=r.decision_id,
        kind=r.kind,
        jurisdiction=r.jurisdiction,
        group=r.group,
        channel=r.channel,
        status=CaseStatus(r.status),
        statutory=bool(r.statutory),
        citation=r.citation,
        created_at=r.created_at,
        due_on=r.due_on,
        assigned_to=r.assigned_to,
        has_statement=r.statement is not None,
        changes=orjson.loads(r.outcome) if r.outcome else None,
        reviewer=r.reviewer,
        resolved_at=r.resolved_at,
        notified_at=r.notified_at,
    )


@dataclass(frozen=True)
class ContestLink:
    """A signed link to a decision's review page, as the explanation route hands it out."""

    token: str
    expires_at: datetime
    statutory: bool
    citation: str | None

    def to_dict(self, url: str | None = None) -> dict[str, Any]:
        """JSON view; ``url`` is the page with the token, when the caller knows its address."""
        out: dict[str, Any] = {
            "token": self.token,
            "expires_at": self.expires_at.isoformat(),
            "statutory": self.statutory,
            "citation": self.citation,
        }
        if url is not None:
            out["url"] = url
        return out


@dataclass
class CaseDetail:
    """A case opened for its reviewer: the decision with its inputs, the explanation, the policy
    it was taken under, the shopper's statement and the case's timeline."""

    case: ReviewCase
    decision: dict[str, Any]
    explanation: dict[str, Any] | None
    explanation_unavailable: str | None
    policy: dict[str, Any]
    frame: ReviewFrame
    statement: str | None
    reasons: str | None
    outcome_text: str
    new_outcome_text: str | None
    steps: list[dict[str, Any]] = field(default_factory=list)
    erased: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "case": self.case.to_dict(),
            "decision": self.decision,
            "explanation": self.explanation,
            "explanation_unavailable": self.explanation_unavailable,
            "policy": self.policy,
            "frame": self.frame.to_dict(),
            "statement": self.statement,
            "reasons": self.reasons,
            "outcome_text": self.outcome_text,
            "new_outcome_text": self.new_outcome_text,
            "steps": self.steps,
            "erased": self.erased,
        }


def describe_output(kind: str, output: Mapping[str, Any]) -> str:
    """A decision's outcome in a sentence a shopper reads (no field names)."""
    if kind == "price":
        cur = output.get("currency", "")
        text = f"your price: {output.get('price')} {cur}".strip()
        if output.get("list_price") is not None:
            text += f" (list price {output['list_price']} {cur})".rstrip()
        return text
    if kind == "offer":
        offer = output.get("offer")
        return f"offer made: {offer}" if offer else "no offer was made"
    if kind in ("recommend", "rank"):
        items = output.get("items") or []
        shown = ", ".join(str(i.get("item", i) if isinstance(i, dict) else i) for i in items[:5])
        return f"items shown: {shown}" if shown else "no items were shown"
    return ", ".join(f"{k}: {v}" for k, v in output.items())


def _check_changes(
    kind: str, original: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The corrected output fields of an override, validated against the original output."""
    if not changes:
        raise ValidationError(
            "an override needs the corrected outcome: e.g. changes={'price': '44.90'} for a "
            "price, {'offer': 'WELCOME10'} or {'offer': null} for an offer"
        )
    unknown = sorted(set(changes) - set(original))
    if unknown:
        raise ValidationError(
            f"unknown output field(s) {', '.join(map(repr, unknown))}; this {kind} decision has: "
            + ", ".join(sorted(original)),
            details={"fields": sorted(original)},
        )
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("price", "list_price", "proposed_price"):
            try:
                amount = Decimal(str(value).strip())
            except (InvalidOperation, ValueError):
                raise ValidationError(f"{name} must be a decimal amount such as 44.90") from None
            if not amount.is_finite() or amount <= 0 or amount > Decimal("1e9"):
                raise ValidationError(f"{name} must be a positive amount")
            out[name] = str(amount)
        elif value is None or isinstance(value, str | int | float | bool):
            if isinstance(value, str) and len(value) > 500:
                raise ValidationError(f"{name} is too long (500 characters at most)")
            out[name] = value
        elif isinstance(value, list) and len(value) <= 1000:
            out[name] = orjson.loads(orjson.dumps(value))
        else:
            raise ValidationError(f"{name} must be a number, text, true/false, null or a list")
    if all(original.get(k) == v for k, v in out.items()):
        raise ValidationError(
            "the corrected outcome equals the original one: uphold the decision instead"
        )
    return out


class ReviewDesk:
    """Contests and human review for one workspace. One per process (or per app).

    ``gateway`` reads and explains decisions (built on first use, commit ``sync``); ``sender``
    delivers the outcome to the shopper (default: the rights outbox table); ``clock`` dates
    each step (tests pass a fixed one).
    """

    def __init__(
        self,
        ws: Workspace,
        *,
        gateway: Gateway | None = None,
        sender: Sender | None = None,
        clock: Callable[[], datetime] = utcnow,
        rules: Rules | None = None,
        four_eyes: bool | None = None,
    ) -> None:
        self.ws = ws
        self.store: Store = ws.store
        self._gateway = gateway
        self.outbox = OutboxSender(ws.store)
        self.sender: Sender = sender or self.outbox
        self.clock = clock
        self.rules = rules or load_rules()
        self.log = ws.store.log(REVIEW_LOG)
        self._key = ws.settings.pseudonym_key()
        #: A verdict needs a second reviewer's confirmation (``review_four_eyes``).
        self.four_eyes = ws.settings.review_four_eyes if four_eyes is None else four_eyes

    @property
    def gateway(self) -> Gateway:
        """The decision gateway (reads, opens and explains logged decisions)."""
        if self._gateway is None:
            from trustcart.gateway import Gateway

            self._gateway = Gateway(self.ws, commit="sync")
        return self._gateway

    # -- links --------------------------------------------------------------------------------
    def frame(self, jurisdiction: str, received: date | None = None) -> ReviewFrame:
        """The legal frame of a contest under ``jurisdiction`` received on ``received``."""
        day = received or self.clock().date()
        return review_frame(self.rules, self.rules.resolve(jurisdiction), day)

    def contest_link(self, decision_id: str, *, ttl: int = DEFAULT_TTL) -> ContestLink:
        """A signed link letting the decision's subject see and contest it (404 if unknown)."""
        self.gateway.log.seq_of(decision_id)
        rec = self.gateway.log.get(decision_id)
        token, expires = make_review_token(self._key, decision_id, ttl=ttl)
        f = self.frame(rec["jurisdiction"])
        return ContestLink(token, expires, f.statutory, f.citation)

    def decision_of(self, token: str | None) -> str:
        """The decision a link's token names (401 if missing, forged or expired)."""
        return read_review_token(self._key, token)

    # -- reading ------------------------------------------------------------------------------
    def get(self, case_id: str) -> ReviewCase:
        """One case, or a 404 naming it."""
        with self.store.read() as conn:
            r = conn.execute(select(_cases).where(_cases.c.id == case_id)).first()
        if r is None:
            raise NotFound(f"no review case {case_id!r}; `trustcart review list` shows them")
        return _row(r)

    def for_decision(self, decision_id: str) -> ReviewCase | None:
        """The case opened on a decision, if it was contested."""
        with self.store.read() as conn:
            r = conn.execute(select(_cases).where(_cases.c.decision_id == decision_id)).first()
        return None if r is None else _row(r)

    def cases(
        self,
        *,
        status: CaseStatus | str | None = None,
        open_only: bool = False,
        overdue_on: date | None = None,
        limit: int = 1000,
    ) -> list[ReviewCase]:
        """Cases, most urgent first (earliest due date); filters by status, open, overdue."""
        if limit < 1:
            raise ValidationError("limit must be at least 1")
        q = select(_cases).order_by(_cases.c.due_on, _cases.c.id).limit(limit)
        if status is not None:
            try:
                q = q.where(_cases.c.status == CaseStatus(status).value)
            except ValueError:
                raise ValidationError(
                    f"unknown status {status!r}; choose one of: "
                    + ", ".join(s.value for s in CaseStatus)
                ) from None
        if open_only or overdue_on is not None:
            q = q.where(_cases.c.status.not_in([s.value for s in FINAL]))
        if overdue_on is not None:
            q = q.where(_cases.c.due_on < overdue_on)
        with self.store.read() as conn:
            return [_row(r) for r in conn.execute(q)]

    def overdue(self, today: date | None = None) -> list[ReviewCase]:
        """Open cases past their due date."""
        return self.cases(overdue_on=today or self.clock().date())

    def steps(self, case_id: str) -> list[dict[str, Any]]:
        """The case's timeline from the evidence log (sealed parts left out)."""
        out = []
        for rec in self._entries(case_id):
            p = dict(rec.payload)
            for sealed in ("statement", "contact", "reasons", "reason"):
                if sealed in p:
                    p[sealed] = "(sealed)" if p[sealed] else None
            out.append({**p, "seq": rec.seq, "logged_at": rec.created_at.isoformat()})
        return out

    def _entries(self, case_id: str) -> list[LogRecord]:
        # The log is small next to decisions; a case's steps are found by scanning it. A busy
        # shop would index them (a case_id column on a side table) — see docs/review.md.
        return [r for r in self.log if r.payload.get("case_id") == case_id]

    def _unseal(self, token: str, sealed: str | None) -> tuple[Any, bool]:
        """``(value, erased)``: the opened value, or None with ``erased`` once shredded."""
        if sealed is None:
            return None, False
        value = self.gateway.keys.unseal(token, sealed)
        return value, value is None

    def detail(self, case_id: str) -> CaseDetail:
        """A case opened for review: decision, inputs, explanation, policy, statement, steps.

        Unseals personal data: callers (API, dashboard, CLI) write an access-log entry first.
        """
        from trustcart.errors import TrustCartError
        from trustcart.gateway import get_model

        case = self.get(case_id)
        with self.store.read() as conn:
            r = conn.execute(select(_cases).where(_cases.c.id == case_id)).one()
        gw = self.gateway
        decision = gw.get(case.decision_id)
        statement, gone1 = self._unseal(r.subject, r.statement)
        reasons, gone2 = self._unseal(r.subject, r.reasons)
        explanation: dict[str, Any] | None = None
        unavailable: str | None = None
        try:
            explanation = gw.explanation(case.decision_id)
        except TrustCartError as exc:
            unavailable = exc.message
        policy: dict[str, Any] = {
            "model": decision.get("model"),
            "model_version": decision.get("model_version"),
            "rules_version": decision.get("rules_version"),
            "guardrails": decision.get("guardrails", []),
            "disclosures": decision.get("disclosures", []),
            "features_used": decision.get("features_used"),
            "features_dropped": decision.get("features_dropped"),
            "registration": None,
        }
        try:
            m = get_model(self.store, str(decision["model"]), str(decision["model_version"]))
            policy["registration"] = {
                "kind": m.kind,
                "training_sha256": m.training_sha256,
                "registered_at": m.created_at.isoformat(),
                "features": [f.get("name") for f in m.features],
            }
        except TrustCartError:
            pass  # a fallback model or one registered elsewhere: the log still names it
        new_text = None
        if case.changes is not None:
            new_text = describe_output(case.kind, {**decision["output"], **case.changes})
        return CaseDetail(
            case=case,
            decision=decision,
            explanation=explanation,
            explanation_unavailable=unavailable,
            policy=policy,
            frame=self.frame(case.jurisdiction, case.created_at.date()),
            statement=statement["text"] if statement else None,
            reasons=reasons["text"] if reasons else None,
            outcome_text=describe_output(case.kind, decision["output"]),
            new_outcome_text=new_text,
            steps=self.steps(case_id),
            erased=bool(decision.get("erased")) or gone1 or gone2,
        )

    def shopper_view(self, decision_id: str) -> dict[str, Any]:
        """What the decision's subject sees (the review page, the shop's backend): the outcome
        and its explanation in plain words, the law that applies, and the case if contested,
        with the reviewer's answer once decided. 404 unknown, 410 once the person was erased.
        """
        from trustcart.errors import TrustCartError

        gw = self.gateway
        rec = gw.get(decision_id)
        if rec.get("erased"):
            raise SubjectErased(
                f"decision {decision_id!r} belongs to a person whose data was erased",
                details={"decision_id": decision_id},
            )
        explanation: dict[str, Any] | None
        try:
            explanation = gw.explanation(decision_id)
        except TrustCartError:
            explanation = None
        created = datetime.fromisoformat(str(rec["created_at"]))
        out: dict[str, Any] = {
            "decision_id": decision_id,
            "kind": rec["kind"],
            "created_at": rec["created_at"],
            "outcome_text": describe_output(str(rec["kind"]), rec["output"]),
            "explanation_text": explanation.get("text") if explanation else None,
            "reasons": list(explanation.get("reasons") or []) if explanation else [],
            "not_used": list(explanation.get("not_used") or []) if explanation else [],
            "disclosures": rec.get("disclosures", []),
            "frame": self.frame(str(rec["jurisdiction"]), created.date()).to_dict(),
            "case": None,
        }
        case = self.for_decision(decision_id)
        if case is not None:
            with self.store.read() as conn:
                r = conn.execute(select(_cases).where(_cases.c.id == case.id)).one()
            reasons, _ = self._unseal(r.subject, r.reasons)
            statement, _ = self._unseal(r.subject, r.statement)
            out["case"] = {
                "id": case.id,
                "status": case.status.value,
                "created_at": case.created_at.isoformat(),
                "due_on": case.due_on.isoformat(),
                "statutory": case.statutory,
                "citation": case.citation,
                "statement": statement["text"] if statement else None,
                "resolved": not case.open,
                "changed": case.status is CaseStatus.OVERRIDDEN,
                "new_outcome_text": describe_output(case.kind, {**rec["output"], **case.changes})
                if case.changes
                else None,
                "reasons": reasons["text"] if reasons else None,
                "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None,
            }
        return out

    # -- writing ------------------------------------------------------------------------------
    def _step(self, conn: Connection, case_id: str, step: str, **info: Any) -> LogRecord:
        return self.log.append(
            {"case_id": case_id, "step": step, "at": self.clock().isoformat(), **info}, conn=conn
        )

    def contest(
        self,
        decision_id: str,
        contest: ContestIn | None = None,
        *,
        channel: str = "api",
    ) -> ReviewCase:
        """Open a review case on a logged decision, with the person's statement (optional).

        404 for an unknown decision, 410 once its subject was erased, 409 when the decision was
        already contested (the answer names the case).
        """
        c = contest or ContestIn()
        if channel not in ("api", "web", "cli"):
            raise ValidationError("channel must be api, web or cli")
        if len(c.statement) > MAX_STATEMENT:
            raise ValidationError(f"the statement is limited to {MAX_STATEMENT} characters")
        existing = self.for_decision(decision_id)
        if existing is not None:
            raise Conflict(
                f"decision {decision_id!r} was already contested: review case {existing.id} "
                f"({existing.status.value})",
                details={"case_id": existing.id, "status": existing.status.value},
            )
        gw = self.gateway
        gw.keys.refresh()
        seq = gw.log.seq_of(decision_id)
        entry = gw.log.log.get(seq)
        record = entry.payload
        if record.get("id") != decision_id:
            raise NotFound(
                f"decision {decision_id!r}: its log entry is another decision; run "
                "`trustcart ledger verify decisions`"
            )
        token = str(record["subject"])
        if "sealed" in record and not gw.keys.exists(token):
            raise SubjectErased(
                f"decision {decision_id!r} belongs to a person whose data was erased: it can no "
                "longer be reviewed for them",
                details={"decision_id": decision_id},
            )
        statement = contact = None
        if c.statement:
            statement = gw.keys.seal_for_token(token, {"text": c.statement})
        if c.contact:
            contact = gw.keys.seal_for_token(token, {"email": c.contact})
        now = self.clock()
        f = self.frame(str(record["jurisdiction"]), now.date())
        case_id = new_id("rv_")
        values = {
            "id": case_id,
            "decision_id": decision_id,
            "subject": token,
            "kind": str(record["kind"]),
            "jurisdiction": str(record["jurisdiction"]),
            "group": record.get("group"),
            "channel": channel,
            "status": CaseStatus.OPEN.value,
            "statutory": f.statutory,
            "citation": f.citation,
            "created_at": now,
            "due_on": f.due_on,
            "statement": statement,
            "contact": contact,
            "updated_at": now,
        }
        try:
            with self.store.write() as conn:
                conn.execute(insert(_cases).values(**values))
                self._step(
                    conn,
                    case_id,
                    "contested",
                    decision_id=decision_id,
                    decision_seq=entry.seq,
                    decision_hash=entry.hash,
                    subject=token,
                    kind=values["kind"],
                    jurisdiction=values["jurisdiction"],
                    group=values["group"],
                    channel=channel,
                    statutory=f.statutory,
                    citation=f.citation,
                    due_on=f.due_on.isoformat(),
                    deadline_citation=f.deadline_citation,
                    statement=statement,
                    contact=contact,
                )
        except IntegrityError:
            found = self.for_decision(decision_id)
            raise Conflict(
                f"decision {decision_id!r} was already contested"
                + (f": review case {found.id}" if found else ""),
                details={"case_id": found.id if found else None},
            ) from None
        return self.get(case_id)

    def _locked(self, conn: Connection, case_id: str) -> Any:
        r = conn.execute(select(_cases).where(_cases.c.id == case_id).with_for_update()).first()
        if r is None:
            raise NotFound(f"no review case {case_id!r}; `trustcart review list` shows them")
        return r

    def _set(self, conn: Connection, case_id: str, **values: Any) -> None:
        """Change a case's row (its ``updated_at`` too), in the caller's transaction."""
        conn.execute(
            update(_cases).where(_cases.c.id == case_id).values(**values, updated_at=self.clock())
        )

    def assign(self, case_id: str, reviewer: str) -> ReviewCase:
        """A reviewer takes the case (status ``in_review``); 409 once it is decided."""
        reviewer = _reviewer(reviewer, "taking the case")
        with self.store.write() as conn:
            r = self._locked(conn, case_id)
            if CaseStatus(r.status) in FINAL or r.status == CaseStatus.PROPOSED.value:
                raise Conflict(f"review case {case_id} is already {r.status}")
            self._set(conn, case_id, status=CaseStatus.IN_REVIEW.value, assigned_to=reviewer)
            self._step(conn, case_id, "assigned", reviewer=reviewer)
        return self.get(case_id)

    def decide(
        self,
        case_id: str,
        verdict: Verdict | str,
        reasons: str,
        *,
        reviewer: str,
        changes: Mapping[str, Any] | None = None,
        page_url: str | None = None,
    ) -> ReviewCase:
        """Uphold or override the contested decision, with reasons; then tell the shopper.

        An override records the corrected outcome (``changes``: output fields, e.g. a price).
        A second decision on the same case is a 409: a resolution is final and logged.
        ``page_url`` (the shopper page's address) puts a fresh link to it in the message.
        With four-eyes review (``review_four_eyes``) the verdict is recorded as a proposal
        (status ``proposed``); it becomes final, and the shopper is told, when a second
        reviewer confirms it (:meth:`confirm`).
        """
        if verdict not in ("uphold", "override"):
            raise ValidationError("verdict must be 'uphold' or 'override'")
        reasons = _text(reasons, "give the reasons for the decision: the shopper reads them")
        reviewer = _reviewer(reviewer, "deciding the case")
        if verdict == "uphold" and changes:
            raise ValidationError("an upheld decision keeps its outcome: send no changes")
        case = self.get(case_id)
        if not case.open:
            raise Conflict(
                f"review case {case_id} was already resolved ({case.status.value} by "
                f"{case.reviewer}); a resolution is final",
                details={"status": case.status.value},
            )
        if case.status is CaseStatus.PROPOSED:
            raise Conflict(
                f"review case {case_id} has a verdict proposed by {case.reviewer} awaiting a "
                "second reviewer: confirm it or send it back",
                details={"status": case.status.value, "proposed_by": case.reviewer},
            )
        original = self.gateway.log.get(case.decision_id)["output"]
        fixed = (
            _check_changes(case.kind, original, changes or {}) if verdict == "override" else None
        )
        status = CaseStatus.OVERRIDDEN if verdict == "override" else CaseStatus.UPHELD
        if self.four_eyes:
            status = CaseStatus.PROPOSED
        with self.store.write() as conn:
            r = self._locked(conn, case_id)
            if CaseStatus(r.status) in FINAL or r.status == CaseStatus.PROPOSED.value:
                raise Conflict(f"review case {case_id} was decided meanwhile ({r.status})")
            sealed = self.gateway.keys.seal_for_token(r.subject, {"text": reasons})
            now = self.clock()
            self._set(
                conn,
                case_id,
                status=status.value,
                outcome=_json(fixed) if fixed is not None else None,
                reasons=sealed,
                reviewer=reviewer,
                assigned_to=r.assigned_to or reviewer,
                resolved_at=None if status is CaseStatus.PROPOSED else now,
            )
            self._step(
                conn,
                case_id,
                status.value,
                reviewer=reviewer,
                reasons=sealed,
                original_output=original,
                changes=fixed,
                **({"verdict": verdict} if status is CaseStatus.PROPOSED else {}),
            )
        if status is CaseStatus.PROPOSED:
            return self.get(case_id)
        self.notify(case_id, page_url=page_url)
        return self.get(case_id)

    def confirm(self, case_id: str, *, reviewer: str, page_url: str | None = None) -> ReviewCase:
        """A second reviewer confirms the proposed verdict (four-eyes): it becomes final and
        the shopper is told. The proposer cannot confirm their own verdict (409)."""
        reviewer = _reviewer(reviewer, "confirming the verdict")
        case = self.get(case_id)
        original = self.gateway.log.get(case.decision_id)["output"]
        with self.store.write() as conn:
            r = self._proposal(conn, case_id, reviewer)
            status = CaseStatus.OVERRIDDEN if r.outcome else CaseStatus.UPHELD
            now = self.clock()
            self._set(conn, case_id, status=status.value, resolved_at=now)
            self._step(
                conn,
                case_id,
                status.value,
                reviewer=r.reviewer,
                confirmed_by=reviewer,
                reasons=r.reasons,
                original_output=original,
                changes=orjson.loads(r.outcome) if r.outcome else None,
            )
        self.notify(case_id, page_url=page_url)
        return self.get(case_id)

    def send_back(self, case_id: str, reasons: str, *, reviewer: str) -> ReviewCase:
        """A second reviewer does not confirm the proposed verdict: the case returns to
        ``in_review`` (proposal cleared, kept in the log) for a new verdict."""
        reasons = _text(reasons, "say why the verdict is sent back")
        reviewer = _reviewer(reviewer, "sending the verdict back")
        with self.store.write() as conn:
            r = self._proposal(conn, case_id, reviewer)
            sealed = self.gateway.keys.seal_for_token(r.subject, {"text": reasons})
            self._set(
                conn,
                case_id,
                status=CaseStatus.IN_REVIEW.value,
                outcome=None,
                reasons=None,
                reviewer=None,
            )
            self._step(
                conn, case_id, "sent_back", reviewer=reviewer, proposed_by=r.reviewer,
                reason=sealed,
            )  # fmt: skip
        return self.get(case_id)

    def _proposal(self, conn: Connection, case_id: str, reviewer: str) -> Any:
        """The locked row of a case whose verdict awaits a second reviewer other than its
        proposer (409 otherwise)."""
        r = self._locked(conn, case_id)
        if r.status != CaseStatus.PROPOSED.value:
            raise Conflict(
                f"review case {case_id} has no proposed verdict to confirm ({r.status})",
                details={"status": r.status},
            )
        if r.reviewer == reviewer:
            raise Conflict(
                f"{reviewer} proposed this verdict: a second reviewer must confirm it "
                "(four-eyes review)",
                details={"proposed_by": r.reviewer},
            )
        return r

    def extend(self, case_id: str, reason: str, *, reviewer: str) -> ReviewCase:
        """Give the review more time where the law allows it, telling the shopper why and
        until when (once per case).

        The new date follows the jurisdiction's response-period rule, as for a rights request
        (:func:`trustcart.rights.policy.extended_due`): e.g. GDPR Art. 12(3) allows two further
        months, decided and told within the first month; a regime with no extension (or a due
        date already past) is a 409 saying so. The reason is sealed with the person's key, like
        a verdict's reasons, and the step is appended to the case's hash-chained log.
        """
        reason = _text(reason, "an extension needs a reason: the shopper reads it")
        reviewer = _reviewer(reviewer, "extending the case")
        case = self.get(case_id)
        if not case.open:
            raise Conflict(
                f"review case {case_id} was already resolved ({case.status.value}): "
                "nothing to extend",
                details={"status": case.status.value},
            )
        done = [e for e in self._entries(case_id) if e.payload.get("step") == "extended"]
        if done:
            raise Conflict(
                f"review case {case_id} was already extended (to {case.due_on.isoformat()}); "
                "the law allows one extension",
                details={"due_on": case.due_on.isoformat()},
            )
        j = self.rules.resolve(case.jurisdiction)
        today = self.clock().date()
        new_due = extended_due(j, case.created_at.date(), case.due_on, today)
        citation = (
            j.deadline.citation
            if case.statutory
            else (f"TrustCart service target ({j.deadline.citation} period)")
        )
        with self.store.write() as conn:
            r = self._locked(conn, case_id)
            if CaseStatus(r.status) in FINAL:
                raise Conflict(f"review case {case_id} was already resolved ({r.status})")
            if r.due_on != case.due_on:
                raise Conflict(f"review case {case_id} was extended meanwhile (to {r.due_on})")
            sealed = self.gateway.keys.seal_for_token(r.subject, {"text": reason})
            self._set(conn, case_id, due_on=new_due)
            self._step(
                conn,
                case_id,
                "extended",
                reviewer=reviewer,
                old_due_on=case.due_on.isoformat(),
                due_on=new_due.isoformat(),
                reason=sealed,
                citation=citation,
            )
        contact, _ = self._unseal(r.subject, r.contact)
        recipient = contact["email"] if contact else f"decision:{case.decision_id}"
        self.sender.send(
            case_id,
            recipient,
            "Your review: we need more time",
            f"We need more time to review the decision you contested ({case_id}): {reason}\n\n"
            f"We will answer by {new_due.isoformat()} ({citation}).",
        )
        return self.get(case_id)

    def notify(self, case_id: str, *, page_url: str | None = None) -> ReviewCase:
        """Send the outcome to the shopper through the sender and log it (retry-safe: a case
        already notified is left alone)."""
        case = self.get(case_id)
        if case.open:
            raise Conflict(f"review case {case_id} is not decided yet: nothing to tell")
        if case.notified_at is not None:
            return case
        detail = self.detail(case_id)
        with self.store.read() as conn:
            r = conn.execute(select(_cases).where(_cases.c.id == case_id)).one()
        contact, _ = self._unseal(r.subject, r.contact)
        recipient = contact["email"] if contact else f"decision:{case.decision_id}"
        subject, body = self._message(detail, page_url)
        self.sender.send(case_id, recipient, subject, body)
        with self.store.write() as conn:
            self._locked(conn, case_id)
            self._set(conn, case_id, notified_at=self.clock())
            self._step(
                conn,
                case_id,
                "notified",
                via="outbox" if isinstance(self.sender, OutboxSender) else "sender",
                to_contact=contact is not None,
            )
        return self.get(case_id)

    def _message(self, d: CaseDetail, page_url: str | None) -> tuple[str, str]:
        changed = d.case.status is CaseStatus.OVERRIDDEN
        subject = (
            "Your review: we changed our decision"
            if changed
            else "Your review: a person checked our decision"
        )
        lines = [
            "You asked for a person to review an automated decision we made about you "
            f"(reference {d.case.decision_id}).",
            "",
            f"The decision was: {d.outcome_text}.",
        ]
        if changed and d.new_outcome_text:
            lines.append(f"After review it is now: {d.new_outcome_text}.")
        else:
            lines.append("After review, the decision stands.")
        lines += ["", "Why: " + (d.reasons or "")]
        if page_url:
            token, expires = make_review_token(self._key, d.case.decision_id)
            lines += [
                "",
                f"See the details: {page_url}?token={token} (link valid until "
                f"{expires.date().isoformat()}).",
            ]
        if d.case.statutory and d.case.citation:
            lines += ["", f"This review was carried out under {d.case.citation}."]
        return subject, "\n".join(lines)


def verify_review_cases(store: Store) -> CopyCheck:
    """Replay the ``human_review`` log and compare each case's final state with its row.

    The chain protects the log; this catches an edit to the table (an overturned decision
    flipped back to upheld, a due date moved, a statement swapped) and a row with no log.
    ``first_bad`` is the position of the last log entry of the first case that differs.
    """
    expected: dict[str, dict[str, Any]] = {}
    last_seq: dict[str, int] = {}
    checked = 0
    for rec in store.log(REVIEW_LOG):
        checked += 1
        p = rec.payload
        cid = str(p.get("case_id"))
        last_seq[cid] = rec.seq
        step = p.get("step")
        if step == "contested":
            expected[cid] = {
                "decision_id": p["decision_id"],
                "subject": p["subject"],
                "kind": p["kind"],
                "jurisdiction": p["jurisdiction"],
                "group": p.get("group"),
                "channel": p["channel"],
                "status": CaseStatus.OPEN.value,
                "statutory": p["statutory"],
                "citation": p.get("citation"),
                "due_on": p["due_on"],
                "assigned_to": None,
                "statement": p.get("statement"),
                "contact": p.get("contact"),
                "outcome": None,
                "reasons": None,
                "reviewer": None,
            }
        elif cid not in expected:
            return CopyCheck(False, checked, rec.seq, f"step {step!r} of unknown case {cid}")
        elif step == "assigned":
            expected[cid].update(status=CaseStatus.IN_REVIEW.value, assigned_to=p["reviewer"])
        elif step == "extended":
            expected[cid]["due_on"] = p["due_on"]
        elif step == "sent_back":
            expected[cid].update(
                status=CaseStatus.IN_REVIEW.value, outcome=None, reasons=None, reviewer=None
            )
        elif step in (
            CaseStatus.PROPOSED.value,  # four-eyes: the same fields, not final yet
            CaseStatus.UPHELD.value,
            CaseStatus.OVERRIDDEN.value,
        ):
            e = expected[cid]
            e.update(
                status=step,
                outcome=p.get("changes"),
                reasons=p.get("reasons"),
                reviewer=p["reviewer"],
            )
            e["assigned_to"] = e["assigned_to"] or p["reviewer"]
    with store.read(snapshot=True) as conn:
        rows = {r.id: r for r in conn.execute(select(_cases))}
    for cid, want in expected.items():
        row = rows.pop(cid, None)
        if row is None:
            return CopyCheck(False, checked, last_seq[cid], f"case {cid} has no row (deleted)")
        for name in _PROJECTED:
            value: Any = getattr(row, name)
            if name == "due_on":
                value = value.isoformat()
            elif name == "outcome":
                value = orjson.loads(value) if value else None
            elif name == "statutory":
                value = bool(value)
            if value != want[name]:
                return CopyCheck(
                    False,
                    checked,
                    last_seq[cid],
                    f"review_cases.{name} of {cid} differs from the log (edited)",
                )
    if rows:
        return CopyCheck(
            False, checked, None, f"review_cases has a row with no log entry ({min(rows)})"
        )
    return CopyCheck(True, checked)


def verify_review(store: Store) -> tuple[VerifyResult, CopyCheck]:
    """The ``human_review`` chain, then the case table against it."""
    return store.log(REVIEW_LOG).verify(), verify_review_cases(store)
