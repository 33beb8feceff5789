"""The consent service: record choices, answer "may I?", show state — bound to one workspace."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from trustcart.catalog import DataMap, Purpose
from trustcart.catalog.repository import load_datamap
from trustcart.clock import utcnow
from trustcart.consent.index import ADMIN_LOG, CONSENT_LOG, ConsentIndex
from trustcart.consent.model import (
    ConsentEventIn,
    Decision,
    Mechanism,
    Permission,
    RecordedEvent,
    StateEntry,
)
from trustcart.consent.notices import NoticeVersion, current_wording, get_notice, list_notices
from trustcart.consent.policy import PurposePolicy, build_policy, decide
from trustcart.errors import ValidationError
from trustcart.ids import new_id
from trustcart.privacy import Pseudonymizer, truncate_ip
from trustcart.rules import Jurisdiction, Rules, load_rules
from trustcart.store.tables import ConsentEvent, ConsentState, table_of
from trustcart.workspace import Workspace

_events = table_of(ConsentEvent)
_state = table_of(ConsentState)
_STATE_COLUMNS = tuple(c.name for c in _state.columns)
_UPSERTS: dict[str, Any] = {}


def _upsert_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT (subject, purpose) DO UPDATE for ``consent_state``, built once."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        base = (pg_insert if dialect == "postgresql" else sqlite_insert)(_state)
        columns = [c for c in _STATE_COLUMNS if c not in ("subject", "purpose")]
        stmt = base.on_conflict_do_update(
            index_elements=["subject", "purpose"], set_={c: base.excluded[c] for c in columns}
        )
        _UPSERTS[dialect] = stmt
    return stmt


#: Bound on cached answers; cleared (not evicted piecemeal) when reached.
_ANSWER_CACHE_MAX = 500_000


@dataclass(frozen=True)
class RecordResult:
    """What a submission wrote: one event per purpose, plus any GPC opt-outs applied."""

    events: list[RecordedEvent]
    gpc_applied: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ConsentService:
    """Consent for one workspace. Create one per process and share it (it caches)."""

    def __init__(self, ws: Workspace, *, max_staleness: float = 0.05) -> None:
        self.ws = ws
        self.store = ws.store
        self.rules: Rules = load_rules()
        self.pseudonyms = Pseudonymizer.of(ws)
        self.index = ConsentIndex(ws.store, max_staleness=max_staleness)
        self.index.on_admin_head = self._admin_moved
        self._admin_seq = -1
        self._last_reload = 0.0
        self._dm = DataMap()
        self._policies: dict[tuple[str, str, tuple[str, ...]], PurposePolicy] = {}
        self._answers: dict[tuple[str, str, tuple[str, ...], str | None], Permission] = {}
        self._default_code = ws.settings.default_jurisdiction
        self._notices: list[NoticeVersion] = []
        self._purpose_by_use: dict[str, list[str]] = {}
        self._reload_catalog()

    # -- data map and notices ----------------------------------------------------------------
    def _reload_catalog(self) -> None:
        self._admin_seq = self.store.log(ADMIN_LOG).head()[0]
        self._dm = load_datamap(self.store)
        self._policies.clear()
        self._answers.clear()
        self._notices = list_notices(self.store)
        self._purpose_by_use = {}
        for p in self._dm.purposes:
            self._purpose_by_use.setdefault(p.data_use, []).append(p.key)

    def _admin_moved(self, seq: int) -> None:
        if seq != self._admin_seq:
            self._reload_catalog()

    def reload(self) -> None:
        """Re-read the data map and notices if they changed (one single-row query if not).

        Every data-map load and notice registration is appended to the ``admin`` log, so its
        head position is a change counter shared by all processes.
        """
        self._admin_moved(self.store.log(ADMIN_LOG).head()[0])

    @property
    def datamap(self) -> DataMap:
        """The data map the service answers from."""
        return self._dm

    def jurisdiction(self, code: str | None) -> Jurisdiction:
        """The rule set for ``code`` (the workspace default when None).

        A real country or subdivision missing from the rule pack gets the strictest default
        (stated in its ``fallback_reason``); something that is not a place at all is an error
        listing the valid codes, because guessing would hide a caller's bug.
        """
        j = self.rules.resolve(code or self.ws.settings.default_jurisdiction)
        if j.is_fallback and j.code == "ZZ":
            valid = sorted(self.rules.jurisdictions)
            raise ValidationError(
                f"unknown jurisdiction {code!r}: use a rule-pack code ({', '.join(valid)}), an "
                "ISO 3166-1 country code such as FR, or a subdivision such as US-TX",
                details={"valid_jurisdictions": valid},
            )
        return j

    def purpose(self, key: str) -> Purpose:
        """A data-map purpose by key, or by its fideslang data use when that is unambiguous.

        An unknown key first triggers a re-read of the data map: another process may have just
        added the purpose.
        """
        try:
            return self._find_purpose(key)
        except ValidationError:
            self.reload()
            return self._find_purpose(key)

    def _find_purpose(self, key: str) -> Purpose:
        p = self._dm.purpose(key)
        if p is not None:
            return p
        keys = self._purpose_by_use.get(key, [])
        if len(keys) == 1:
            found = self._dm.purpose(keys[0])
            assert found is not None
            return found
        valid = sorted(x.key for x in self._dm.purposes)
        uses = sorted(self._purpose_by_use)
        if len(keys) > 1:
            raise ValidationError(
                f"data use {key!r} is used by several purposes ({', '.join(keys)}); name one",
                details={"purposes": keys},
            )
        raise ValidationError(
            f"unknown purpose {key!r}; valid purposes: "
            f"{', '.join(valid) or 'none (load a data map)'}; or data uses: {', '.join(uses)}",
            details={"valid_purposes": valid, "valid_data_uses": uses},
        )

    # -- writing -----------------------------------------------------------------------------
    def record(self, event: ConsentEventIn, *, gpc: bool = False) -> RecordResult:
        """Record a consent choice (one ledger event per purpose), durably, then apply it.

        ``gpc`` marks a request that carried ``Sec-GPC: 1``: where the jurisdiction treats GPC
        as an opt-out, an opt-out event is added for each affected purpose. Returns once the
        events are committed: an acknowledged choice survives a crash.
        """
        return self.record_many([event], gpc=gpc)

    def record_many(self, events: Sequence[ConsentEventIn], *, gpc: bool = False) -> RecordResult:
        """Record several choices in one transaction (imports, batched front ends).

        All or nothing: one invalid submission (unknown purpose, missing notice) rejects the
        batch before anything is written.
        """
        now = time.monotonic()
        if now - self._last_reload >= self.index.max_staleness:
            self._last_reload = now
            self.reload()
        rows: list[dict[str, Any]] = []
        applied: list[str] = []
        warnings: list[str] = []
        for event in events:
            r, a, w = self._prepare(event, gpc)
            rows += r
            applied += [x for x in a if x not in applied]
            warnings += w
        recorded = self._write(rows)
        self.index.apply(recorded)
        return RecordResult(recorded, applied, warnings)

    def _prepare(
        self, event: ConsentEventIn, gpc: bool
    ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
        j = self.jurisdiction(event.jurisdiction)
        subject = self.pseudonyms.pseudonym(event.subject)
        choices = self._choices(event)
        gpc_rule = j.gpc_rule()
        applies_gpc = (gpc or event.mechanism is Mechanism.GPC_SIGNAL) and gpc_rule.honoured
        if applies_gpc:  # purposes the signal covers are recorded once, by the GPC loop below
            choices = [
                (p, d)
                for p, d in choices
                if not j.gpc_opts_out(self.rules.purpose_type_of(p.data_use))
            ]
        notice = self._notice_for(event, choices, j)
        warnings: list[str] = []
        rows: list[dict[str, Any]] = []
        for purpose, decision in choices:
            valid, validity = self._validity(event.mechanism, decision, purpose, j, notice)
            if not valid:
                warnings.append(f"{purpose.key}: {validity}")
            rows.append(
                self._row(
                    subject,
                    purpose,
                    decision,
                    event.mechanism,
                    j,
                    notice,
                    event.channel,
                    valid,
                    validity,
                )
            )
        gpc_applied: list[str] = []
        if applies_gpc:
            for purpose in self._dm.purposes:
                pt = self.rules.purpose_type_of(purpose.data_use)
                if j.gpc_opts_out(pt):
                    gpc_applied.append(purpose.key)
                    rule = j.mechanism_rule(Mechanism.GPC_SIGNAL, pt)
                    rows.append(
                        self._row(
                            subject,
                            purpose,
                            Decision.DENIED,
                            Mechanism.GPC_SIGNAL,
                            j,
                            None,
                            event.channel,
                            True,
                            f"GPC opt-out ({rule.citation})",
                        )
                    )
        if j.is_fallback:
            warnings.append(j.fallback_reason or f"{j.code}: strictest default applied")
        if gpc and not gpc_applied:
            warnings.append(
                f"GPC signal received; the rule pack does not make it an opt-out signal in "
                f"{j.code} ({gpc_rule.citation}), so no opt-out was recorded"
            )
        evidence = {
            "ip_prefix": truncate_ip(event.evidence.ip),
            "user_agent_hash": (
                self.pseudonyms.fingerprint(event.evidence.user_agent)
                if event.evidence.user_agent
                else None
            ),
            "page": event.evidence.page,
            "element": event.evidence.element,
            "tcf": bool(event.tcf_string),
        }
        for row in rows:
            row["evidence"] = evidence
        return rows, gpc_applied, warnings

    def _choices(self, event: ConsentEventIn) -> list[tuple[Purpose, Decision]]:
        if event.mechanism is Mechanism.TCF_STRING:
            return self._tcf_choices(event)
        if event.tcf_string:
            raise ValidationError("tcf_string is only accepted with mechanism 'tcf_string'")
        seen: dict[str, tuple[Purpose, Decision]] = {}
        for key in event.purposes:
            p = self.purpose(key)
            seen[p.key] = (p, event.decision)
        return list(seen.values())

    def _tcf_choices(self, event: ConsentEventIn) -> list[tuple[Purpose, Decision]]:
        from trustcart.consent.tcf import decode_tcf, tcf_purposes_to_data_uses

        if not event.tcf_string:
            raise ValidationError("mechanism 'tcf_string' needs the tcf_string field")
        uses = tcf_purposes_to_data_uses(decode_tcf(event.tcf_string))
        wanted = {self.purpose(k).key for k in event.purposes} if event.purposes else None
        out = []
        for p in self._dm.purposes:
            if wanted is not None and p.key not in wanted:
                continue
            matches = [
                g
                for use, g in uses.items()
                if p.data_use == use or p.data_use.startswith(use + ".")
            ]
            if matches:
                out.append((p, Decision.GRANTED if all(matches) else Decision.DENIED))
        if not out:
            raise ValidationError("the TCF string covers none of the data map's purposes")
        return out

    def _notice_for(
        self, event: ConsentEventIn, choices: list[tuple[Purpose, Decision]], j: Jurisdiction
    ) -> NoticeVersion | None:
        if event.notice_version is None:
            if any(d is Decision.GRANTED for _, d in choices):
                raise ValidationError(
                    "a grant must name the notice version shown (notice_version): consent is "
                    f"only informed if you can show what the person read ({j.code})"
                )
            return None
        wanted = event.notice_version.lower()
        cached = [n for n in self._notices if n.version.startswith(wanted)]
        if len(cached) == 1 and len(wanted) >= 16:
            return cached[0]
        return get_notice(self.store, event.notice_version)  # newer than our cache, or an error

    def _validity(
        self,
        mechanism: Mechanism,
        decision: Decision,
        purpose: Purpose,
        j: Jurisdiction,
        notice: NoticeVersion | None,
    ) -> tuple[bool, str]:
        pt = self.rules.purpose_type_of(purpose.data_use)
        rule = j.mechanism_rule(mechanism, pt)
        if decision is not Decision.GRANTED:
            ok = rule.refusal == "valid"
            return ok, f"refusal via {mechanism}: {rule.refusal} ({rule.refusal_citation})"
        if notice is not None and purpose.key not in notice.purposes:
            return False, (
                f"the notice shown ({notice.version[:16]}) does not describe '{purpose.key}'"
            )
        if rule.grant == "invalid":
            return (
                False,
                f"a grant via {mechanism} is not valid consent in {j.code} ({rule.citation})",
            )
        if rule.grant == "conditional":
            return True, f"valid on condition: {rule.condition} ({rule.citation})"
        return True, f"valid grant via {mechanism} ({rule.citation})"

    def _row(
        self,
        subject: str,
        purpose: Purpose,
        decision: Decision,
        mechanism: Mechanism,
        j: Jurisdiction,
        notice: NoticeVersion | None,
        channel: str,
        valid: bool,
        validity: str,
    ) -> dict[str, Any]:
        return {
            "id": new_id("ce_"),
            "subject": subject,
            "purpose": purpose.key,
            "data_use": purpose.data_use,
            "decision": decision.value,
            "mechanism": mechanism.value,
            "jurisdiction": j.code,
            "notice_version": notice.version if notice else None,
            "channel": channel,
            "valid": valid,
            "validity": validity,
        }

    def _write(self, rows: list[dict[str, Any]]) -> list[RecordedEvent]:
        log = self.store.log(CONSENT_LOG)
        with self.store.write() as conn:
            records = log.append_many(
                [{**row, "rules_version": self.rules.version} for row in rows], conn=conn
            )
            out = []
            values_list = []
            for row, rec in zip(rows, records, strict=True):
                values = {k: v for k, v in row.items() if k != "evidence"}
                values |= {"seq": rec.seq, "created_at": rec.created_at}
                values_list.append(values)
                out.append(
                    RecordedEvent(
                        row["id"],
                        rec.seq,
                        row["subject"],
                        row["purpose"],
                        row["data_use"],
                        Decision(row["decision"]),
                        row["mechanism"],
                        row["jurisdiction"],
                        row["notice_version"],
                        row["channel"],
                        row["valid"],
                        row["validity"],
                        rec.created_at,
                    )
                )
            if values_list:
                conn.execute(_events.insert(), values_list)
                self._upsert_states(conn, values_list)
        return out

    def _upsert_states(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Project the newest event per (subject, purpose) into ``consent_state`` (one
        executemany of INSERT … ON CONFLICT DO UPDATE, same SQL on SQLite and PostgreSQL)."""
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for v in rows:
            latest[(v["subject"], v["purpose"])] = {
                "subject": v["subject"],
                "purpose": v["purpose"],
                "event_id": v["id"],
                "seq": v["seq"],
                "decision": v["decision"],
                "mechanism": v["mechanism"],
                "jurisdiction": v["jurisdiction"],
                "notice_version": v["notice_version"],
                "valid": v["valid"],
                "updated_at": v["created_at"],
            }
        stmt = _upsert_statement(conn.dialect.name)
        conn.execute(stmt, list(latest.values()))

    # -- reading -----------------------------------------------------------------------------
    def may_use(
        self,
        subject: str,
        purpose: str,
        data_categories: Sequence[str] = (),
        jurisdiction: str | None = None,
        at: datetime | None = None,
    ) -> Permission:
        """May ``purpose`` use ``data_categories`` of ``subject`` in ``jurisdiction`` now?

        In-process and cached: a dictionary lookup after the first call for a purpose /
        jurisdiction / category combination. ``at`` answers for a past moment from the ledger.
        """
        cats = data_categories if type(data_categories) is tuple else tuple(data_categories)
        code = jurisdiction or self._default_code
        key = (purpose, code, cats)
        policy = self._policies.get(key)
        if policy is None:
            p = self.purpose(purpose)
            policy = build_policy(self._dm, self.rules, p, self.jurisdiction(code), cats)
            self._policies[key] = policy
        if at is not None:
            state = None
            if policy.needs_consent or policy.objectable:
                state = self._state_at(self.pseudonyms.candidates(subject), policy.purpose, at)
            return self._answer(policy, state, at)
        if policy.needs_consent or policy.objectable:
            state = self._latest(subject, policy.purpose)
            event_id = state.event_id if state is not None else None
        else:
            state = event_id = None
        # Answers are pure functions of (policy, latest event) while the notices and data map
        # stay the same and no maximum consent age applies, so they are cached.
        cache_key = (purpose, code, cats, event_id)
        hit = self._answers.get(cache_key)
        if hit is not None:
            return hit
        answer = self._answer(policy, state, utcnow())
        if self._max_age(policy.jurisdiction) is None:
            if len(self._answers) >= _ANSWER_CACHE_MAX:
                self._answers.clear()
            self._answers[cache_key] = answer
        return answer

    def _answer(self, policy: PurposePolicy, state: StateEntry | None, now: datetime) -> Permission:
        current = granted = None
        if state is not None and policy.needs_consent:
            current = current_wording(self._notices, policy.purpose, now)
            granted = self._granted_wording(state.notice_version, policy.purpose)
        return decide(
            policy,
            state,
            now=now,
            current_wording=current,
            granted_wording=granted,
            max_age=self._max_age(policy.jurisdiction),
        )

    def _granted_wording(self, version: str | None, purpose: str) -> str | None:
        if version is None:
            return None
        for n in self._notices:
            if n.version == version:
                return n.purposes.get(purpose)
        self._notices = list_notices(self.store)  # registered by another process meanwhile
        self._answers.clear()
        return next((n.purposes.get(purpose) for n in self._notices if n.version == version), None)

    def _max_age(self, code: str) -> timedelta | None:
        ages = self.ws.settings.consent_max_age_days
        days = ages.get(code, ages.get("*"))
        return timedelta(days=days) if days else None

    def _latest(self, subject: str, purpose: str) -> StateEntry | None:
        """The newest state of ``subject`` for ``purpose`` under any of their pseudonyms (one
        dict hit without rotation; one per live key and link during a rotation window)."""
        found = self.pseudonyms.candidates(subject)
        if len(found) == 1:
            return self.index.get(found[0], purpose)
        best = None
        for p in found:
            state = self.index.get(p, purpose)
            if state is not None and (best is None or state.seq > best.seq):
                best = state
        return best

    def _state_at(self, subjects: Sequence[str], purpose: str, at: datetime) -> StateEntry | None:
        with self.store.read() as conn:
            r = conn.execute(
                select(_events)
                .where(
                    _events.c.subject.in_(subjects),
                    _events.c.purpose == purpose,
                    _events.c.created_at <= at,
                )
                .order_by(_events.c.seq.desc())
                .limit(1)
            ).first()
        return None if r is None else RecordedEvent.from_row(r).state()

    def state(self, subject: str) -> dict[str, StateEntry]:
        """The latest choice per purpose for one person (across their pseudonyms)."""
        found = self.pseudonyms.candidates(subject)
        if len(found) == 1:
            return self.index.for_subject(found[0])
        merged: dict[str, StateEntry] = {}
        for p in found:
            for purpose, entry in self.index.for_subject(p).items():
                if purpose not in merged or entry.seq > merged[purpose].seq:
                    merged[purpose] = entry
        return merged

    def events(self, subject: str) -> list[RecordedEvent]:
        """Every consent event of one person, oldest first (for proof and access requests)."""
        found = self.pseudonyms.candidates(subject)
        with self.store.read() as conn:
            rows = conn.execute(
                select(_events).where(_events.c.subject.in_(found)).order_by(_events.c.seq)
            ).all()
        return [RecordedEvent.from_row(r) for r in rows]
