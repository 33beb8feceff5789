"""In-processing mitigation of an offer classifier through fairlearn's reductions.

Why fairlearn and not our own: ``ExponentiatedGradient`` (Agarwal et al., 2018) is a
well-reviewed algorithm with a reference implementation; rewriting it would add risk and no
value. TrustCart's part is the contract around it: load the training columns from any source,
train the unconstrained model and the constrained one on the same split, and state the
trade-off — accuracy and disparity on held-out rows, before and after — so a person can decide.

Training needs the rows themselves (unlike an audit), so the selected columns are loaded into
pandas; sources above ``max_rows`` rows are sampled in the engine first (seeded), and the result
says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from trustcart.errors import ValidationError
from trustcart.fairness._spec import check_columns, check_numeric
from trustcart.fairness.mitigation import GroupChange, MitigationResult, _open
from trustcart.fairness.sources import Source

CONSTRAINTS: tuple[str, ...] = ("demographic_parity", "equalized_odds")
DEFAULT_EPS = 0.02
DEFAULT_MAX_ROWS = 500_000


def _design(frame: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """Numeric features as floats, the others one-hot encoded (one column per value)."""
    x = frame[list(features)]
    categorical = [
        c
        for c in features
        if not pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c])
    ]
    return pd.get_dummies(x, columns=categorical, dtype=float).astype(float)


def _rates(
    y: np.ndarray, pred: np.ndarray, keys: np.ndarray, names: list[str]
) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for k in names:
        m = keys == k
        yk, pk = y[m], pred[m]
        pos, neg = yk == 1, yk == 0
        out[k] = {
            "selection_rate": float(pk.mean()),
            "accuracy": float((yk == pk).mean()),
            "true_positive_rate": float(pk[pos].mean()) if pos.any() else None,
            "false_positive_rate": float(pk[neg].mean()) if neg.any() else None,
        }
    return out


def _summary(y: np.ndarray, pred: np.ndarray, per: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def spread(metric: str) -> float | None:
        vals = [v[metric] for v in per.values() if v[metric] is not None]
        return max(vals) - min(vals) if vals else None

    sr = [v["selection_rate"] for v in per.values()]
    tpr_d, fpr_d = spread("true_positive_rate"), spread("false_positive_rate")
    defined = [d for d in (tpr_d, fpr_d) if d is not None]
    return {
        "accuracy": float((y == pred).mean()),
        "selection_rate": float(pred.mean()),
        "demographic_parity_difference": max(sr) - min(sr),
        "demographic_parity_ratio": min(sr) / max(sr) if max(sr) > 0 else None,
        "equalized_odds_difference": max(defined) if defined else None,
    }


def fair_classifier(
    source: str | os.PathLike[str] | ir.Table | Source,
    groups: Sequence[str],
    label: str,
    features: Sequence[str],
    *,
    constraint: str = "demographic_parity",
    eps: float = DEFAULT_EPS,
    test_size: float = 0.3,
    seed: int = 0,
    max_rows: int = DEFAULT_MAX_ROWS,
    table: str | None = None,
) -> MitigationResult:
    """Train an offer classifier under a fairness constraint and state what it costs.

    Baseline: scikit-learn ``LogisticRegression`` on ``features`` (standardised; text columns
    one-hot). Mitigated: fairlearn ``ExponentiatedGradient`` over the same estimator with
    ``DemographicParity`` (equal offer rates) or ``EqualizedOdds`` (equal TPR and FPR), allowed
    violation ``eps``. Both are scored on the same held-out ``test_size`` share of rows, split
    with ``seed`` (stratified by group × label where possible). The group columns are the
    sensitive features: used by the constraint during training, never as model inputs.
    ``result.model`` is the fitted mitigator (predict with ``random_state`` for repeatability).
    """
    from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    src = _open(source, table)
    groups, features = list(groups), list(features)
    if not groups:
        raise ValidationError("name at least one group column (--group COL)")
    if not features:
        raise ValidationError("name at least one model feature (--feature COL)")
    if constraint not in CONSTRAINTS:
        raise ValidationError(
            f"unknown constraint {constraint!r}; use one of: {', '.join(CONSTRAINTS)}"
        )
    if not 0 < test_size < 1:
        raise ValidationError(f"--test-size must be between 0 and 1, not {test_size}")
    if eps <= 0:
        raise ValidationError(f"--eps must be positive, not {eps}")
    wanted = [("--group", g) for g in groups] + [("--label", label)]
    wanted += [("--feature", f) for f in features]
    check_columns(src.table, wanted)
    check_numeric(src.table, "--label", label, "binary")
    clash = (set(groups) | {label}) & set(features)
    if clash:
        raise ValidationError(
            f"column {sorted(clash)[0]!r} cannot be a model feature: it is a group or the label "
            "(protected attributes are never model inputs)"
        )
    t = src.table.select(*dict.fromkeys([*groups, label, *features]))
    rows = int(t.count().execute())
    notes = []
    if rows > max_rows:
        t = t.sample(max_rows / rows, seed=seed)
        notes.append(f"{rows} rows: trained on a seeded sample of about {max_rows}")
    frame = t.to_pandas()
    before_drop = len(frame)
    frame = frame.dropna(subset=[label, *features])
    if before_drop - len(frame):
        notes.append(f"{before_drop - len(frame)} row(s) with a missing label/feature left out")
    y = frame[label].astype(float).to_numpy()
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValidationError(f"column {label!r} has values other than 0/1")
    if len(np.unique(y)) < 2:
        raise ValidationError(f"column {label!r} has a single value: nothing to classify")
    # NULL group values form a group "None" (pandas 3 keeps NaN through astype(str))
    text = frame[groups].apply(lambda col: col.map(lambda v: "None" if pd.isna(v) else str(v)))
    keys = text.agg(", ".join, axis=1).to_numpy()
    names = sorted(set(keys))
    if len(names) < 2:
        raise ValidationError("fewer than two groups: no disparity to mitigate")
    x = _design(frame, features).to_numpy()
    strata = np.char.add(keys.astype(str), y.astype(int).astype(str))
    try:
        split = train_test_split(
            x, y, keys, test_size=test_size, random_state=seed, stratify=strata
        )
    except ValueError:  # a group × label cell too small to stratify
        split = train_test_split(x, y, keys, test_size=test_size, random_state=seed)
        notes.append("split not stratified: a group × label cell is too small")
    x_tr, x_te, y_tr, y_te, k_tr, k_te = split
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    sd[sd == 0] = 1.0
    x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd

    baseline = LogisticRegression(max_iter=1000).fit(x_tr, y_tr)
    pred_b = baseline.predict(x_te).astype(float)
    moment = DemographicParity() if constraint == "demographic_parity" else EqualizedOdds()
    mitigator = ExponentiatedGradient(LogisticRegression(max_iter=1000), moment, eps=eps)
    mitigator.fit(x_tr, y_tr, sensitive_features=k_tr)
    pred_a = np.asarray(mitigator.predict(x_te, random_state=seed), dtype=float)

    per_b, per_a = _rates(y_te, pred_b, k_te, names), _rates(y_te, pred_a, k_te, names)
    changes = []
    for k in names:
        values = dict(zip(groups, text[keys == k].iloc[0], strict=True))
        changes.append(
            GroupChange(group=values, count=int((k_te == k).sum()), before=per_b[k], after=per_a[k])
        )
    sb, sa = _summary(y_te, pred_b, per_b), _summary(y_te, pred_a, per_a)
    headline = (
        "demographic_parity_difference"
        if constraint == "demographic_parity"
        else "equalized_odds_difference"
    )
    return MitigationResult(
        method="exponentiated_gradient",
        stage="in-processing",
        metric="selection_rate",
        groups=changes,
        before=sb,
        after=sa,
        tradeoff={
            "test_rows": len(y_te),
            "train_rows": len(y_tr),
            "accuracy_before": sb["accuracy"],
            "accuracy_after": sa["accuracy"],
            "accuracy_change": sa["accuracy"] - sb["accuracy"],
            f"{headline}_before": sb[headline],
            f"{headline}_after": sa[headline],
            "statement": (
                f"on {len(y_te)} held-out rows: {headline.replace('_', ' ')} "
                f"{sb[headline]:.3f} → {sa[headline]:.3f}, accuracy {sb['accuracy']:.3f} → "
                f"{sa['accuracy']:.3f} ({sa['accuracy'] - sb['accuracy']:+.3f}); offer rate "
                f"{sb['selection_rate']:.3f} → {sa['selection_rate']:.3f}"
            ),
        },
        parameters={
            "groups": groups,
            "label": label,
            "features": features,
            "constraint": constraint,
            "eps": eps,
            "test_size": test_size,
            "seed": seed,
            "max_rows": max_rows,
            "table": table,
            "estimator": "sklearn LogisticRegression(max_iter=1000), standardised inputs",
        },
        source=src.to_dict(),
        notes=notes,
        elapsed_seconds=time.perf_counter() - started,
        model=mitigator,
    )
