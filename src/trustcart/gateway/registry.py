"""The model registry: every model version the gateway served, with its declared features and
the sha256 of its training data, so a decision's ``model`` + ``model_version`` can be traced to
what the model was allowed to see and what it learnt from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select

from trustcart.clock import utcnow
from trustcart.errors import Conflict
from trustcart.gateway.plugin import FeatureSpec
from trustcart.store import Store
from trustcart.store.tables import ModelRegistration, table_of

_models = table_of(ModelRegistration)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """One registered model version."""

    name: str
    version: str
    kind: str
    features: list[dict[str, object]]
    training_sha256: str | None
    created_at: datetime


def record_model(
    store: Store,
    *,
    name: str,
    version: str,
    kind: str,
    features: Sequence[FeatureSpec],
    training_sha256: str | None,
) -> ModelRecord:
    """Record a model version once; the same name+version with other features or training
    data is refused (a version must identify one model)."""
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
            return ModelRecord(name, version, row.kind, specs, row.training_sha256, row.created_at)
        now = utcnow()
        conn.execute(
            _models.insert().values(
                name=name,
                version=version,
                kind=kind,
                features=text,
                training_sha256=training_sha256,
                created_at=now,
            )
        )
    return ModelRecord(name, version, kind, specs, training_sha256, now)


def list_models(store: Store) -> list[ModelRecord]:
    """Every registered model version, oldest first."""
    with store.read() as conn:
        rows = conn.execute(select(_models).order_by(_models.c.created_at)).all()
    return [
        ModelRecord(
            r.name, r.version, r.kind, orjson.loads(r.features), r.training_sha256, r.created_at
        )
        for r in rows
    ]
