"""Re-identification risk of a released table: prosecutor and journalist models.

Why two models (El Emam & Dankar 2008): the *prosecutor* knows their target is in the released
table, so a record in an equivalence class of size ``f`` is re-identified with probability
``1/f``. The *journalist* only knows the target is in some population (e.g. a customer base, a
voter roll) the release was drawn from, so the probability is ``1/F`` with ``F`` the size of the
matching class in the population — never higher than the prosecutor's. Without a population
table the journalist risk cannot be estimated from the sample alone, so it is reported equal to
the prosecutor risk (an upper bound) with a note saying so.

Figures (per record ``r`` in class ``c``): maximum risk ``max 1/f_c`` (= ``1/k``), average risk
``Σ_r 1/f_c / n`` (= classes / rows for the prosecutor), and the records whose risk exceeds a
threshold (``1/f_c > threshold``). Everything derives from the class-size histogram computed in
the engine; with a population, the two tables' class sizes are joined (NULL-safe) in DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from trustcart.errors import ValidationError
from trustcart.privacy.anonymity import (
    SourceLike,
    class_size_histogram,
    open_table,
    require_columns,
)

_N = "__tc_n"


@dataclass(frozen=True)
class RiskReport:
    """Prosecutor and journalist re-identification risk of one table."""

    rows: int
    classes: int
    threshold: float
    prosecutor_max: float
    prosecutor_avg: float
    records_at_risk: int
    journalist_max: float
    journalist_avg: float
    journalist_records_at_risk: int
    journalist_basis: str  # "population" or "sample"
    note: str = ""

    @property
    def share_at_risk(self) -> float:
        """Share of records above the threshold under the prosecutor model."""
        return self.records_at_risk / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rows": self.rows,
            "classes": self.classes,
            "threshold": self.threshold,
            "prosecutor": {
                "max": round(self.prosecutor_max, 6),
                "avg": round(self.prosecutor_avg, 6),
                "records_at_risk": self.records_at_risk,
                "share_at_risk": round(self.share_at_risk, 6),
            },
            "journalist": {
                "max": round(self.journalist_max, 6),
                "avg": round(self.journalist_avg, 6),
                "records_at_risk": self.journalist_records_at_risk,
                "basis": self.journalist_basis,
            },
            "note": self.note,
        }


def prosecutor_risk(hist: dict[int, int], threshold: float) -> tuple[float, float, int]:
    """(max, average, records above ``threshold``) from ``{class size: number of classes}``."""
    rows = sum(f * c for f, c in hist.items())
    classes = sum(hist.values())
    at_risk = sum(f * c for f, c in hist.items() if 1.0 / f > threshold)
    return 1.0 / min(hist), classes / rows, at_risk


def reidentification_risk(
    source: SourceLike,
    quasi_identifiers: Sequence[str],
    *,
    population: SourceLike | None = None,
    threshold: float = 0.2,
    table: str | None = None,
    population_table: str | None = None,
) -> RiskReport:
    """Prosecutor and journalist risk of ``source`` on ``quasi_identifiers``.

    ``threshold`` is the highest acceptable probability of re-identification per record
    (0.2 = classes of at least 5, a common guideline for releases to trusted recipients).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValidationError(f"the risk threshold is a probability in (0, 1] (got {threshold})")
    t, description = open_table(source, table=table)
    qis = list(quasi_identifiers)
    hist = class_size_histogram(t, qis)
    if not hist:
        raise ValidationError(f"{description} has no rows: no risk to measure")
    rows, classes = sum(f * c for f, c in hist.items()), sum(hist.values())
    p_max, p_avg, p_risk = prosecutor_risk(hist, threshold)
    if population is None:
        return RiskReport(
            rows,
            classes,
            threshold,
            p_max,
            p_avg,
            p_risk,
            p_max,
            p_avg,
            p_risk,
            "sample",
            "no population table given: journalist risk reported equal to prosecutor risk "
            "(an upper bound)",
        )
    pop, pop_description = open_table(population, table=population_table)
    require_columns(pop, qis, "quasi-identifier (population)")
    sample_classes = t.group_by(qis).aggregate(**{_N: t.count()}).to_pyarrow()
    pop_classes = pop.group_by(qis).aggregate(**{_N: pop.count()}).to_pyarrow()
    quoted = ['"' + q.replace('"', '""') + '"' for q in qis]
    on = " AND ".join(f"s.{q} IS NOT DISTINCT FROM p.{q}" for q in quoted)
    con = duckdb.connect()
    try:
        con.register("s", sample_classes)
        con.register("p", pop_classes)
        # A sample class missing from the population (or larger there) means the population is
        # incomplete; the population holds at least the sample's rows, so F >= f.
        f_max, f_sum, f_risk, unmatched = con.execute(
            f"""
            WITH j AS (
              SELECT s.{_N} AS f, greatest(coalesce(p.{_N}, 0), s.{_N}) AS big_f,
                     p.{_N} IS NULL AS unmatched
              FROM s LEFT JOIN p ON {on}
            )
            SELECT max(1.0 / big_f), sum(f / big_f), sum(CASE WHEN 1.0 / big_f > ? THEN f
                   ELSE 0 END), sum(unmatched::INT) FROM j
            """,  # noqa: S608  (column names come from the validated QI list)
            [threshold],
        ).fetchone() or (None, None, None, None)
    except duckdb.Error as exc:
        raise ValidationError(
            f"cannot match {description} with population {pop_description}: {exc}"
        ) from None
    finally:
        con.close()
    note = f"journalist risk against population {pop_description}"
    if unmatched:
        note += f"; {unmatched} sample class(es) absent from the population (counted as F = f)"
    return RiskReport(
        rows,
        classes,
        threshold,
        p_max,
        p_avg,
        p_risk,
        float(f_max),
        float(f_sum) / rows,
        int(f_risk),
        "population",
        note,
    )
