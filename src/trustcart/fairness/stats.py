"""Small-sample statistics on per-group aggregates: Wilson, t / Welch, z-test, Holm.

Why here and not in the engine: the engine returns only counts, sums and variances per group,
so every interval and test below is a closed form over those aggregates — no per-row data
leaves the database. Each function matches a reference implementation (statsmodels / scipy) and
the tests compare them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# scipy.special, not scipy.stats: the same functions scipy.stats' ``norm``/``t`` call underneath
# (ndtri = norm.ppf, ndtr(−x) = norm.sf, stdtrit = t.ppf, stdtr(df, −x) = t.sf), without the
# ~1-2 s import of scipy.stats that every one-shot ``trustcart audit`` process would pay.
from scipy import special as _sp

#: Two-sided 95% intervals throughout.
CONFIDENCE = 0.95


def _z(confidence: float) -> float:
    return float(_sp.ndtri(0.5 + confidence / 2))


def wilson_interval(
    successes: int, n: int, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (statsmodels ``proportion_confint(method="wilson")``).

    Why Wilson and not the normal approximation: audit cells are often small or have rates near
    0 or 1, where the Wald interval collapses to zero width or leaves [0, 1].
    """
    if n <= 0:
        return None
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def t_interval(
    mean: float, sd: float, n: int, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Student t interval for one group's mean (``scipy.stats.t.interval``); None when n < 2."""
    if n < 2 or not math.isfinite(sd):
        return None
    half = float(_sp.stdtrit(n - 1, 0.5 + confidence / 2)) * sd / math.sqrt(n)
    return (mean - half, mean + half)


@dataclass(frozen=True)
class TestResult:
    """A two-sample comparison: statistic, two-sided p-value and CI of the difference a − b."""

    statistic: float
    p_value: float
    difference: float
    ci: tuple[float, float] | None


def welch_test(
    mean_a: float,
    sd_a: float,
    n_a: int,
    mean_b: float,
    sd_b: float,
    n_b: int,
    confidence: float = CONFIDENCE,
) -> TestResult | None:
    """Welch's unequal-variance t-test of mean a − mean b from summary statistics.

    Same numbers as ``scipy.stats.ttest_ind(a, b, equal_var=False)`` and its
    ``confidence_interval()``. None when a group has fewer than 2 rows (no variance).
    """
    if n_a < 2 or n_b < 2:
        return None
    va, vb = sd_a * sd_a / n_a, sd_b * sd_b / n_b
    diff = mean_a - mean_b
    se2 = va + vb
    if se2 <= 0:
        # Both groups constant: equal means are identical, different means infinitely certain.
        p = 1.0 if diff == 0 else 0.0
        return TestResult(0.0 if diff == 0 else math.copysign(math.inf, diff), p, diff, None)
    se = math.sqrt(se2)
    denom = va * va / (n_a - 1) + vb * vb / (n_b - 1)
    # Tiny variances (≈ 1e-160 and below) underflow when squared: the Welch–Satterthwaite
    # degrees of freedom then tend to infinity, i.e. the normal limit.
    df = se2 * se2 / denom if denom > 0 else math.inf
    t = diff / se
    p = float(2 * _sp.stdtr(df, -abs(t)))
    half = float(_sp.stdtrit(df, 0.5 + confidence / 2)) * se
    return TestResult(t, p, diff, (diff - half, diff + half))


def two_proportion_ztest(x_a: int, n_a: int, x_b: int, n_b: int) -> TestResult | None:
    """Pooled two-proportion z-test of p_a − p_b (statsmodels ``proportions_ztest``).

    The CI of the difference is the unpooled Wald interval, reported for information.
    """
    if n_a <= 0 or n_b <= 0:
        return None
    pa, pb = x_a / n_a, x_b / n_b
    pooled = (x_a + x_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    diff = pa - pb
    if se == 0:
        return TestResult(0.0, 1.0, diff, None)
    z = diff / se
    p = float(2 * _sp.ndtr(-abs(z)))
    se_u = math.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)
    half = _z(CONFIDENCE) * se_u
    return TestResult(z, p, diff, (diff - half, diff + half))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in input order (statsmodels ``multipletests``).

    Why Holm: an audit compares every group with the most favoured one; with many groups some
    comparison is "significant" by chance. Holm controls the family-wise error rate without
    assuming independence and is uniformly more powerful than plain Bonferroni.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
