"""Saving and loading reference models as plain JSON artefacts in the workspace.

Why JSON and not pickle: loading a pickle runs whatever code it names, so a workspace folder
(which people copy, commit and share) would become a way to run code on the server. A JSON
document holds only numbers, strings and LightGBM's own text model format. The registry keeps
each artefact's sha256; :func:`load_artefact` refuses a file that no longer matches it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import lightgbm as lgb
import orjson

from trustcart.errors import Conflict, NotFound, ValidationError
from trustcart.gateway import DecisionModel, FeatureSpec, ModelRecord
from trustcart.models.credit import LogisticCredit
from trustcart.models.offer import LogisticOffer
from trustcart.models.pricing import LightGBMPricing
from trustcart.models.recommenders import CooccurrenceRecommender, PopularityRecommender

ARTEFACT_FORMAT = "trustcart-model/1"
#: Folder of the workspace holding artefacts: ``models/<name>/<version>.json``.
MODELS_DIR = "models"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_model_name(name: str) -> str:
    """A model name usable in a path and a ``name@version`` reference."""
    if not _NAME.match(name) or ".." in name:
        raise ValidationError(
            f"model name {name!r}: use 1-64 letters, digits, '.', '_' or '-' (e.g. pricing-lgbm)"
        )
    return name


def _features(model: DecisionModel) -> list[dict[str, Any]]:
    return [f.to_dict() for f in model.features]


def to_document(model: DecisionModel, kind: str) -> dict[str, Any]:
    """The JSON document of a reference model (its parameters, not code)."""
    body: dict[str, Any]
    if isinstance(model, LightGBMPricing):
        body = {"type": "lightgbm-pricing", "booster": model.booster.model_to_string()}
    elif isinstance(model, LogisticOffer):  # LogisticCredit is one, with its own type
        body = {
            "type": "logistic-credit" if isinstance(model, LogisticCredit) else "logistic-offer",
            "coef": model.coef,
            "intercept": model.intercept,
            "baseline": model.baseline,
        }
    elif isinstance(model, CooccurrenceRecommender):
        body = {
            "type": "item-item",
            "counts": model.popularity.counts,
            "cooc": model.cooc,
        }
    elif isinstance(model, PopularityRecommender):
        body = {"type": "popularity", "counts": model.counts}
    else:
        raise ValidationError(
            f"{type(model).__name__} is not a TrustCart reference model; only those can be "
            "saved as workspace artefacts (register your own model in code with Gateway.register)"
        )
    return {
        "format": ARTEFACT_FORMAT,
        "kind": kind,
        "name": model.name,
        "version": model.version,
        "features": _features(model),
        "training_sha256": getattr(model, "training_sha256", None),
        **body,
    }


def from_document(doc: dict[str, Any]) -> DecisionModel:
    """The model a document describes (inverse of :func:`to_document`)."""
    if doc.get("format") != ARTEFACT_FORMAT:
        raise ValidationError(f"not a TrustCart model artefact (format {doc.get('format')!r})")
    features = [FeatureSpec.from_dict(f) for f in doc["features"]]
    name, version, sha = str(doc["name"]), str(doc["version"]), doc.get("training_sha256")
    kind = doc.get("type")
    if kind == "lightgbm-pricing":
        booster = lgb.Booster(model_str=doc["booster"])
        return LightGBMPricing(booster, features, name=name, version=version, training_sha256=sha)
    if kind in ("logistic-offer", "logistic-credit"):
        cls = LogisticCredit if kind == "logistic-credit" else LogisticOffer
        return cls(
            doc["coef"],
            doc["intercept"],
            doc["baseline"],
            features,
            name=name,
            version=version,
            training_sha256=sha,
        )
    if kind == "item-item":
        pop = PopularityRecommender(doc["counts"], version=version, training_sha256=sha)
        return CooccurrenceRecommender(
            doc["cooc"], pop, features[0], name=name, version=version, training_sha256=sha
        )
    if kind == "popularity":
        return PopularityRecommender(doc["counts"], name=name, version=version, training_sha256=sha)
    raise ValidationError(f"unknown model type {kind!r} in artefact")


def save_artefact(root: Path, model: DecisionModel, kind: str) -> tuple[str, str]:
    """Write the model under ``root/models/<name>/<version>.json`` (atomically); returns the
    path relative to ``root`` and the file's sha256."""
    check_model_name(model.name)
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", model.version) or ".." in model.version:
        raise ValidationError(f"model version {model.version!r} cannot name a file")
    data = orjson.dumps(to_document(model, kind), option=orjson.OPT_SORT_KEYS)
    rel = Path(MODELS_DIR) / model.name / f"{model.version}.json"
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rel.as_posix(), hashlib.sha256(data).hexdigest()


def load_artefact(root: Path, record: ModelRecord) -> DecisionModel:
    """Load a registered model's artefact, checking it is the file that was registered."""
    if record.artefact is None:
        raise NotFound(
            f"model {record.ref} was registered in code, not trained in the workspace: it has "
            "no artefact to load (register it in the serving process, or train one with "
            "`trustcart models train`)"
        )
    path = (root / record.artefact).resolve()
    if not path.is_relative_to(root.resolve()):
        raise Conflict(
            f"model {record.ref}: artefact path {record.artefact!r} leaves the workspace"
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(
            f"model {record.ref}: artefact {record.artefact} is missing from the workspace; "
            "train the model again"
        ) from None
    if hashlib.sha256(data).hexdigest() != record.artefact_sha256:
        raise Conflict(
            f"model {record.ref}: artefact {record.artefact} changed since it was registered "
            "(sha256 differs); it is not loaded. Train the model again to register a new version"
        )
    model = from_document(orjson.loads(data))
    if (model.name, model.version) != (record.name, record.version):
        raise Conflict(f"model {record.ref}: artefact describes {model.name}@{model.version}")
    return model
