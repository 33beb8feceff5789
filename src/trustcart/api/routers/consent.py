"""Consent over HTTP: record choices, check permissions, show state and proof, notices, stats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from trustcart.api.auth import get_workspace, requires
from trustcart.consent import (
    ConsentEventIn,
    ConsentService,
    build_proof,
    build_receipt,
    consent_rates,
    datamap_notice,
    list_notices,
    proof_html,
    register_notice,
)
from trustcart.governance import Scope
from trustcart.workspace import Workspace

router = APIRouter(prefix="/v1/consent", tags=["consent"])
SubjectPath = Annotated[str, Path(min_length=1, max_length=320)]
Category = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[a-z0-9_.]+$")]


def get_consent(request: Request) -> ConsentService:
    """One ConsentService per app (it caches the projection and policies)."""
    svc: ConsentService | None = getattr(request.app.state, "consent", None)
    if svc is None:
        ws: Workspace = get_workspace(request)
        svc = ConsentService(ws)
        request.app.state.consent = svc
    return svc


ConsentDep = Annotated[ConsentService, Depends(get_consent)]


class EventOut(BaseModel):
    """One recorded event."""

    id: str
    seq: int
    purpose: str
    data_use: str
    decision: str
    mechanism: str
    jurisdiction: str
    notice_version: str | None
    valid: bool
    validity: str
    created_at: datetime


class RecordOut(BaseModel):
    """What a submission recorded; ``gpc_applied`` lists purposes a GPC signal opted out of."""

    events: list[EventOut]
    gpc_applied: list[str]
    warnings: list[str]


class CheckIn(BaseModel):
    """A permission question."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=320)
    purpose: str = Field(min_length=1, max_length=200)
    data_categories: list[Category] = Field(default_factory=list, max_length=100)
    jurisdiction: str | None = Field(default=None, max_length=16)
    at: datetime | None = Field(default=None, description="Answer for this past moment")


class PermissionOut(BaseModel):
    """The answer: allowed or not, why, on which legal basis, with which evidence."""

    allowed: bool
    reason: str
    legal_basis: str
    evidence_event_ids: list[str]
    citation: str | None
    purpose: str | None
    jurisdiction: str | None


class StateOut(BaseModel):
    """A person's latest choice per purpose."""

    purposes: dict[str, dict[str, Any]]


class NoticeIn(BaseModel):
    """A notice text to register (store exactly what people are shown)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=200_000)
    purposes: list[str] = Field(min_length=1, max_length=100)
    title: str = Field(default="Notice", min_length=1, max_length=300)
    kind: Literal["banner", "just_in_time", "preference_center", "custom", "privacy_notice"] = (
        "custom"
    )
    language: str = Field(default="en", min_length=2, max_length=16)
    effective_at: datetime | None = None


class NoticeOut(BaseModel):
    """A registered notice version (without its text)."""

    version: str
    kind: str
    language: str
    title: str
    purposes: dict[str, str]
    effective_at: datetime
    created_at: datetime


def _event(e: Any) -> EventOut:
    return EventOut(
        id=e.id,
        seq=e.seq,
        purpose=e.purpose,
        data_use=e.data_use,
        decision=e.decision.value,
        mechanism=e.mechanism,
        jurisdiction=e.jurisdiction,
        notice_version=e.notice_version,
        valid=e.valid,
        validity=e.validity,
        created_at=e.created_at,
    )


@router.post("/events", response_model=RecordOut, status_code=201, **requires(Scope.CONSENT_WRITE))
def post_event(
    body: ConsentEventIn,
    svc: ConsentDep,
    sec_gpc: Annotated[str | None, Header(alias="Sec-GPC", max_length=8)] = None,
) -> RecordOut:
    """Record a choice (one ledger event per purpose). Answers once the events are committed.

    A request carrying ``Sec-GPC: 1`` is also recorded as an opt-out wherever the jurisdiction
    makes GPC an opt-out signal; ``gpc_applied`` says which purposes it covered.
    """
    result = svc.record(body, gpc=(sec_gpc or "").strip() == "1")
    return RecordOut(
        events=[_event(e) for e in result.events],
        gpc_applied=result.gpc_applied,
        warnings=result.warnings,
    )


@router.post("/check", response_model=PermissionOut, **requires(Scope.CONSENT_READ))
def post_check(body: CheckIn, svc: ConsentDep) -> PermissionOut:
    """May this purpose use these data categories of this person in this jurisdiction?"""
    p = svc.may_use(body.subject, body.purpose, body.data_categories, body.jurisdiction, body.at)
    return PermissionOut(
        allowed=p.allowed,
        reason=p.reason,
        legal_basis=p.legal_basis,
        evidence_event_ids=list(p.evidence_event_ids),
        citation=p.citation,
        purpose=p.purpose,
        jurisdiction=p.jurisdiction,
    )


@router.get("/notices", response_model=list[NoticeOut], **requires(Scope.CONSENT_READ))
def get_notices(ws: Annotated[Workspace, Depends(get_workspace)]) -> list[NoticeOut]:
    """Registered notice versions."""
    return [NoticeOut(**n.to_dict(with_text=False)) for n in list_notices(ws.store)]


@router.post("/notices", response_model=NoticeOut, status_code=201, **requires(Scope.CONSENT_WRITE))
def post_notice(body: NoticeIn, svc: ConsentDep) -> NoticeOut:
    """Register a notice text (idempotent); its version is the sha256 of the text."""
    from trustcart.consent import text_hash

    keys = [svc.purpose(k).key for k in body.purposes]
    n = register_notice(
        svc.store,
        text=body.text,
        title=body.title,
        kind=body.kind,
        language=body.language,
        effective_at=body.effective_at,
        purposes={k: text_hash(body.text) for k in keys},
    )
    svc.reload()
    return NoticeOut(**n.to_dict(with_text=False))


@router.post(
    "/notices/from-datamap",
    response_model=NoticeOut,
    status_code=201,
    **requires(Scope.CONSENT_WRITE),
)
def post_datamap_notice(
    svc: ConsentDep,
    jurisdiction: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z-]+$")] = None,
) -> NoticeOut:
    """Register the data map's layered privacy notice as a notice version."""
    svc.reload()
    n = register_notice(svc.store, **datamap_notice(svc.datamap, jurisdiction))
    svc.reload()
    return NoticeOut(**n.to_dict(with_text=False))


class TokenIn(BaseModel):
    """Request a preference-center link for a logged-in customer."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=320)
    ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=90 * 24 * 3600)


class TokenOut(BaseModel):
    """A signed, expiring token naming the person by pseudonym, and the page it opens."""

    token: str
    url: str


@router.post("/tokens", response_model=TokenOut, status_code=201, **requires(Scope.CONSENT_WRITE))
def post_token(body: TokenIn, svc: ConsentDep, request: Request) -> TokenOut:
    """A link to the end-user preference center for ``subject`` (no identifier in the URL)."""
    from trustcart.consent.tokens import make_subject_token

    token = make_subject_token(
        svc.pseudonyms, svc.ws.settings.pseudonym_key(), body.subject, ttl=body.ttl_seconds
    )
    return TokenOut(
        token=token, url=str(request.url_for("preferences_page").include_query_params(token=token))
    )


@router.get("/stats", **requires(Scope.CONSENT_STATS))
def get_stats(
    ws: Annotated[Workspace, Depends(get_workspace)],
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Consent rates per day × purpose × jurisdiction × mechanism (aggregates only)."""
    return consent_rates(ws.store, since=since, until=until)


@router.get("/subjects/{subject}", response_model=StateOut, **requires(Scope.CONSENT_READ))
def get_state(subject: SubjectPath, svc: ConsentDep) -> StateOut:
    """A person's latest choice per purpose."""
    state = svc.state(subject)
    return StateOut(
        purposes={
            p: {
                "decision": e.decision.value,
                "mechanism": e.mechanism,
                "valid": e.valid,
                "jurisdiction": e.jurisdiction,
                "notice_version": e.notice_version,
                "at": e.at,
                "event_id": e.event_id,
            }
            for p, e in sorted(state.items())
        }
    )


@router.get(
    "/subjects/{subject}/proof",
    **requires(Scope.CONSENT_READ, responses={200: {"content": {"text/html": {}}}}),
)
def get_proof(
    subject: SubjectPath,
    svc: ConsentDep,
    format: Annotated[Literal["json", "html"], Query()] = "json",
) -> Any:
    """Proof of consent (GDPR Art. 7(1)): events, evidence, chain position, notice texts."""
    proof = build_proof(svc, subject)
    if format == "html":
        return HTMLResponse(proof_html(proof))
    return proof


@router.get("/subjects/{subject}/receipt", **requires(Scope.CONSENT_READ))
def get_receipt(subject: SubjectPath, svc: ConsentDep) -> dict[str, Any]:
    """Consent receipt: the person's consent records as JSON in the style of ISO/IEC TS 27560
    (one record per purpose: the processing it covers, every event with its ledger hash)."""
    return build_receipt(svc, subject)
