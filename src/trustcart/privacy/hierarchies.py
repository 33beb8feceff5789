"""Generalization hierarchies: how a quasi-identifier's values become coarser but still true.

Why hierarchies: anonymizing by generalization must release values that remain *true* for each
record (``1234*`` contains 12345) and that people can read. Each hierarchy does three things:

* ``fit(values)`` learns the column's domain and gives Mondrian an ordinal code per value
  (numbers and dates by value; zip codes and categories by their position in a depth-first
  order of the hierarchy, so that values under one ancestor are contiguous);
* ``label(codes)`` names the smallest node of the hierarchy that covers a group of values, with
  its normalized certainty penalty (NCP: 0 for an exact value, 1 for the whole domain);
* ``generalize(value, level)`` applies one fixed level to one value (full-domain recoding).

The depth-first order matters: the lowest common ancestor of a set of leaves is the lowest
common ancestor of the first and last leaf in that order, so a label needs only min and max.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trustcart.errors import ValidationError

FloatArray = npt.NDArray[np.float64]
SUPPRESSED = "*"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class Fitted(ABC):
    """A hierarchy fitted to one column: codes for Mondrian and labels for groups of codes."""

    codes: FloatArray  # one per row, NaN for NULL

    def label(self, codes: FloatArray) -> tuple[str | None, float]:
        """Label and NCP of a group of rows given their codes (NULLs handled here).

        A group of NULLs stays NULL (it reveals nothing); NULLs mixed with values become ``*``.
        """
        present = codes[~np.isnan(codes)]
        if present.size == 0:
            return None, 0.0
        if present.size < codes.size:
            return SUPPRESSED, 1.0
        return self._label(present)

    @abstractmethod
    def _label(self, codes: FloatArray) -> tuple[str, float]: ...


class Hierarchy(ABC):
    """A way to generalize one kind of value."""

    name: str = "hierarchy"

    @abstractmethod
    def fit(self, values: Sequence[Any]) -> Fitted:
        """Learn the domain of ``values`` (``None`` is NULL)."""

    @abstractmethod
    def generalize(self, value: Any, level: int) -> str | None:
        """``value`` at generalization ``level`` (0 = unchanged, beyond the top = ``*``)."""


# --- numbers and ages: intervals -------------------------------------------------------------


@dataclass(frozen=True)
class IntervalHierarchy(Hierarchy):
    """Numbers as intervals. ``widths`` are the band widths of levels 1, 2, …

    With ``widths=()`` a group is labelled by its exact range ``lo-hi``; otherwise the range is
    widened outward to multiples of the first width (ages 23..31 with width 5 → ``20-34``), so
    released bands line up with the ones people expect.
    """

    widths: tuple[float, ...] = ()
    name: str = "interval"

    def fit(self, values: Sequence[Any]) -> Fitted:
        codes = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        return _FittedInterval(codes, self.widths[0] if self.widths else None)

    def generalize(self, value: Any, level: int) -> str | None:
        if value is None:
            return None
        if level <= 0:
            return _num(float(value))
        if level > len(self.widths):
            return SUPPRESSED
        w = self.widths[level - 1]
        lo = math.floor(float(value) / w) * w
        return f"{_num(lo)}-{_num(lo + w - 1 if float(w).is_integer() else lo + w)}"


class _FittedInterval(Fitted):
    def __init__(self, codes: FloatArray, width: float | None) -> None:
        self.codes = codes
        self.width = width
        present = codes[~np.isnan(codes)]
        self.span = float(present.max() - present.min()) if present.size else 0.0

    def _label(self, codes: FloatArray) -> tuple[str, float]:
        lo, hi = float(codes.min()), float(codes.max())
        if self.width is not None:
            w = self.width
            lo = math.floor(lo / w) * w
            hi = math.floor(hi / w) * w + (w - 1 if float(w).is_integer() else w)
        if lo == hi:
            return _num(lo), 0.0
        ncp = min(1.0, (hi - lo) / self.span) if self.span > 0 else 1.0
        return f"{_num(lo)}-{_num(hi)}", ncp


def age_hierarchy(widths: tuple[int, ...] = (5, 10, 20, 40)) -> IntervalHierarchy:
    """Ages in bands of 5, 10, 20, 40 years (level 1, 2, 3, 4)."""
    return IntervalHierarchy(widths=tuple(float(w) for w in widths), name="age")


# --- zip codes: prefix truncation ------------------------------------------------------------


class ZipHierarchy(Hierarchy):
    """Postal codes generalized by hiding trailing digits: ``12345 → 1234* → 123** …``.

    Values are compared as strings, so keep leading zeros by storing zip codes as text.
    """

    name = "zip"

    def fit(self, values: Sequence[Any]) -> Fitted:
        text = [None if v is None else str(v) for v in values]
        domain = sorted({v for v in text if v is not None})
        rank = {v: i for i, v in enumerate(domain)}
        codes = np.array([np.nan if v is None else rank[v] for v in text], dtype=np.float64)
        return _FittedZip(codes, domain)

    def generalize(self, value: Any, level: int) -> str | None:
        if value is None:
            return None
        text = str(value)
        level = max(0, min(level, len(text)))
        return text[: len(text) - level] + SUPPRESSED * level


class _FittedZip(Fitted):
    def __init__(self, codes: FloatArray, domain: list[str]) -> None:
        self.codes = codes
        self.domain = domain

    def _label(self, codes: FloatArray) -> tuple[str, float]:
        first, last = self.domain[int(codes.min())], self.domain[int(codes.max())]
        if first == last:
            return first, 0.0
        prefix = _common_prefix(first, last)
        width = max(len(first), len(last))
        covered = bisect.bisect_left(self.domain, prefix + "\U0010ffff") - bisect.bisect_left(
            self.domain, prefix
        )
        ncp = (covered - 1) / (len(self.domain) - 1)
        return prefix + SUPPRESSED * (width - len(prefix)), ncp


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


# --- dates: day → month → year ---------------------------------------------------------------


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return _as_date(value.astype("datetime64[D]").item())
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    raise ValidationError(f"{value!r} is not a date; the date hierarchy needs dates")


class DateHierarchy(Hierarchy):
    """Dates generalized to their month, then their year (then ``*``)."""

    name = "date"

    def fit(self, values: Sequence[Any]) -> Fitted:
        codes = np.array(
            [np.nan if v is None else float(_as_date(v).toordinal()) for v in values],
            dtype=np.float64,
        )
        return _FittedDate(codes)

    def generalize(self, value: Any, level: int) -> str | None:
        if value is None:
            return None
        d = _as_date(value)
        return [d.isoformat(), f"{d.year:04d}-{d.month:02d}", f"{d.year:04d}", SUPPRESSED][
            max(0, min(level, 3))
        ]


class _FittedDate(Fitted):
    def __init__(self, codes: FloatArray) -> None:
        self.codes = codes
        present = codes[~np.isnan(codes)]
        self.span = float(present.max() - present.min()) if present.size else 0.0

    def _label(self, codes: FloatArray) -> tuple[str, float]:
        a = dt.date.fromordinal(int(codes.min()))
        b = dt.date.fromordinal(int(codes.max()))
        if a == b:
            return a.isoformat(), 0.0
        if (a.year, a.month) == (b.year, b.month):
            start = a.replace(day=1)
            end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            label = f"{a.year:04d}-{a.month:02d}"
        else:
            start, end = dt.date(a.year, 1, 1), dt.date(b.year, 12, 31)
            label = f"{a.year:04d}" if a.year == b.year else f"{a.year:04d}-{b.year:04d}"
        covered = (end - start).days
        ncp = min(1.0, covered / self.span) if self.span > 0 else 1.0
        return label, ncp


# --- categories: a user-supplied tree -------------------------------------------------------


class CategoricalHierarchy(Hierarchy):
    """Categories generalized along a user-supplied tree.

    ``mapping`` gives each value its ancestors from the most specific to the most general,
    e.g. ``{"Lyon": ["Auvergne-Rhône-Alpes", "France"], "Nice": ["PACA", "France"]}``; a bare
    string is a single parent. Values missing from the mapping sit directly under ``*``. With no
    mapping at all, a group of several values is released as the set ``{a|b}``.
    """

    name = "categorical"

    def __init__(self, mapping: Mapping[str, str | Sequence[str]] | None = None) -> None:
        self.mapping: dict[str, tuple[str, ...]] | None = (
            None
            if mapping is None
            else {
                str(k): (v,) if isinstance(v, str) else tuple(str(a) for a in v)
                for k, v in mapping.items()
            }
        )

    def ancestors(self, value: str) -> tuple[str, ...]:
        """Ancestors of ``value`` from specific to general (``*`` excluded)."""
        return (self.mapping or {}).get(value, ())

    def fit(self, values: Sequence[Any]) -> Fitted:
        text = [None if v is None else str(v) for v in values]
        present = {v for v in text if v is not None}
        # Depth-first order: sort by the path from the root, then the value itself.
        domain = sorted(present, key=lambda v: (tuple(reversed(self.ancestors(v))), v))
        rank = {v: i for i, v in enumerate(domain)}
        codes = np.array([np.nan if v is None else rank[v] for v in text], dtype=np.float64)
        return _FittedCategorical(codes, domain, self)

    def generalize(self, value: Any, level: int) -> str | None:
        if value is None:
            return None
        if level <= 0:
            return str(value)
        path = self.ancestors(str(value))
        return path[level - 1] if level <= len(path) else SUPPRESSED


class _FittedCategorical(Fitted):
    def __init__(self, codes: FloatArray, domain: list[str], h: CategoricalHierarchy) -> None:
        self.codes = codes
        self.domain = domain
        self.h = h
        self.under: dict[str, int] = {}
        for v in domain:
            for a in h.ancestors(v):
                self.under[a] = self.under.get(a, 0) + 1

    def _ncp(self, covered: int) -> float:
        return (covered - 1) / (len(self.domain) - 1) if len(self.domain) > 1 else 0.0

    def _label(self, codes: FloatArray) -> tuple[str, float]:
        if self.h.mapping is None:
            values = sorted(self.domain[int(c)] for c in np.unique(codes))
            if len(values) == 1:
                return values[0], 0.0
            return "{" + "|".join(values) + "}", self._ncp(len(values))
        first, last = self.domain[int(codes.min())], self.domain[int(codes.max())]
        if first == last:
            return first, 0.0
        mine = set(self.h.ancestors(last))
        common = next((a for a in self.h.ancestors(first) if a in mine), None)
        if common is None:
            return SUPPRESSED, 1.0
        return common, self._ncp(self.under[common])


def hierarchy_from_name(spec: str) -> Hierarchy:
    """A hierarchy from its CLI name: ``zip``, ``age`` (or ``age:10``), ``date``,
    ``interval`` (or ``interval:100``), ``categorical``.
    """
    name, _, arg = spec.partition(":")
    name = name.strip().lower()
    try:
        width = float(arg) if arg else None
    except ValueError:
        raise ValidationError(f"hierarchy {spec!r}: {arg!r} is not a number") from None
    if width is not None and width <= 0:
        raise ValidationError(f"hierarchy {spec!r}: the width must be positive")
    if name == "zip":
        return ZipHierarchy()
    if name == "date":
        return DateHierarchy()
    if name == "age":
        return age_hierarchy((int(width),) if width else (5, 10, 20, 40))
    if name == "interval":
        return IntervalHierarchy(widths=(width,) if width else ())
    if name in ("categorical", "set"):
        return CategoricalHierarchy()
    raise ValidationError(
        f"unknown hierarchy {spec!r}; use zip, age[:WIDTH], date, interval[:WIDTH] or categorical"
    )
