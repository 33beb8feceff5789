"""Human oversight before a high-risk model version serves (EU AI Act Annex III 5(b): credit).

Why a separate gate from ethics reviews: the ethics committee's review is optional per
workspace (``require_ethics_approval``); a creditworthiness model is high-risk under the AI Act
(Annex III 5(b), rules ``ai_act.yaml`` use case ``creditworthiness``), so the gateway refuses by
default (``human_oversight_kinds = ["credit"]``) to serve a version no named human approved.

What an approval binds: a dashboard user account (a person, not an API key) whose role is one
of :data:`OVERSIGHT_ROLES` approves one model *version*, citing the model's AIA; the AIA's
AI Act screening (tier, use cases, citations) is computed and stored with the approval, so the
record shows that the high-risk screening was done and by whom it was accepted. A credit
model's AIA must list the ``creditworthiness`` use case. Decisions are append-only rows (the
newest counts) and each is written to the ``admin`` hash-chained log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select

from trustcart.clock import utcnow
from trustcart.errors import Conflict, ValidationError
from trustcart.governance.keys import ADMIN_LOG
from trustcart.ids import new_id
from trustcart.store import Store
from trustcart.store.tables import ModelOversightRow, table_of

if TYPE_CHECKING:
    from trustcart.workspace import Workspace

#: Roles whose holders may approve a model version to serve (a dashboard account's role).
OVERSIGHT_ROLES: tuple[str, ...] = ("dpo", "ethics", "reviewer")
OVERSIGHT_DECISIONS: tuple[str, ...] = ("approved", "rejected")
#: The AI Act use case a credit model's AIA must declare (rules ``ai_act.yaml``).
CREDIT_USE_CASE = "creditworthiness"
_rows = table_of(ModelOversightRow)


class HumanOversightRequired(Conflict):
    """The model version needs a human approval before it serves."""

    code = "human_oversight_required"


@dataclass(frozen=True, slots=True)
class OversightRecord:
    """One human decision on a model version."""

    id: str
    model: str
    version: str
    decision: str
    reviewer: str
    role: str
    notes: str
    aia: str | None
    aia_sha256: str | None
    screening: dict[str, Any]
    created_at: datetime

    @property
    def approves(self) -> bool:
        """The version may serve."""
        return self.decision == "approved"

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return asdict(self)


def _record(r: Any) -> OversightRecord:
    return OversightRecord(
        r.id,
        r.model,
        r.version,
        r.decision,
        r.reviewer,
        r.role,
        r.notes,
        r.aia,
        r.aia_sha256,
        orjson.loads(r.screening),
        r.created_at,
    )


def _model_kind(store: Store, model: str, version: str) -> str | None:
    from trustcart.gateway.registry import list_models

    for m in list_models(store):
        if m.name == model and m.version == version:
            return m.kind
    return None


def approve_model(
    store: Store,
    model: str,
    version: str,
    *,
    reviewer: str,
    decision: str = "approved",
    notes: str = "",
    aia: str | None = None,
    kind: str | None = None,
    actor: str = "cli",
) -> OversightRecord:
    """Record ``reviewer``'s decision that ``model`` ``version`` may (not) serve.

    ``reviewer`` is a dashboard username with an oversight role; ``aia`` the key of the
    model's AIA (found by model name when omitted). ``kind`` is the decision kind (read from
    the model registry when the version is registered); a ``credit`` model's AIA must list the
    ``creditworthiness`` use case. A rejection needs notes (the reasons).
    """
    from trustcart.assessments import load_records, screen_ai_act
    from trustcart.governance.users import list_users
    from trustcart.rules import load_rules

    if not model.strip() or len(model) > 200 or not version.strip() or len(version) > 64:
        raise ValidationError("name the model (1-200 characters) and its version (1-64)")
    if decision not in OVERSIGHT_DECISIONS:
        raise ValidationError(
            f"decision must be one of {', '.join(OVERSIGHT_DECISIONS)}; got {decision!r}"
        )
    why = notes.strip()
    if decision == "rejected" and not why:
        raise ValidationError("a rejection gives its reasons (--notes)")
    user = next((u for u in list_users(store) if u.username == reviewer.strip().lower()), None)
    if user is None or not user.active:
        raise ValidationError(
            f"no active dashboard account {reviewer!r}: human oversight is given by a named "
            "person with an account (`trustcart users add NAME --role dpo|ethics|reviewer`)",
            details={"reviewer": reviewer},
        )
    if user.role not in OVERSIGHT_ROLES:
        raise ValidationError(
            f"{user.username} has role {user.role!r}; approving a model to serve needs one of "
            f"{', '.join(OVERSIGHT_ROLES)}",
            details={"reviewer": user.username, "role": user.role},
        )
    records = load_records(store)
    if aia is not None:
        record = records.aia(aia)
        if record is None:
            raise ValidationError(f"no AIA {aia!r}: load it first (`trustcart records load`)")
    else:
        found = [a for a in records.aias if a.model == model]
        if not found:
            raise ValidationError(
                f"model {model!r} has no algorithmic impact assessment: write an `aias` record "
                "(for a credit model with use case `creditworthiness`, EU AI Act Annex III 5(b)) "
                "and load it with `trustcart records load` before approving it",
                details={"model": model},
            )
        record = found[-1]
    if record.model != model or (record.version is not None and record.version != version):
        raise ValidationError(f"AIA {record.key!r} assesses {record.model}, not {model} {version}")
    kind = kind or _model_kind(store, model, version)
    if kind == "credit" and CREDIT_USE_CASE not in record.use_cases:
        raise ValidationError(
            f"AIA {record.key!r} of credit model {model!r} does not list the use case "
            f"{CREDIT_USE_CASE!r} (EU AI Act Annex III 5(b), high-risk): add it to the AIA's "
            "use_cases and reload the records",
            details={"aia": record.key, "use_cases": record.use_cases},
        )
    screening = screen_ai_act(
        load_rules(), record.use_cases, profiling=record.profiling, on=utcnow().date()
    ).to_dict()
    rid = new_id("ovs_")
    now = utcnow()
    with store.write() as conn:
        conn.execute(
            _rows.insert().values(
                id=rid,
                model=model,
                version=version,
                decision=decision,
                reviewer=user.username,
                role=user.role,
                notes=why,
                aia=record.key,
                aia_sha256=record.content_hash(),
                screening=orjson.dumps(screening).decode(),
                created_at=now,
            )
        )
        store.log(ADMIN_LOG).append(
            {
                "action": "oversight.decided",
                "oversight_id": rid,
                "model": model,
                "version": version,
                "decision": decision,
                "reviewer": user.username,
                "role": user.role,
                "aia": record.key,
                "tier": screening["tier"],
                "actor": actor,
            },
            conn=conn,
        )
    return OversightRecord(
        rid,
        model,
        version,
        decision,
        user.username,
        user.role,
        why,
        record.key,
        record.content_hash(),
        screening,
        now,
    )


def oversight_records(
    store: Store, *, model: str | None = None, version: str | None = None
) -> list[OversightRecord]:
    """Oversight decisions, oldest first, optionally of one model (and version)."""
    stmt = select(_rows).order_by(_rows.c.created_at, _rows.c.id)
    if model is not None:
        stmt = stmt.where(_rows.c.model == model)
    if version is not None:
        stmt = stmt.where(_rows.c.version == version)
    with store.read() as conn:
        return [_record(r) for r in conn.execute(stmt)]


def latest_oversight(store: Store, model: str, version: str) -> OversightRecord | None:
    """The decision that counts for a model version (the newest), if any."""
    found = oversight_records(store, model=model, version=version)
    return found[-1] if found else None


def ensure_oversight(ws: Workspace, kind: str, model: str, version: str) -> OversightRecord | None:
    """Refuse (:class:`HumanOversightRequired`, 409) to serve a version of a kind listed in
    ``human_oversight_kinds`` that no human approved; returns the approval (None when the
    kind needs none)."""
    if kind not in ws.settings.human_oversight_kinds:
        return None
    rec = latest_oversight(ws.store, model, version)
    if rec is not None and rec.approves:
        return rec
    why = (
        "has no human-oversight approval"
        if rec is None
        else (f"was rejected by {rec.reviewer} ({rec.role}): {rec.notes}")
    )
    raise HumanOversightRequired(
        f"{kind} model {model!r} version {version!r} {why}; a person with role "
        f"{'/'.join(OVERSIGHT_ROLES)} must approve it before it serves (EU AI Act Annex III "
        f"5(b) for credit; setting human_oversight_kinds): `trustcart oversight approve {model} "
        f"{version} --reviewer USERNAME`",
        details={
            "model": model,
            "version": version,
            "kind": kind,
            "decision": rec.decision if rec else None,
            "oversight_id": rec.id if rec else None,
        },
    )
