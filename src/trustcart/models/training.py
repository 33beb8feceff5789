"""Training the reference models on workspace data (``trustcart models train``).

From a Parquet or CSV file: declare each feature against the data map (so the gateway can gate
it), refuse protected attributes and registered proxies *before* a model learns from them,
train, save the artefact in the workspace and record the version in the model registry with
the sha256 of the data file — the digest a fairness audit of the same file records, which is
how the registry finds the audit that cleared the model.

    trained = train_model(ws, "price", "quotes.parquet", target="adjustment",
                          features=["loyalty_tier=price_quotes.segment",
                                    "stock_level=system.operations"],
                          purpose="dynamic_pricing")
    trained.record.ref          # "pricing-lgbm@3f2a9c01b7de"
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import version as _pkg_version
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from trustcart.consent import ConsentService
from trustcart.errors import NotFound, ValidationError
from trustcart.gateway import (
    DecisionKind,
    DecisionModel,
    FeatureSpec,
    FeatureType,
    ModelRecord,
    list_proxies,
    protected_hit,
    record_model,
)
from trustcart.gateway.credit import check_feature_list
from trustcart.gateway.gateway import resolve_feature
from trustcart.models.artefacts import check_model_name, save_artefact
from trustcart.models.credit import LogisticCredit, train_credit
from trustcart.models.offer import LogisticOffer, train_offer
from trustcart.models.pricing import DEFAULT_PARAMS, LightGBMPricing, train_pricing
from trustcart.models.recommenders import CooccurrenceRecommender
from trustcart.workspace import Workspace

#: Fewer usable rows than this cannot train anything worth serving.
MIN_ROWS = 10
DEFAULT_NAMES = {
    DecisionKind.PRICE: "pricing-lgbm",
    DecisionKind.OFFER: "offer-logit",
    DecisionKind.RECOMMEND: "item-item",
    DecisionKind.RANK: "item-item",
    DecisionKind.CREDIT: "credit-logit",
}
#: The recommenders' one input when none is declared: the person's recent purchases.
DEFAULT_ITEMS_FEATURE = "recent_items=user.behavior.purchase_history"


@dataclass(frozen=True)
class TrainedModel:
    """What :func:`train_model` made: the registry record, the model, and notes for the user."""

    record: ModelRecord
    model: DecisionModel
    rows: int
    notes: list[str] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (as fairness audits record their source)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_frame(path: Path) -> pd.DataFrame:
    """A Parquet or CSV file as a DataFrame, with a clear error for anything else."""
    if not path.is_file():
        raise NotFound(f"no data file {str(path)!r}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".csv":
            return pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise ValidationError(f"cannot read {path.name}: {exc}") from None
    raise ValidationError(f"{path.name}: training data must be a .parquet or .csv file")


def _split(text: str) -> tuple[str, list[str]]:
    name, sep, refs = text.strip().partition("=")
    name = name.strip()
    if not name or (sep and not refs.strip()):
        raise ValidationError(
            f"feature {text!r}: write NAME or NAME=REF[+REF…] where REF is a data-map field "
            "(dataset.field) or a data category (e.g. user.behavior.purchase_history, "
            "system.operations)"
        )
    return name, [r.strip() for r in refs.split("+") if r.strip()] if sep else []


def _declare(
    consent: ConsentService, text: str, purpose: str | None, dtype: FeatureType
) -> tuple[FeatureSpec, tuple[str, ...]]:
    """A feature spec from ``NAME[=REF+REF]``: a REF naming a data-map dataset is a field, any
    other REF a data category; a bare NAME must be a field name found in exactly one dataset."""
    dm = consent.datamap
    name, refs = _split(text)
    fields: list[str] = []
    categories: list[str] = []
    if not refs:
        hits = [f"{ds.key}.{f.name}" for ds in dm.datasets for f in ds.fields if f.name == name]
        if len(hits) != 1:
            where = f"it is in {', '.join(hits)}" if hits else "no data-map field has that name"
            raise ValidationError(
                f"feature {name!r}: say what data it is ({where}); write "
                f"{name}=dataset.field or {name}=CATEGORY (e.g. {name}=system.operations for a "
                "non-personal input)",
                details={"feature": name, "fields": hits},
            )
        fields = hits
    for ref in refs:
        head = ref.partition(".")[0]
        if "." in ref and dm.dataset(head) is not None:
            fields.append(ref)
        else:
            categories.append(ref)
    if len(fields) > 1:
        raise ValidationError(f"feature {name!r}: name at most one data-map field")
    spec = FeatureSpec(
        name,
        None,
        tuple(categories),
        fields[0] if fields else None,
        dtype=dtype,
    )
    cats = list(categories)
    if spec.field is not None:
        ds_key, _, fname = spec.field.partition(".")
        ds = dm.dataset(ds_key)
        fld = ds.field(fname) if ds else None
        cats += fld.data_categories if fld else []
    if any(consent.rules.sensitivity_of(c) != "anonymous" for c in cats):
        if purpose is None:
            raise ValidationError(
                f"feature {name!r} carries personal data ({', '.join(cats)}): give the purpose "
                "the model serves with --purpose (one of: "
                + ", ".join(p.key for p in dm.purposes)
                + ")"
            )
        spec = replace(spec, purpose=purpose)
        if spec.field is not None:
            _check_field_purpose(consent, spec.field, purpose, name)
    # the checks a gateway makes when the model is registered, made before training
    return spec, resolve_feature(consent, spec, "(being trained)")


def _check_field_purpose(consent: ConsentService, ref: str, purpose: str, name: str) -> None:
    """The data map says which purposes a field is processed for; training a model for another
    one would use the data beyond what the notice and the records of processing say."""
    key = consent.purpose(purpose).key
    dm = consent.datamap
    allowed = {f"{ds.key}.{f.name}" for ds, f in dm.fields_for(key)}
    if ref not in allowed:
        raise ValidationError(
            f"feature {name!r}: the data map does not list purpose {key!r} for field {ref}; "
            "add it there (and to the notice) first, or use another field",
            details={"feature": name, "field": ref, "purpose": key},
        )


def _refuse_protected(
    ws: Workspace, consent: ConsentService, specs: Sequence[tuple[FeatureSpec, tuple[str, ...]]]
) -> None:
    """A model must not learn from what the gateway will always withhold from it."""
    org = consent.datamap.organization
    codes = list(org.jurisdictions) if org else []
    codes = codes or [ws.settings.default_jurisdiction]
    proxies = list_proxies(ws.store)
    for spec, cats in specs:
        for code in codes:
            hit = protected_hit(consent.jurisdiction(code), cats)
            if hit is not None:
                raise ValidationError(
                    f"feature {spec.name!r} carries {hit.category} ({hit.label}; {hit.citation}): "
                    "the gateway never passes it to a model, so a model must not learn from it. "
                    "Leave it out of --features (keep it in the file for fairness audits)",
                    details={"feature": spec.name, "category": hit.category},
                )
        proxy = proxies.get(spec.name)
        if proxy is not None:
            raise ValidationError(
                f"feature {spec.name!r} is a registered proxy of a protected attribute "
                f"({proxy.reason}; source: {proxy.source}); leave it out of --features",
                details={"feature": spec.name},
            )


def _numeric(df: pd.DataFrame, columns: Sequence[str], *, complete: bool) -> None:
    for col in columns:
        s = df[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise ValidationError(
                f"column {col!r} is not numeric ({s.dtype}); encode it as numbers first",
                details={"column": col},
            )
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(values).any():
            raise ValidationError(f"column {col!r} has infinite values")
        if complete and np.isnan(values).any():
            raise ValidationError(
                f"column {col!r} has {int(np.isnan(values).sum())} missing value(s); the offer "
                "model needs complete rows (drop or impute them)",
                details={"column": col},
            )


def _columns(df: pd.DataFrame, needed: Sequence[str]) -> None:
    absent = [c for c in needed if c not in df.columns]
    if absent:
        raise ValidationError(
            f"the data has no column(s) {', '.join(map(repr, absent))}; it has "
            + ", ".join(map(str, df.columns)),
            details={"absent": absent, "columns": [str(c) for c in df.columns]},
        )


def _version(parts: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def train_model(
    ws: Workspace,
    kind: str,
    data: str | Path,
    *,
    target: str,
    features: Sequence[str] | None = None,
    purpose: str | None = None,
    basket: str | None = None,
    name: str | None = None,
    rounds: int = 50,
    consent: ConsentService | None = None,
    weight: str | None = None,
) -> TrainedModel:
    """Train a reference model for ``kind`` on ``data``, save it, register it.

    ``price``: LightGBM regression of ``target`` (the price adjustment as a fraction of list
    price). ``offer``: logistic regression of the 0/1 ``target``. ``credit``: logistic
    regression of the 0/1 repayment ``target`` (ECOA / Reg B characteristics refused).
    ``recommend``/``rank``:
    item-item co-occurrence from rows of (``basket``, ``target`` = item id), with popularity as
    the non-personalised fallback. ``features`` are ``NAME[=REF+REF]`` declarations (default:
    every other column, each found by name in the data map); ``purpose`` is the data-map
    purpose the personal features serve. The version is derived from the data file's sha256,
    the kind, target, features and parameters: training the same thing twice gives the same
    version (and registers nothing new). ``weight`` (price and offer models) names a column
    of sample weights — e.g. the one :func:`trustcart.fairness.reweigh` writes — that is
    neither a feature nor the target.
    """
    try:
        k = DecisionKind(kind)
    except ValueError:
        raise ValidationError(
            f"unknown decision kind {kind!r}; use one of: {', '.join(DecisionKind)}"
        ) from None
    path = Path(data)
    df = read_frame(path)
    sha = file_sha256(path)
    consent = consent or ConsentService(ws)
    model_name = check_model_name(name or DEFAULT_NAMES[k])
    _columns(df, [target])
    notes: list[str] = []
    items = k in (DecisionKind.RECOMMEND, DecisionKind.RANK)
    if items:
        if basket is None:
            raise ValidationError(
                f"a {k.value} model learns from baskets: give --basket COLUMN (the order or "
                f"session id grouping the rows; --target {target} is the item column)"
            )
        _columns(df, [basket])
        declared = list(features or [DEFAULT_ITEMS_FEATURE])
        if len(declared) != 1:
            raise ValidationError(
                f"a {k.value} model has one input, the person's recent items "
                f"(e.g. --features {DEFAULT_ITEMS_FEATURE})"
            )
    else:
        if basket is not None:
            raise ValidationError("--basket applies to recommend and rank models only")
        declared = list(features or [str(c) for c in df.columns if c not in (target, weight)])
        if not declared:
            raise ValidationError("the data has no column besides the target to learn from")
    specs = [_declare(consent, d, purpose, "items" if items else "number") for d in declared]
    names = [s.name for s, _ in specs]
    if len(set(names)) != len(names):
        raise ValidationError("a feature is declared twice")
    if target in names:
        raise ValidationError(f"the target {target!r} cannot also be a feature")
    if weight is not None:
        if items:
            raise ValidationError("--weight applies to price and offer models only")
        if weight in names or weight == target:
            raise ValidationError(f"the weight column {weight!r} cannot be a feature or the target")
        _columns(df, [weight])
        _numeric(df, [weight], complete=True)
        if (df[weight].to_numpy(dtype=np.float64) < 0).any():
            raise ValidationError(f"the weight column {weight!r} has negative values")
    _refuse_protected(ws, consent, specs)
    if k is DecisionKind.CREDIT:  # ECOA / Reg B: refused before a model learns from it
        check_feature_list(
            model_name, [(s.name, cats) for s, cats in specs], list_proxies(ws.store)
        )
    feats = [s for s, _ in specs]

    model: LightGBMPricing | LogisticOffer | LogisticCredit | CooccurrenceRecommender
    params: dict[str, Any]
    if k is DecisionKind.PRICE:
        _columns(df, names)
        _numeric(df, [*names, target], complete=False)
        df = df[df[target].notna()]
        params = {"rounds": rounds, **DEFAULT_PARAMS, **({"weight": weight} if weight else {})}
        libs = {"lightgbm": _pkg_version("lightgbm")}
    elif k in (DecisionKind.OFFER, DecisionKind.CREDIT):
        _columns(df, names)
        _numeric(df, [*names, target], complete=True)
        labels = set(pd.unique(df[target].astype(float)))
        if not labels <= {0.0, 1.0} or len(labels) < 2:
            raise ValidationError(
                f"the {k.value} target {target!r} must be 0/1 with both values present "
                f"(found {sorted(labels)[:5]})"
            )
        params = {"C": 1.0, **({"weight": weight} if weight else {})}
        libs = {"scikit-learn": _pkg_version("scikit-learn")}
    else:
        df = df[df[target].notna() & df[basket].notna()]
        params = {}
        libs = {}
    if len(df) < MIN_ROWS:
        raise ValidationError(
            f"{path.name} has {len(df)} usable row(s); at least {MIN_ROWS} are needed"
        )
    ver = _version(
        {
            "kind": k.value,
            "data": sha,
            "target": target,
            "basket": basket,
            "features": [f.to_dict() for f in feats],
            "params": params,
        }
    )
    if k is DecisionKind.PRICE:
        model = train_pricing(
            df, feats, target=target, name=model_name, version=ver, rounds=rounds, weight=weight
        )
    elif k is DecisionKind.OFFER:
        model = train_offer(df, feats, target=target, name=model_name, version=ver, weight=weight)
    elif k is DecisionKind.CREDIT:
        model = train_credit(df, feats, target=target, name=model_name, version=ver)
        notes.append(
            "credit scoring is high-risk (EU AI Act Annex III 5(b)): its AIA must list the use "
            "case 'creditworthiness', and it serves only after a person approves this version: "
            f"`trustcart oversight approve {model_name} {ver} --reviewer USERNAME`"
        )
    else:
        baskets = df.groupby(basket, sort=False)[target].agg(lambda s: [str(i) for i in s])
        model = CooccurrenceRecommender.fit(
            baskets.tolist(), feats[0], name=model_name, version=ver
        )
        notes.append(f"{len(baskets)} baskets, {len(model.popularity.counts)} items")
    model.training_sha256 = sha  # the data file's digest, not the frame's
    rel, artefact_sha = save_artefact(ws.root, model, k.value)
    record = record_model(
        ws.store,
        name=model_name,
        version=ver,
        kind=k.value,
        features=feats,
        training_sha256=sha,
        artefact=rel,
        artefact_sha256=artefact_sha,
        training={
            "data": path.name,
            "rows": len(df),
            "target": target,
            "basket": basket,
            "params": params,
            "libraries": libs,
        },
    )
    return TrainedModel(record, model, len(df), notes)
