"""Segment audits of campaign and offer audiences: who is in, who is out, by group.

Why an audience is audited like a decision: choosing who receives a campaign, a credit offer or
a discount *is* a selection, so a group's share of people included is its selection rate and
the four-fifths rule applies (29 CFR 1607.4(D): a rate below 80% of the best group's is
evidence of adverse impact — a rule of thumb, not proof). The audit adds one 0/1 column,
"in the audience", to the population and runs the ordinary binary audit of
:mod:`trustcart.fairness.engine` on it — same GROUP BY in the data's engine, same intervals,
tests and suppression of small groups; no new arithmetic here beyond the in/out split.

The audience is either a list of subject ids (given, or a ``.txt``/``.csv``/``.parquet`` file)
joined to the population's id column in the engine, or a SQL predicate over the population
(``where="basket_total > 100 AND newsletter"``). Vulnerable-segment flag columns
(``vulnerable=["is_minor"]``) report how many flagged people the audience holds: the gateway
blocks credit and high-pressure offers for them at decision time (EU AI Act Art. 5(1)(b)).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from trustcart.errors import NotFound, ValidationError
from trustcart.fairness.engine import DEFAULT_MIN_GROUP_SIZE, audit
from trustcart.fairness.findings import FOUR_FIFTHS_RULE, Thresholds
from trustcart.fairness.result import AuditResult
from trustcart.fairness.sources import Source, open_source

IN_COLUMN = "_tc_in_audience"
VULNERABLE_RULE = "EU AI Act Art. 5(1)(b)"


@dataclass(frozen=True)
class AudienceGroup:
    """One group of the population: how many are in and out of the audience."""

    group: dict[str, Any]
    population: int
    included: int | None  # None when suppressed (fewer than min_group_size people)
    selection_rate: float | None
    ratio_to_best: float | None
    passes_four_fifths: bool | None

    @property
    def excluded(self) -> int | None:
        """People of the group left out of the audience."""
        return None if self.included is None else self.population - self.included

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "group": self.group,
            "population": self.population,
            "included": self.included,
            "excluded": self.excluded,
            "selection_rate": self.selection_rate,
            "ratio_to_best": self.ratio_to_best,
            "passes_four_fifths": self.passes_four_fifths,
        }


@dataclass(frozen=True)
class AudienceAudit:
    """The segment audit: per-group in/out, the four-fifths verdict, vulnerable members, and
    the underlying binary audit (intervals, significance tests, findings)."""

    population: int
    audience: int
    groups: list[AudienceGroup]
    four_fifths: float
    excluded_groups: list[dict[str, Any]]  # groups below four-fifths of the best group's rate
    vulnerable: dict[str, int]  # flag column -> flagged people in the audience
    result: AuditResult
    notes: list[str] = field(default_factory=list)

    @property
    def passes(self) -> bool:
        """No group below four-fifths and no vulnerable person in the audience."""
        return not self.excluded_groups and not any(self.vulnerable.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON view (``trustcart audience audit --format json``)."""
        return {
            "population": self.population,
            "audience": self.audience,
            "rule": FOUR_FIFTHS_RULE,
            "four_fifths": self.four_fifths,
            "passes": self.passes,
            "groups": [g.to_dict() for g in self.groups],
            "excluded_groups": self.excluded_groups,
            "vulnerable": self.vulnerable,
            "vulnerable_rule": VULNERABLE_RULE,
            "audit": self.result.to_dict(),
            "notes": self.notes,
        }


def read_ids(path: str | os.PathLike[str], column: str | None = None) -> list[str]:
    """Subject ids from a file: ``.txt`` one per line, ``.csv``/``.parquet`` one column
    (``column``, or the only column)."""
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"no audience file {str(p)!r}")
    if p.suffix.lower() == ".txt":
        return [line.strip() for line in p.read_text().splitlines() if line.strip()]
    src = open_source(p)
    cols = list(src.table.columns)
    if column is None:
        if len(cols) != 1:
            raise ValidationError(
                f"{p.name} has columns {', '.join(cols)}: name the id column (--audience-column)"
            )
        column = cols[0]
    if column not in cols:
        raise ValidationError(f"{p.name} has no column {column!r}; it has {', '.join(cols)}")
    values = src.table[column].cast("string").to_pyarrow().to_pylist()
    return [str(v) for v in values if v is not None]


def _check_predicate(where: str) -> None:
    """The audience predicate must be one boolean expression over the population's columns:
    no statement, no sub-query (it runs in the data's own engine, with the caller's rights,
    so this guards against mistakes rather than against the operator)."""
    import sqlglot
    from sqlglot import expressions as exp

    try:
        tree = sqlglot.parse_one(where)
    except sqlglot.errors.ParseError as exc:
        raise ValidationError(f"--where {where!r} is not a SQL predicate: {exc}") from None
    statements = (exp.Query, exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Create)
    if ";" in where or isinstance(tree, exp.Command) or tree.find(*statements) is not None:
        raise ValidationError(
            '--where is one predicate over the population\'s columns (e.g. "spend > 100"), '
            "without statements or sub-queries"
        )


def _with_membership(
    t: ir.Table, id_column: str | None, ids: Sequence[str] | None, where: str | None
) -> ir.Table:
    if (ids is None) == (where is None):
        raise ValidationError(
            "define the audience once: a list of ids (--audience FILE) or a predicate (--where)"
        )
    if where is not None:
        _check_predicate(where)
        named = t.alias("population")
        # an operator's predicate (CLI / library, never an HTTP input), checked above
        query = f"SELECT *, CASE WHEN ({where}) THEN 1 ELSE 0 END AS {IN_COLUMN} FROM population"  # noqa: S608
        try:
            return named.sql(query)
        except Exception as exc:  # the engine's own error names the problem
            raise ValidationError(f"cannot evaluate --where {where!r}: {exc}") from None
    if id_column is None:
        raise ValidationError("name the population's id column (--id COLUMN)")
    if id_column not in t.columns:
        raise ValidationError(
            f"the population has no column {id_column!r}; it has {', '.join(t.columns)}"
        )
    members = ibis.memtable({"_tc_id": list(dict.fromkeys(ids or []))}, schema={"_tc_id": "string"})
    return t.mutate(**{IN_COLUMN: t[id_column].cast("string").isin(members["_tc_id"]).ifelse(1, 0)})


def audit_audience(
    population: str | os.PathLike[str] | ir.Table | Source,
    groups: Sequence[str],
    *,
    ids: Iterable[str] | None = None,
    where: str | None = None,
    id_column: str | None = None,
    table: str | None = None,
    vulnerable: Sequence[str] = (),
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    thresholds: Thresholds | None = None,
) -> AudienceAudit:
    """Audit who an audience includes and excludes across ``groups`` of ``population``.

    The four-fifths verdict per group is the plain rule (rate / best rate < ``four_fifths``);
    the binary audit's findings add significance (Holm-adjusted z-tests), so a small group
    can fail the rule without a finding — both are reported.
    """
    src = population if isinstance(population, Source) else open_source(population, table=table)
    if not groups:
        raise ValidationError("name at least one group column (--group COL)")
    missing = [c for c in [*groups, *vulnerable] if c not in src.table.columns]
    if missing:
        raise ValidationError(
            f"the population has no column(s) {', '.join(map(repr, missing))}; it has "
            + ", ".join(src.table.columns)
        )
    t = _with_membership(src.table, id_column, None if ids is None else list(ids), where)
    th = thresholds or Thresholds()
    result = audit(
        src.with_table(t),
        groups,
        IN_COLUMN,
        "binary",
        min_group_size=min_group_size,
        thresholds=th,
    )
    best = max(
        (c.metrics["selection_rate"] for c in result.groups if not c.suppressed), default=0.0
    )
    rows: list[AudienceGroup] = []
    excluded: list[dict[str, Any]] = []
    for c in result.groups:
        if c.suppressed:
            rows.append(AudienceGroup(c.group, c.rows, None, None, None, None))
            continue
        rate = float(c.metrics["selection_rate"])
        ratio = rate / best if best > 0 else None
        ok = None if ratio is None else ratio >= th.four_fifths
        rows.append(AudienceGroup(c.group, c.rows, int(c.metrics["positives"]), rate, ratio, ok))
        if ok is False:
            excluded.append({"group": c.group, "selection_rate": rate, "ratio_to_best": ratio})
    flagged: dict[str, int] = {}
    if vulnerable:
        aggs = {
            col: t.filter(t[IN_COLUMN] == 1)[col].cast("boolean").fill_null(False).sum()
            for col in vulnerable
        }
        counts = t.filter(t[IN_COLUMN] == 1).aggregate(**aggs).to_pyarrow().to_pylist()[0]
        flagged = {col: int(counts[col] or 0) for col in vulnerable}
    notes = list(result.notes)
    for col, n in flagged.items():
        if n:
            notes.append(
                f"{n} person(s) flagged {col!r} are in the audience: the gateway blocks credit "
                f"and high-pressure offers for them ({VULNERABLE_RULE}); remove them from it"
            )
    audience = int(t[IN_COLUMN].sum().to_pyarrow().as_py() or 0)
    return AudienceAudit(
        population=result.rows,
        audience=audience,
        groups=rows,
        four_fifths=th.four_fifths,
        excluded_groups=excluded,
        vulnerable=flagged,
        result=result,
        notes=notes,
    )
