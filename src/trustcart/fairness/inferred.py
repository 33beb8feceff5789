"""Audits without collecting demographics: probability-weighted group metrics (BISG-style).

Data minimisation means many shops hold no ethnicity, yet must know whether their prices or
offers differ by it. Public statistics often give, per geography (zip code, census tract), the
share of each group among residents. Each person then has a *probability* of belonging to each
group, p_ig = share(geo_i, g), and group metrics are estimated from those probabilities — the
geography half of Bayesian Improved Surname Geocoding (BISG, Elliott et al. 2009), without
surnames, which TrustCart does not ask for.

Two estimators, both computed from one pass of sums in the engine (plus one for the regression
residuals), never from rows in Python:

- ``regression`` (default): μ = (PᵀP)⁻¹Pᵀy, the least-squares fit of y on the probabilities
  without intercept. Unbiased when the outcome depends on geography only through group
  membership (the conditional-independence assumption any BISG analysis needs), with wider
  intervals; needs geographies whose mixes differ, and may leave [0, 1] for rates when data are
  few.
- ``weighted``: μ_g = Σ p_ig·y_i / Σ p_ig, the probability-weighted mean common in
  fair-lending practice. Always in range, but biased **towards no disparity** unless groups are
  fully segregated — a person's weight spreads over every group living in their area — so on
  its own it misses real disparities (on the test's synthetic data a true ratio of 0.60 reads
  as 0.86). Reported beside the default in every group.

Uncertainty: sandwich (linearisation / HC0) standard errors, including the covariance between
groups (every row contributes to every group), so differences between groups have correct
standard errors; 95% normal intervals; each group vs the most favoured one by a z-test,
Holm-corrected. They cover sampling noise only — not error in the share table, nor a violated
assumption.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from trustcart.errors import NotFound, ValidationError
from trustcart.fairness import stats
from trustcart.fairness._spec import check_columns, check_numeric, not_missing
from trustcart.fairness.findings import FOUR_FIFTHS_RULE, TRUSTCART_DEFAULT, Finding, Thresholds
from trustcart.fairness.result import AuditResult, Cell
from trustcart.fairness.sources import Source, open_source, sha256_file

ESTIMATORS: tuple[str, ...] = ("weighted", "regression")
#: Key of the inferred group in each result row (``{"inferred_group": "b"}``).
INFERRED = "inferred_group"
#: A row of shares may sum to 1 ± this (rounding in published tables); it is then rescaled.
SUM_TOLERANCE = 0.02


@dataclass(frozen=True)
class GroupShares:
    """A geography → group-share table: per geography key, one share per group."""

    key: str  # column name of the geography key in the file
    groups: tuple[str, ...]
    geos: tuple[str, ...]
    shares: np.ndarray  # len(geos) × len(groups), rows sum to 1
    description: str = "group shares"
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What is stored with the audit: where the shares came from."""
        return {
            "description": self.description,
            "sha256": self.sha256,
            "key": self.key,
            "groups": list(self.groups),
            "geographies": len(self.geos),
        }


def group_shares_from_frame(
    frame: pd.DataFrame, key: str | None = None, description: str = "group shares"
) -> GroupShares:
    """Validate a wide table: a key column, then one column of shares (0–1) per group."""
    if frame.shape[1] < 3:
        raise ValidationError(
            "a group-share table needs a geography column and at least two group columns"
        )
    key = key if key is not None and key in frame.columns else str(frame.columns[0])
    groups = [str(c) for c in frame.columns if c != key]
    geos = frame[key].astype(str).str.strip()
    dup = geos[geos.duplicated()]
    if len(dup):
        raise ValidationError(f"geography {dup.iloc[0]!r} appears twice in the share table")
    try:
        values = frame[groups].astype(float).to_numpy()
    except (TypeError, ValueError):
        raise ValidationError("group shares must be numbers between 0 and 1") from None
    if np.isnan(values).any():
        row = int(np.argwhere(np.isnan(values))[0][0])
        raise ValidationError(f"geography {geos.iloc[row]!r} has a missing share")
    if (values < 0).any() or (values > 1).any():
        raise ValidationError("group shares must be between 0 and 1 (not percentages)")
    sums = values.sum(axis=1)
    bad = np.abs(sums - 1) > SUM_TOLERANCE
    if bad.any():
        row = int(np.argmax(bad))
        raise ValidationError(
            f"the shares of geography {geos.iloc[row]!r} sum to {sums[row]:.3f}, not 1"
            + " (add a column for the remaining groups, e.g. 'other')"
        )
    return GroupShares(
        key=key,
        groups=tuple(groups),
        geos=tuple(geos),
        shares=values / sums[:, None],
        description=description,
    )


def load_group_shares(path: str | os.PathLike[str], key: str | None = None) -> GroupShares:
    """Read a CSV share table (geography key column read as text, so zip 02134 stays 02134)."""
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"group-share file {p} does not exist")
    try:
        head = pd.read_csv(p, nrows=0)
        key_col = key if key is not None and key in head.columns else str(head.columns[0])
        frame = pd.read_csv(p, dtype={key_col: str})
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValidationError(f"cannot read group shares {p}: {exc}") from None
    shares = group_shares_from_frame(frame, key_col, str(p))
    return GroupShares(**{**shares.__dict__, "sha256": sha256_file(p)})


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(g, h) for g in range(k) for h in range(g, k)]


def _sym(row: dict[str, Any], name: str, k: int) -> np.ndarray:
    m = np.zeros((k, k))
    for g, h in _pairs(k):
        m[g, h] = m[h, g] = float(row[f"{name}_{g}_{h}"] or 0.0)
    return m


def weighted_audit(
    source: str | os.PathLike[str] | ir.Table | Source,
    outcome: str,
    shares: GroupShares | str | os.PathLike[str],
    geo: str,
    kind: str = "binary",
    *,
    estimator: str = "regression",
    table: str | None = None,
    min_group_size: int = 10,
    favourable: str = "higher",
    thresholds: Thresholds | None = None,
) -> AuditResult:
    """Group metrics of ``outcome`` by groups inferred from ``geo`` through ``shares``.

    ``kind`` is ``binary`` (selection rates) or ``continuous`` (means). Rows whose geography is
    NULL or not in the share table are excluded and counted. A group whose expected size
    (Σ p_ig) is below ``min_group_size`` is suppressed. Returns an :class:`AuditResult` whose
    groups are ``{"inferred_group": name}``, with both estimators per group and the summary,
    tests and findings from ``estimator``.
    """
    started = time.perf_counter()
    th = thresholds or Thresholds()
    if kind not in ("binary", "continuous"):
        raise ValidationError(
            f"weighted (group-share) audits support kinds binary and continuous, not {kind!r}"
        )
    if estimator not in ESTIMATORS:
        raise ValidationError(
            f"unknown estimator {estimator!r}; use one of: {', '.join(ESTIMATORS)}"
        )
    if favourable not in ("higher", "lower"):
        raise ValidationError(f"favourable must be 'higher' or 'lower', not {favourable!r}")
    gs = shares if isinstance(shares, GroupShares) else load_group_shares(shares, geo)
    src = source if isinstance(source, Source) else open_source(source, table=table)
    t = src.table
    check_columns(t, [("--geo", geo), ("--outcome", outcome)])
    check_numeric(t, "--outcome", outcome, kind)
    k = len(gs.groups)
    cols = [f"_tc_p{g}" for g in range(k)]
    m = ibis.memtable(
        pa.table({"_tc_geo": list(gs.geos), **{c: gs.shares[:, g] for g, c in enumerate(cols)}})
    )
    total = int(t.count().execute())
    if total == 0:
        raise ValidationError(f"source {src.description} is empty: there are no rows to audit")
    j = t.inner_join(m, t[geo].cast("string").strip() == m._tc_geo)
    yv = j[outcome]
    y = yv.ifelse(1.0, 0.0) if yv.type().is_boolean() else yv.cast("float64")
    j = j.filter(not_missing(j[outcome])).mutate(_tc_y=y)
    y = j._tc_y
    p = [j[c] for c in cols]
    aggs: dict[str, Any] = {"_tc_n": j.count(), "_tc_bad": (y * (y - 1.0)).abs().sum()}
    for g in range(k):
        aggs |= {f"b_{g}": p[g].sum(), f"a_{g}": (p[g] * y).sum()}
    for g, h in _pairs(k):
        pp = p[g] * p[h]
        aggs |= {
            f"s0_{g}_{h}": pp.sum(),
            f"s1_{g}_{h}": (pp * y).sum(),
            f"s2_{g}_{h}": (pp * y * y).sum(),
        }
    row = j.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    n = int(row["_tc_n"])
    matched = int(t.inner_join(m, t[geo].cast("string").strip() == m._tc_geo).count().execute())
    if n == 0:
        raise ValidationError(
            f"no usable row: of {total} rows, {matched} have a geography in the share table "
            f"({gs.description}), none with a value in {outcome!r}"
        )
    if kind == "binary" and float(row["_tc_bad"] or 0) > 0:
        raise ValidationError(
            f"column {outcome!r} has rows with a value other than 0/1 (binary audits need "
            "0/1 or booleans)"
        )
    b = np.array([float(row[f"b_{g}"] or 0.0) for g in range(k)])
    a = np.array([float(row[f"a_{g}"] or 0.0) for g in range(k)])
    s0, s1, s2 = _sym(row, "s0", k), _sym(row, "s1", k), _sym(row, "s2", k)

    # weighted estimator and its sandwich covariance
    with np.errstate(divide="ignore", invalid="ignore"):
        mu_w = np.where(b > 0, a / b, np.nan)
    mw = np.nan_to_num(mu_w)
    cov_w = (s2 - np.add.outer(mw, mw) * s1 + np.outer(mw, mw) * s0) / np.outer(b, b)

    # regression estimator: β = (PᵀP)⁻¹Pᵀy, HC0 covariance from a second pass of residuals
    notes: list[str] = []
    try:
        inv = np.linalg.inv(s0)
        cond = np.linalg.cond(s0)
    except np.linalg.LinAlgError:
        inv, cond = np.linalg.pinv(s0), math.inf
    if not math.isfinite(cond) or cond > 1e10:
        notes.append(
            "the regression estimator is unreliable: the group shares are (nearly) collinear "
            "across the geographies present"
        )
    beta = inv @ a
    e = y - sum(float(beta[g]) * p[g] for g in range(k))
    meat_row = (
        j.aggregate(**{f"m_{g}_{h}": (e * e * p[g] * p[h]).sum() for g, h in _pairs(k)})
        .to_pyarrow()
        .to_pylist()[0]
    )
    cov_r = inv @ _sym(meat_row, "m", k) @ inv

    est, cov = (mu_w, cov_w) if estimator == "weighted" else (beta, cov_r)
    z = stats._z(stats.CONFIDENCE)
    head = "selection_rate" if kind == "binary" else "mean"
    cells: list[Cell] = []
    for g, name in enumerate(gs.groups):
        se_w = math.sqrt(max(cov_w[g, g], 0.0))
        se_r = math.sqrt(max(cov_r[g, g], 0.0))
        # Σ p_ig can sit on .5: engines sum in different orders, so round off the last bits
        # first, or DuckDB and Spark would report counts one apart.
        size = round(round(float(b[g]), 6))
        c = Cell(group={INFERRED: name}, rows=size, count=size, aggregates={})
        c.suppressed = b[g] < max(1, min_group_size)
        c.metrics = {
            "effective_count": float(b[g]),
            head: float(est[g]),
            f"{head}_ci": _ci(float(est[g]), math.sqrt(max(cov[g, g], 0.0)), z, kind),
            f"{head}_weighted": float(mu_w[g]),
            f"{head}_weighted_ci": _ci(float(mu_w[g]), se_w, z, kind),
            f"{head}_regression": float(beta[g]),
            f"{head}_regression_ci": _ci(float(beta[g]), se_r, z, kind),
            "standard_error": math.sqrt(max(cov[g, g], 0.0)),
        }
        cells.append(c)
    reported = [i for i, c in enumerate(cells) if not c.suppressed]
    metrics: dict[str, Any] = {"estimator": estimator}
    findings: list[Finding] = []
    if len(reported) >= 2:
        metrics, findings = _compare(cells, reported, est, cov, kind, favourable, th, head)
        metrics = {"estimator": estimator, **metrics}
    else:
        notes.append("fewer than two groups large enough to compare: no disparity metrics")
    suppressed = len(cells) - len(reported)
    if suppressed:
        notes.append(
            f"{suppressed} group(s) with an expected size below {max(1, min_group_size)} suppressed"
        )
    if total - matched:
        notes.append(
            f"{total - matched} row(s) with a NULL geography or one missing from the share "
            "table excluded"
        )
    if matched - n:
        notes.append(f"{matched - n} row(s) excluded for NULL/NaN values")
    notes.append(
        "groups are inferred from geography: estimates assume the outcome depends on "
        "geography only through group membership; intervals cover sampling noise only"
    )
    metrics |= {
        "groups": len(cells),
        "groups_reported": len(reported),
        "groups_suppressed": suppressed,
        "rows_matched": matched,
    }
    findings.sort(key=lambda f: (f.severity != "high", f.p_value_holm))
    return AuditResult(
        kind=kind,
        rows=total,
        excluded=total - n,
        groups=cells,
        metrics=metrics,
        findings=findings,
        parameters={
            "groups": [INFERRED],
            "outcome": outcome,
            "kind": kind,
            "method": "group-share weighting (BISG-style, geography only)",
            "geo": geo,
            "group_shares": gs.to_dict(),
            "estimator": estimator,
            "min_group_size": min_group_size,
            "favourable": favourable,
            "table": table,
            "thresholds": th.to_dict(),
        },
        source=src.to_dict(),
        notes=notes,
        elapsed_seconds=time.perf_counter() - started,
    )


def _ci(value: float, se: float, z: float, kind: str) -> tuple[float, float] | None:
    if not math.isfinite(value) or not math.isfinite(se):
        return None
    lo, hi = value - z * se, value + z * se
    return (max(0.0, lo), min(1.0, hi)) if kind == "binary" else (lo, hi)


def _compare(
    cells: list[Cell],
    reported: list[int],
    est: np.ndarray,
    cov: np.ndarray,
    kind: str,
    favourable: str,
    th: Thresholds,
    head: str,
) -> tuple[dict[str, Any], list[Finding]]:
    """Summary metrics, and each group vs the most favoured by a z-test with Holm."""
    from scipy import stats as _st

    vals = {i: float(est[i]) for i in reported}
    pick = min if (kind == "continuous" and favourable == "lower") else max
    ref = pick(reported, key=lambda i: vals[i])
    hi, lo = max(vals.values()), min(vals.values())
    metrics: dict[str, Any] = {"reference_group": cells[ref].group}
    if kind == "binary":
        metrics |= {
            "demographic_parity_difference": hi - lo,
            "demographic_parity_ratio": lo / hi if hi > 0 and lo >= 0 else None,
            "disparate_impact_ratio": lo / vals[ref] if vals[ref] > 0 and lo >= 0 else None,
        }
    else:
        metrics |= {"mean_difference": hi - lo, "mean_ratio": lo / hi if lo > 0 else None}
    others = [i for i in reported if i != ref]
    tests = []
    for i in others:
        diff = vals[i] - vals[ref]
        var = cov[i, i] + cov[ref, ref] - 2 * cov[i, ref]
        se = math.sqrt(var) if var > 0 else 0.0
        p = float(2 * _st.norm.sf(abs(diff) / se)) if se > 0 else (1.0 if diff == 0 else 0.0)
        tests.append((i, diff, se, p))
    holm = stats.holm([t[3] for t in tests])
    z = stats._z(stats.CONFIDENCE)
    findings: list[Finding] = []
    rv = vals[ref]
    for (i, diff, se, p), ph in zip(tests, holm, strict=True):
        c = cells[i]
        v = vals[i]
        ratio = min(v, rv) / max(v, rv) if min(v, rv) > 0 else None
        c.metrics |= {
            f"{head}_difference": diff,
            f"{head}_difference_ci": (diff - z * se, diff + z * se) if se > 0 else None,
            "p_value": p,
            "p_value_holm": ph,
            "disparate_impact_ratio" if kind == "binary" else "mean_ratio": ratio,
        }
        if ratio is None or ph >= th.alpha:
            continue
        if kind == "binary" and ratio < th.four_fifths:
            rule, severity, metric, threshold = (
                FOUR_FIFTHS_RULE,
                "high",
                "disparate_impact_ratio",
                th.four_fifths,
            )
        elif kind == "continuous" and ratio < th.mean_ratio:
            rule = f"{TRUSTCART_DEFAULT}: mean_ratio < {th.mean_ratio}"
            severity, metric, threshold = "medium", "mean_ratio", th.mean_ratio
        else:
            continue
        findings.append(
            Finding(
                severity=severity,
                message=(
                    f"estimated {head.replace('_', ' ')} of inferred group {c.group[INFERRED]} "
                    f"is {v:.3g} vs {rv:.3g} for {cells[ref].group[INFERRED]} ({metric} "
                    f"{ratio:.2f}, Holm-adjusted p={ph:.2g}; groups inferred from geography)"
                ),
                rule=rule,
                metric=metric,
                group=c.group,
                reference_group=cells[ref].group,
                value=ratio,
                threshold=threshold,
                p_value=p,
                p_value_holm=ph,
                advice=(
                    "estimated from area-level group shares, not from people's own "
                    "attributes: confirm with a second method (another estimator, a survey "
                    "sample) before acting; check which features drive the gap"
                ),
            )
        )
    return metrics, findings
