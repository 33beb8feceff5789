"""The relational schema, as SQLAlchemy 2 declarative models.

Every table change goes with an Alembic migration in ``store/migrations/versions``; a test
compares these models with the migrated database so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware UTC.

    SQLite has no time zone type; without this a value written aware would read back naive
    and hashes over its ISO text would no longer match.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of all TrustCart tables."""


class LogEntry(Base):
    """One row of a hash-chained append-only log (consent, decisions, rights, admin, …)."""

    __tablename__ = "log_entries"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    log: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_log_entries_log_seq", "log", "seq", unique=True),)


class LogHead(Base):
    """Last position and hash of each log: the append lock and the witness of truncation."""

    __tablename__ = "log_heads"
    log: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; the secret is shown once at creation."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CatalogObject(Base):
    """One data-map object (system, dataset, purpose, …) as canonical JSON, keyed by kind+key."""

    __tablename__ = "catalog_objects"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    body_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsentNotice(Base):
    """One version of a notice shown to people: its exact text, keyed by the text's sha256."""

    __tablename__ = "consent_notices"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    purposes: Mapped[str] = mapped_column(Text)  # JSON {purpose_key: hash of its wording}
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsentEvent(Base):
    """A consent event, denormalised for queries; its evidence copy is in the ``consent`` log."""

    __tablename__ = "consent_events"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    subject: Mapped[str] = mapped_column(String(40), index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    data_use: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(16))
    mechanism: Mapped[str] = mapped_column(String(32))
    jurisdiction: Mapped[str] = mapped_column(String(16))
    notice_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(64))
    valid: Mapped[bool] = mapped_column(Boolean)
    validity: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ConsentState(Base):
    """Current decision per subject and purpose: a projection of ``consent_events``."""

    __tablename__ = "consent_state"
    subject: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(BigInteger)
    decision: Mapped[str] = mapped_column(String(16))
    mechanism: Mapped[str] = mapped_column(String(32))
    jurisdiction: Mapped[str] = mapped_column(String(16))
    notice_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    valid: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FairnessAudit(Base):
    """One fairness audit: what was audited (with a fingerprint), how, and the full result."""

    __tablename__ = "fairness_audits"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    # sha256 over the source files' digests; NULL for a database table (see the fingerprint)
    source_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_fingerprint: Mapped[str] = mapped_column(Text)  # JSON: files+sha256 or table+rows
    parameters: Mapped[str] = mapped_column(Text)  # JSON
    result: Mapped[str] = mapped_column(Text)  # JSON (AuditResult.to_dict())


class DecisionRow(Base):
    """A gateway decision, denormalised for queries; its evidence copy is in the ``decisions``
    log (the full record: features used and dropped, consent evidence, guardrails, flags)."""

    __tablename__ = "decisions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    subject: Mapped[str] = mapped_column(String(40), index=True)  # pseudonym, never a raw id
    kind: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(16))
    personalised: Mapped[bool] = mapped_column(Boolean)
    output: Mapped[str] = mapped_column(Text)  # JSON
    # the fairness group the guardrails used (e.g. customer_group), kept in clear for audits
    group: Mapped[str | None] = mapped_column(String(200), nullable=True)
    latency_us: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DecisionExplanation(Base):
    """An explanation computed on first request and cached (deterministic given the logged
    inputs and the model version, so caching changes no evidence)."""

    __tablename__ = "decision_explanations"
    decision_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    body: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GatewayProxy(Base):
    """A feature the gateway must never pass to a model: a proxy for a protected attribute."""

    __tablename__ = "gateway_proxies"
    feature: Mapped[str] = mapped_column(String(200), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))  # e.g. "fairness audit fa_01…", "manual"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModelRegistration(Base):
    """A model version the gateway has served or `trustcart models train` trained: its
    features, training-data fingerprint and, when trained in the workspace, its artefact."""

    __tablename__ = "model_registry"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    features: Mapped[str] = mapped_column(Text)  # JSON list of feature specs
    training_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # path relative to the workspace and sha256 of the saved model (NULL: registered in code)
    artefact: Mapped[str | None] = mapped_column(String(500), nullable=True)
    artefact_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    training: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON provenance


class RightsRequestRow(Base):
    """A data-subject request: its type, legal frame (jurisdiction, deadline) and state.

    Identifiers are not here: they live in ``rights_identities`` only while the request is open,
    and are replaced by keyed pseudonyms (``subject``) when it ends (data minimisation).
    """

    __tablename__ = "rights_requests"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    jurisdiction: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), index=True)
    statutory: Mapped[bool] = mapped_column(Boolean)
    citation: Mapped[str | None] = mapped_column(Text, nullable=True)
    subject: Mapped[str] = mapped_column(String(40), index=True)  # pseudonym of the identifiers
    dedupe_key: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    needs_verification: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_on: Mapped[date] = mapped_column(Date, index=True)
    acknowledge_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[str] = mapped_column(Text)  # JSON (e.g. rectification changes)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON summary/certificate
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # denial / extension reason
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RightsIdentity(Base):
    """An identifier of an open request, in clear because connectors must search for it."""

    __tablename__ = "rights_identities"
    request_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(320), primary_key=True)


class RightsCode(Base):
    """The one-time code of a request: only its keyed hash, its expiry and the attempts used."""

    __tablename__ = "rights_codes"
    request_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    codes_sent: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A message to a person, written by the default sender (no mail server needed)."""

    __tablename__ = "rights_outbox"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(40), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RightsTask(Base):
    """One connector's part of a request (e.g. a vendor webhook still pending)."""

    __tablename__ = "rights_tasks"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(40), index=True)
    dataset: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    detail: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RightsPackage(Base):
    """An access/portability package, kept until the person has fetched it (then purged)."""

    __tablename__ = "rights_packages"
    request_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    zip_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SubjectKey(Base):
    """A subject's random key (crypto-shredding): rows keyed by ``token`` and sealed with
    ``key``; deleting this row makes them unreadable and unlinkable to the person."""

    __tablename__ = "subject_keys"
    lookup: Mapped[str] = mapped_column(String(40), primary_key=True)  # global pseudonym
    token: Mapped[str] = mapped_column(String(40), unique=True)  # derived from key
    key: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ComplianceRecord(Base):
    """One version of a compliance record (vendor, DPIA, screening, AIA) as canonical JSON.

    Versions are appended, never updated: the DPIA a DPO signed stays readable after it changes.
    """

    __tablename__ = "compliance_records"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    body_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DashboardUser(Base):
    """A person who logs in to the DPO dashboard: a role from the governance model and an
    Argon2id hash of the password (never the password)."""

    __tablename__ = "dashboard_users"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DashboardSession(Base):
    """A logged-in browser: only the SHA-256 of the cookie's random token is stored, so a
    database leak yields no usable session."""

    __tablename__ = "dashboard_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ComplianceScan(Base):
    """A recorded compliance scan: score and counts for the dashboard's trend, plus the
    findings as JSON (what was open at that time)."""

    __tablename__ = "compliance_scans"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    score: Mapped[int] = mapped_column(Integer)
    high: Mapped[int] = mapped_column(Integer)
    medium: Mapped[int] = mapped_column(Integer)
    low: Mapped[int] = mapped_column(Integer)
    areas: Mapped[str] = mapped_column(Text)  # JSON list of the areas scanned
    rules_version: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    findings: Mapped[str] = mapped_column(Text)  # JSON list of Finding.to_dict()


class AccessEntry(Base):
    """One authorised read of personal data through the API or CLI (who, what, why, when); its
    evidence copy is in the ``access`` hash-chained log under the same ``seq``."""

    __tablename__ = "access_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))  # api | cli
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(200))  # the template, never the filled-in path
    kind: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(64))
    object: Mapped[str | None] = mapped_column(String(80), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(40), nullable=True)  # pseudonym

    __table_args__ = (
        Index("ix_access_log_key_at", "key_id", "at"),
        Index("ix_access_log_subject", "subject"),
    )


class AccessReview(Base):
    """A periodic review of one API key: re-approved (until ``next_due``) or revoked."""

    __tablename__ = "access_reviews"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # approved | revoked
    reviewer: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_on: Mapped[date] = mapped_column(Date)
    next_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrainingRecord(Base):
    """A person's completed training course and when it stops counting."""

    __tablename__ = "training_records"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person: Mapped[str] = mapped_column(String(200), index=True)
    course: Mapped[str] = mapped_column(String(64))
    completed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EthicsReviewRow(Base):
    """The ethics committee's decision on one model version (the newest one counts)."""

    __tablename__ = "ethics_reviews"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(32))
    conditions: Mapped[str] = mapped_column(Text)  # JSON list
    reasons: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(200))
    aia: Mapped[str | None] = mapped_column(String(200), nullable=True)
    aia_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_ethics_reviews_model_version", "model", "version"),)


class ConcernRow(Base):
    """A concern raised through the whistleblower channel: no time of day, no IP, no account;
    only the hash of the reporter's follow-up secret. Its text lives sealed in
    ``concern_messages``."""

    __tablename__ = "concerns"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # random, not time-ordered
    token_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # open | answered | closed
    received_on: Mapped[date] = mapped_column(Date)
    updated_on: Mapped[date] = mapped_column(Date)


class ConcernMessage(Base):
    """One message of a concern's thread, sealed with AES-GCM (``body`` = nonce + ciphertext)."""

    __tablename__ = "concern_messages"
    concern_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    author: Mapped[str] = mapped_column(String(16))  # reporter | ethics
    key_id: Mapped[str] = mapped_column(String(16))  # which derived key sealed it
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_on: Mapped[date] = mapped_column(Date)


class PseudonymKey(Base):
    """One version of the pseudonym key ring: metadata only. The key material lives in a 0600
    file under ``keys/`` or in ``TRUSTCART_SECRET_KEYS`` (``k0`` is the workspace secret);
    ``check`` is a keyed check value that detects a wrong or swapped key, not the key."""

    __tablename__ = "pseudonym_keys"
    kid: Mapped[str] = mapped_column(String(16), primary_key=True)  # k0, k1, …
    source: Mapped[str] = mapped_column(String(16))  # workspace_secret | file | env
    check: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    retire_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PseudonymLink(Base):
    """``pseudonym`` (under a newer key) and ``linked`` (under an older one) are the same
    person: recorded when the person was seen while both keys were live, so their records
    under the old key stay findable after that key is destroyed."""

    __tablename__ = "pseudonym_links"
    pseudonym: Mapped[str] = mapped_column(String(40), primary_key=True)
    linked: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MonitorResult(Base):
    """One evaluated window of a monitor: its bounds, what was read and the audit's aggregates.

    ``(monitor, window_end)`` is unique: a window is evaluated once, whichever run gets there
    first (cron runs may overlap), which makes ``trustcart monitor run`` idempotent.
    """

    __tablename__ = "monitor_results"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    monitor: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # ok | breach | empty
    rows: Mapped[int] = mapped_column(BigInteger)
    config_hash: Mapped[str] = mapped_column(String(64))
    breaches: Mapped[str] = mapped_column(Text)  # JSON list
    result: Mapped[str] = mapped_column(Text)  # JSON: AuditResult.to_dict() (aggregates only)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (
        Index("ix_monitor_results_monitor_end", "monitor", "window_end", unique=True),
    )


class MonitorValue(Base):
    """One metric value of one group (``*`` = the audit's summary) in one window: the time
    series the dashboard draws and the API returns, without parsing every result."""

    __tablename__ = "monitor_values"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    result_id: Mapped[str] = mapped_column(String(40), index=True)
    monitor: Mapped[str] = mapped_column(String(64))
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    metric: Mapped[str] = mapped_column(String(64))
    group_label: Mapped[str] = mapped_column(String(300))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (Index("ix_monitor_values_series", "monitor", "metric", "window_end"),)


class MonitorAlert(Base):
    """An alert event (``raised`` or ``resolved``) of a monitor and its deliveries; the event
    itself is also appended to the hash-chained ``monitor_alerts`` log."""

    __tablename__ = "monitor_alerts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    monitor: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(16))  # raised | resolved
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    message: Mapped[str] = mapped_column(Text)
    breaches: Mapped[str] = mapped_column(Text)  # JSON list
    log_seq: Mapped[int] = mapped_column(BigInteger)
    outbox_status: Mapped[str] = mapped_column(String(16))  # pending | sent | skipped
    webhook_status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed | skipped
    webhook_attempts: Mapped[int] = mapped_column(Integer)
    webhook_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ReviewCaseRow(Base):
    """A contested automated decision awaiting (or after) human review: the case's state, a
    projection of the ``human_review`` hash-chained log. The shopper's statement, contact and
    the reviewer's reasons are sealed with the person's key (crypto-shredding)."""

    __tablename__ = "review_cases"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(40), unique=True)
    subject: Mapped[str] = mapped_column(String(40), index=True)  # the decision's vault token
    kind: Mapped[str] = mapped_column(String(16))
    jurisdiction: Mapped[str] = mapped_column(String(16))
    group: Mapped[str | None] = mapped_column(String(200), nullable=True)  # fairness group
    channel: Mapped[str] = mapped_column(String(16))  # web | api
    status: Mapped[str] = mapped_column(String(16), index=True)  # open|in_review|upheld|overridden
    statutory: Mapped[bool] = mapped_column(Boolean)
    citation: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when contested
    due_on: Mapped[date] = mapped_column(Date, index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(200), nullable=True)
    statement: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed
    contact: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: the new output
    reasons: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed
    reviewer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModelOversightRow(Base):
    """A human's decision that a model version may (or may not) serve — the human oversight
    required for high-risk kinds such as ``credit`` (EU AI Act Annex III 5(b)); the newest
    decision for a model version counts. ``screening`` is the AIA's AI Act screening (JSON)."""

    __tablename__ = "model_oversight"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # approved | rejected
    reviewer: Mapped[str] = mapped_column(String(64))  # dashboard username
    role: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text)
    aia: Mapped[str | None] = mapped_column(String(200), nullable=True)
    aia_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    screening: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_model_oversight_model_version", "model", "version"),)


def table_of(model: type[Base]) -> Table:
    """The Core ``Table`` of a model, typed (``__table__`` is typed as a generic FromClause)."""
    return cast(Table, model.__table__)
