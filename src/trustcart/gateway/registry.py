"""The model registry: every model version the gateway served or the workspace trained, with
its declared features, the sha256 of its training data and, for models trained with
``trustcart models train``, where its artefact is kept — so a decision's ``model`` +
``model_version`` can be traced to what the model was allowed to see, what it learnt from,
and which fairness audit cleared it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, update

from trustcart.clock import utcnow
from trustcart.errors import Conflict, NotFound
from trustcart.gateway.plugin import FeatureSpec
from trustcart.store import Store
from trustcart.store.tables import FairnessAudit, ModelRegistration, table_of

_models = table_of(ModelRegistration)
_audits = table_of(FairnessAudit)
#: Stored audits that measure a disparity (as in ``trustcart.fairness.store.DISPARITY_KINDS``;
#: repeated here so the gateway does not import the audit engine).
_DISPARITY_KINDS = ("binary", "continuous", "ranking")


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """One registered model version.

    ``training_sha256`` identifies the training data: for ``trustcart models train`` the sha256
    of the data file (the same digest a fairness audit of that file records), for a model
    trained in code the digest of its training frame. ``artefact`` is the saved model's path
    relative to the workspace (None when it was registered in code), ``training`` how it was
    trained (file, target, rows, parameters).
    """

    name: str
    version: str
    kind: str
    features: list[dict[str, Any]]
    training_sha256: str | None
    created_at: datetime
    artefact: str | None = None
    artefact_sha256: str | None = None
    training: dict[str, Any] | None = None

    @property
    def ref(self) -> str:
        """``name@version``, how configuration and the CLI name a version."""
        return f"{self.name}@{self.version}"

    def summary(self, cleared: Clearance, serving: str | None) -> dict[str, Any]:
        """The row ``trustcart models list`` and ``GET /v1/models`` answer: the version, its
        training fingerprint, the audit that cleared it and the kind it serves (if any)."""
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "features": self.features,
            "training_sha256": self.training_sha256,
            "artefact": self.artefact,
            "artefact_sha256": self.artefact_sha256,
            "training": self.training,
            "created_at": self.created_at.isoformat(),
            "audit": cleared.audit_id,
            "cleared_by": cleared.cleared_by,
            "serving": serving,
        }


@dataclass(frozen=True, slots=True)
class Clearance:
    """The fairness-audit status of a model version.

    ``audit_id`` is the latest disparity audit of the model's training data (an audit whose
    source sha256 equals the model's ``training_sha256``); ``cleared`` says whether it found no
    high-severity disparity. ``cleared_by`` is that audit's id when it cleared the model.
    """

    audit_id: str | None
    cleared: bool
    high_findings: int = 0
    audited_at: datetime | None = None

    @property
    def cleared_by(self) -> str | None:
        """The id of the latest audit, when it cleared the model."""
        return self.audit_id if self.cleared else None

    def describe(self) -> str:
        """One phrase for listings."""
        if self.audit_id is None:
            return "not audited"
        if self.cleared:
            return f"cleared by {self.audit_id}"
        return f"{self.audit_id}: {self.high_findings} high-severity finding(s)"


def _record(r: Any) -> ModelRecord:
    return ModelRecord(
        r.name,
        r.version,
        r.kind,
        orjson.loads(r.features),
        r.training_sha256,
        r.created_at,
        r.artefact,
        r.artefact_sha256,
        orjson.loads(r.training) if r.training else None,
    )


def record_model(
    store: Store,
    *,
    name: str,
    version: str,
    kind: str,
    features: Sequence[FeatureSpec],
    training_sha256: str | None,
    artefact: str | None = None,
    artefact_sha256: str | None = None,
    training: Mapping[str, Any] | None = None,
) -> ModelRecord:
    """Record a model version once; the same name+version with other features, training data
    or artefact is refused (a version must identify one model). Registering a version again
    without an artefact (as the serving gateway does) changes nothing."""
    specs = [f.to_dict() for f in features]
    text = orjson.dumps(specs).decode()
    with store.write() as conn:
        row = conn.execute(
            select(_models).where(_models.c.name == name, _models.c.version == version)
        ).first()
        if row is not None:
            if row.features != text or row.training_sha256 != training_sha256:
                raise Conflict(
                    f"model {name!r} version {version!r} is already registered with other "
                    "features or training data; give the new model a new version",
                    details={"name": name, "version": version},
                )
            if artefact_sha256 is not None and row.artefact_sha256 not in (None, artefact_sha256):
                raise Conflict(
                    f"model {name!r} version {version!r} is already registered with another "
                    "artefact; give the new model a new version",
                    details={"name": name, "version": version},
                )
            if artefact is not None and row.artefact is None:
                conn.execute(
                    update(_models)
                    .where(_models.c.name == name, _models.c.version == version)
                    .values(
                        artefact=artefact,
                        artefact_sha256=artefact_sha256,
                        training=orjson.dumps(dict(training or {})).decode(),
                    )
                )
                row = conn.execute(
                    select(_models).where(_models.c.name == name, _models.c.version == version)
                ).one()
            return _record(row)
        now = utcnow()
        values = {
            "name": name,
            "version": version,
            "kind": kind,
            "features": text,
            "training_sha256": training_sha256,
            "created_at": now,
            "artefact": artefact,
            "artefact_sha256": artefact_sha256,
            "training": orjson.dumps(dict(training)).decode() if training is not None else None,
        }
        conn.execute(_models.insert().values(**values))
    return ModelRecord(
        name,
        version,
        kind,
        specs,
        training_sha256,
        now,
        artefact,
        artefact_sha256,
        dict(training) if training is not None else None,
    )


def list_models(store: Store, *, kind: str | None = None) -> list[ModelRecord]:
    """Every registered model version (of ``kind`` when given), oldest first."""
    query = select(_models).order_by(_models.c.created_at, _models.c.name, _models.c.version)
    if kind is not None:
        query = query.where(_models.c.kind == kind)
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [_record(r) for r in rows]


def get_model(store: Store, name: str, version: str | None = None) -> ModelRecord:
    """One registered version; without ``version`` the newest version of ``name``."""
    query = select(_models).where(_models.c.name == name)
    if version is not None:
        query = query.where(_models.c.version == version)
    with store.read() as conn:
        row = conn.execute(query.order_by(_models.c.created_at.desc()).limit(1)).first()
    if row is None:
        what = f"{name}@{version}" if version else name
        raise NotFound(
            f"no registered model {what!r}; `trustcart models list` shows the registered ones"
        )
    return _record(row)


def clearance(store: Store, model: ModelRecord) -> Clearance:
    """Which fairness audit, if any, cleared ``model``: the latest disparity audit of exactly
    its training data (same sha256), and whether it found a high-severity disparity.

    Only audits of the training data file are linked (stored audits do not name a model); an
    audit of the decision log covers every model that served and is not counted here.
    """
    if not model.training_sha256:
        return Clearance(None, False)
    with store.read() as conn:
        row = conn.execute(
            select(_audits.c.id, _audits.c.result, _audits.c.created_at)
            .where(
                _audits.c.source_sha256 == model.training_sha256,
                _audits.c.kind.in_(_DISPARITY_KINDS),
            )
            .order_by(_audits.c.created_at.desc())
            .limit(1)
        ).first()
    if row is None:
        return Clearance(None, False)
    findings = orjson.loads(row.result).get("findings") or []
    high = sum(1 for f in findings if f.get("severity") == "high")
    return Clearance(row.id, high == 0, high, row.created_at)
