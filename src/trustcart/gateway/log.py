"""The decision log: hash-chained evidence (``decisions`` log) plus a queryable copy table.

Writes use *group commit*: ``append`` hands its record to one writer thread and waits; the
writer takes every record queued meanwhile (optionally waiting ``max_wait_ms`` for more) and
commits them in one transaction — one chain-head lock, one fsync — then wakes every waiter. A
caller returns only after its own record is durable, yet concurrent callers share commits.
``mode="sync"`` commits each append in the caller's thread instead (simplest; one commit each).
:meth:`DecisionLog.append_async` is the same for an event loop: the caller awaits a future the
writer resolves after the commit — no thread is parked per request, and the writer wakes each
loop once per commit however many of its requests the commit held.

Entries are keyed by the subject's vault token and carry their personal part sealed with the
subject's key (see :mod:`trustcart.privacy.shredding`): :func:`open_record` opens them,
:func:`subject_keys` gives the vault whose ``shred`` makes a person's entries unlinkable.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import Connection, delete, func, select

from trustcart.errors import NotFound
from trustcart.privacy import Pseudonymizer, ShredEffect, SubjectKeys
from trustcart.store import Store, VerifyResult
from trustcart.store.copies import CopyCheck, verify_copy_table
from trustcart.store.tables import DecisionExplanation, DecisionRow, LogEntry, table_of

DECISION_LOG = "decisions"
_rows = table_of(DecisionRow)
_INSERT_ROWS = _rows.insert()  # built once: the hot path executes its cached compiled form
_entries = table_of(LogEntry)
_explanations = table_of(DecisionExplanation)
_COPIED = (
    "id",
    "subject",
    "kind",
    "model",
    "model_version",
    "jurisdiction",
    "personalised",
    "group",
)
CommitMode = Literal["group", "sync"]


class _Pending:
    """A queued append: a thread waits on ``done``, a coroutine on ``future`` (in ``loop``)."""

    __slots__ = ("done", "error", "future", "loop", "payload", "result")

    def __init__(
        self,
        payload: dict[str, Any],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.payload = payload
        self.loop = loop
        self.future: asyncio.Future[tuple[int, datetime]] | None = (
            None if loop is None else loop.create_future()
        )
        self.done = threading.Event() if loop is None else None
        self.result: tuple[int, datetime] | None = None
        self.error: BaseException | None = None


def _settle(batch: list[_Pending]) -> None:
    """In the waiters' event loop: resolve their futures (a cancelled waiter is skipped; its
    record is committed all the same, like a client that hung up after sending)."""
    for p in batch:
        fut = p.future
        if fut is None or fut.done():
            continue
        if p.error is not None:
            fut.set_exception(p.error)
        else:
            assert p.result is not None
            fut.set_result(p.result)


class DecisionLog:
    """Append, read and verify decisions in one store."""

    def __init__(
        self,
        store: Store,
        *,
        mode: CommitMode = "group",
        max_wait_ms: float = 0.0,
        max_batch: int = 1000,
    ) -> None:
        self.store = store
        self.log = store.log(DECISION_LOG)
        self.mode: CommitMode = mode
        self.max_wait = max_wait_ms / 1000
        self.max_batch = max_batch
        self._queue: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.batches = 0  # commits made (for benchmarks and tests)

    # -- writing -----------------------------------------------------------------------------
    def append_many(self, payloads: Sequence[dict[str, Any]]) -> list[tuple[int, datetime]]:
        """Durably append ``payloads``; returns ``(seq, created_at)`` for each once committed."""
        if self.mode == "sync" or len(payloads) > 1:
            return self._write(list(payloads))
        pending = _Pending(payloads[0])
        self._enqueue(pending)
        assert pending.done is not None
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return [pending.result]

    async def append_async(self, payload: dict[str, Any]) -> tuple[int, datetime]:
        """Durably append one payload from a coroutine; ``(seq, created_at)`` once committed.

        The record joins the writer's next group commit and the coroutine resumes only after
        that commit. In ``sync`` mode the commit runs in a worker thread instead.
        """
        if self.mode == "sync":
            [res] = await asyncio.to_thread(self._write, [payload])
            return res
        pending = _Pending(payload, asyncio.get_running_loop())
        self._enqueue(pending)
        assert pending.future is not None
        return await pending.future

    def _enqueue(self, pending: _Pending) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("decision log is closed")
            self._queue.append(pending)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="trustcart-decision-writer", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _write(self, payloads: list[dict[str, Any]]) -> list[tuple[int, datetime]]:
        with self.store.write() as conn:
            records = self.log.append_many(payloads, conn=conn)
            conn.execute(
                _INSERT_ROWS,
                [
                    {
                        "id": p["id"],
                        "seq": r.seq,
                        "subject": p["subject"],
                        "kind": p["kind"],
                        "model": p["model"],
                        "model_version": p["model_version"],
                        "jurisdiction": p["jurisdiction"],
                        "personalised": p["personalised"],
                        "group": p.get("group"),
                        "output": orjson.dumps(p["output"]).decode(),
                        "latency_us": p["latency_us"],
                        "created_at": r.created_at,
                    }
                    for p, r in zip(payloads, records, strict=True)
                ],
            )
        self.batches += 1
        return [(r.seq, r.created_at) for r in records]

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue and self._closed:
                    return
            if self.max_wait > 0:
                deadline = time.monotonic() + self.max_wait
                with self._cond:
                    while len(self._queue) < self.max_batch:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
            with self._cond:
                n = min(len(self._queue), self.max_batch)
                batch = [self._queue.popleft() for _ in range(n)]
            try:
                results = self._write([p.payload for p in batch])
            except BaseException as exc:  # every waiter must learn about the failure
                for p in batch:
                    p.error = exc
            else:
                for p, res in zip(batch, results, strict=True):
                    p.result = res
            self._wake(batch)

    @staticmethod
    def _wake(batch: list[_Pending]) -> None:
        """Wake every waiter of a commit: threads one by one, event loops once each."""
        loops: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        for p in batch:
            if p.done is not None:
                p.done.set()
            elif p.loop is not None:
                loops.setdefault(p.loop, []).append(p)
        for loop, waiting in loops.items():
            # a closed loop raises RuntimeError: nobody is waiting there any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, waiting)

    def close(self) -> None:
        """Let the writer finish what is queued, then stop it."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    # -- reading -----------------------------------------------------------------------------
    def seq_of(self, decision_id: str) -> int:
        """Log position of a decision (404 when unknown)."""
        with self.store.read() as conn:
            seq = conn.execute(select(_rows.c.seq).where(_rows.c.id == decision_id)).scalar()
        if seq is None:
            raise NotFound(f"no decision with id {decision_id!r}")
        return int(seq)

    def get(self, decision_id: str) -> dict[str, Any]:
        """A decision's full record, read from the hash-chained log (not the copy)."""
        rec = self.log.get(self.seq_of(decision_id))
        if rec.payload.get("id") != decision_id:
            raise NotFound(
                f"decision {decision_id!r}: the log entry at its position is another decision; "
                "run `trustcart ledger verify decisions`"
            )
        return {**rec.payload, "seq": rec.seq, "created_at": rec.created_at.isoformat()}

    def for_subject(self, token: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """The entries keyed by ``token``, newest first, as logged (sealed); see
        :func:`subject_decisions` for a person's decisions opened."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(_entries.c.seq, _entries.c.created_at, _entries.c.payload)
                .join(_rows, _rows.c.seq == _entries.c.seq)
                .where(_rows.c.subject == token, _entries.c.log == DECISION_LOG)
                .order_by(_rows.c.seq.desc())
                .limit(limit)
            ).all()
        return [
            {**orjson.loads(r.payload), "seq": r.seq, "created_at": r.created_at.isoformat()}
            for r in rows
        ]

    # -- verifying ---------------------------------------------------------------------------
    def verify(self) -> tuple[VerifyResult, CopyCheck]:
        """The chain, then every ``decisions`` row against its log entry."""
        return self.log.verify(), self.verify_copies()

    def verify_copies(self) -> CopyCheck:
        """Every copy row equals its log payload; no entry lacks its row or vice versa."""
        return verify_decision_copies(self.store)


#: How an offer decision counts for the offer-disparity guardrail: judged by it (the model
#: scored it, or the audience rule excluded it) — not a fallback or a vulnerable-segment block.
_JUDGED = frozenset({"model", "audience"})


def offer_counts_since(store: Store, after: int) -> tuple[dict[str, tuple[int, int]], int]:
    """Offer decisions logged after position ``after``, by fairness group: ``group -> (judged,
    offered)``, and the log position read up to (every process's decisions, in log order: a
    position is assigned and committed under the head lock, so none appears later below it)."""
    counts: dict[str, tuple[int, int]] = {}
    with store.read() as conn:
        upto = conn.execute(select(func.max(_rows.c.seq))).scalar()
        if upto is None or upto <= after:
            return counts, after
        rows = conn.execute(
            select(_rows.c.group, _rows.c.output).where(
                _rows.c.seq > after,
                _rows.c.seq <= upto,
                _rows.c.kind == "offer",
                _rows.c.group.is_not(None),
            )
        )
        for group, output in rows:
            out = orjson.loads(output)
            if out.get("answered_by") not in _JUDGED:
                continue
            seen, made = counts.get(group, (0, 0))
            counts[group] = (seen + 1, made + (out.get("offer") is not None))
    return counts, int(upto)


def verify_decision_copies(store: Store) -> CopyCheck:
    """The ``decisions`` table against the ``decisions`` log (see :mod:`trustcart.store.copies`)."""
    check, _ = verify_copy_table(
        store, DECISION_LOG, _rows, (*_COPIED, "output"), decoders={"output": orjson.loads}
    )
    return check


# -- per-subject keys ----------------------------------------------------------------------------
def shred_decisions(conn: Connection, token: str) -> ShredEffect:
    """Shred hook: count the token's decisions (kept, now unlinkable) and delete their cached
    explanations (they quote input values in clear). Runs in the shred's transaction."""
    n = conn.execute(
        select(func.count()).select_from(_rows).where(_rows.c.subject == token)
    ).scalar_one()
    gone = conn.execute(
        delete(_explanations).where(
            _explanations.c.decision_id.in_(select(_rows.c.id).where(_rows.c.subject == token))
        )
    ).rowcount
    return ShredEffect({"decisions": int(n)}, {"decision_explanations": int(gone or 0)})


def subject_keys(
    store: Store, pseudonyms: Pseudonymizer, *, max_staleness: float = 1.0
) -> SubjectKeys:
    """The vault the decision log is keyed by, with the decision shred hook: ``shred`` reports
    the decisions made unlinkable and removes their cached explanations.

    For an erasure without a running gateway (e.g. a rights-request connector)::

        keys = subject_keys(ws.store, Pseudonymizer.of(ws))
        report = keys.shred("c-42")   # report.unlinkable["decisions"]
    """
    return SubjectKeys(store, pseudonyms, hooks=[shred_decisions], max_staleness=max_staleness)


def open_record(keys: SubjectKeys, record: dict[str, Any]) -> dict[str, Any]:
    """A logged decision with its personal part unsealed, and ``erased`` telling whether the
    subject's key was shredded (then only the clear audit part remains)."""
    out = dict(record)
    sealed = out.pop("sealed", None)
    if sealed is None:
        out.setdefault("erased", False)  # written before sealing existed: all in clear
        return out
    personal = keys.unseal(out["subject"], sealed)
    if personal is None:
        out["erased"] = True
        return out
    out.update(personal)
    out["erased"] = False
    return out


def subject_decisions(
    log: DecisionLog, keys: SubjectKeys, subject: str, *, limit: int = 1000
) -> list[dict[str, Any]]:
    """A person's decisions (by id or global pseudonym), opened, newest first — for access
    requests (GDPR Art. 15(1)(h)). Empty once the person's key is shredded."""
    keys.refresh()
    token = keys.token(subject, create=False)
    if token is None:
        return []
    return [open_record(keys, r) for r in log.for_subject(token, limit=limit)]
