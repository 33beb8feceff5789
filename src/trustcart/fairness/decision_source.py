"""The workspace decision log as an audit source (``trustcart audit decisions …``).

Reads only the clear columns of the ``decisions`` copy table — ``kind``, ``output`` (JSON),
``jurisdiction``, ``model``, ``personalised``, ``group``, ``created_at`` — never the subject
key, so an audit sees no one and keeps working after crypto-shredding. Every read of that
table lives in this module (one place to adapt when the table changes).

Columns the audit sees (one row per decision; fields a kind does not have are NULL):
``kind``, ``model``, ``jurisdiction``, ``personalised`` (bool), ``fairness_group`` (the group
the gateway's guardrails used, from the request context, e.g. a neighbourhood band),
``created_at``, ``month``
(``YYYY-MM``), ``answered_by``, ``currency``, ``price``, ``list_price``, ``proposed_price``,
``model_adjustment``, ``price_ratio`` (price / list price), ``offered`` (offer decisions: 1 if
an offer was made, else 0) and ``score``; for credit decisions ``approved`` (1 approved, 0
declined, NULL when blocked or not assessed — so approval-rate audits count assessed requests
only) and ``credit_limit``; ``blocked_segment`` (the vulnerable segment a credit or
high-pressure offer decision was blocked for, else NULL).

Where it runs: on PostgreSQL the JSON fields are extracted by a SQL view and the audit
aggregates in PostgreSQL (Ibis). On the embedded SQLite default, SQLite lacks the statistics
an audit needs, so the clear columns (JSON fields extracted by SQLite) are streamed in batches
into an in-memory DuckDB table, which aggregates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import pyarrow as pa
from sqlalchemy import Float, Select, case, cast, func, select
from sqlalchemy.dialects import postgresql

from trustcart.errors import ValidationError
from trustcart.fairness.sources import Source
from trustcart.store import Store
from trustcart.store.tables import DecisionRow, table_of

SOURCE_NAME = "decisions"
KINDS = ("price", "offer", "recommend", "rank", "credit")
_BATCH = 50_000

_FLOATS = ("price", "list_price", "proposed_price", "model_adjustment", "score")
_TEXTS = ("answered_by", "currency")

_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("model", pa.string()),
        ("jurisdiction", pa.string()),
        ("personalised", pa.bool_()),
        ("fairness_group", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("month", pa.string()),
        *((f, pa.string()) for f in _TEXTS),
        *((f, pa.float64()) for f in _FLOATS),
        ("price_ratio", pa.float64()),
        ("offered", pa.int64()),
        ("approved", pa.int64()),
        ("credit_limit", pa.float64()),
        ("blocked_segment", pa.string()),
    ]
)


def is_decisions(source: object) -> bool:
    """``decisions`` or ``decisions:KIND``."""
    return isinstance(source, str) and (
        source == SOURCE_NAME or source.startswith(SOURCE_NAME + ":")
    )


def decision_kind(source: str) -> str | None:
    """The KIND of ``decisions:KIND`` (validated), or None for every decision."""
    _, _, kind = source.partition(":")
    if not kind:
        return None
    if kind not in KINDS:
        raise ValidationError(
            f"unknown decision kind {kind!r} in {source!r}; use decisions or "
            + ", ".join(f"decisions:{k}" for k in KINDS)
        )
    return kind


def _in_period(rows: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    """``created_at`` in [since, until): the conditions both backends' queries add."""
    conds = []
    if since is not None:
        conds.append(rows.c.created_at >= since)
    if until is not None:
        conds.append(rows.c.created_at < until)
    return conds


def _pg_sql(kind: str | None, since: datetime | None = None, until: datetime | None = None) -> str:
    """The view PostgreSQL evaluates: JSON fields extracted, built with SQLAlchemy."""
    rows = table_of(DecisionRow)
    o = cast(rows.c.output, postgresql.JSON)

    def num(f: str) -> Any:
        return cast(o[f].astext, Float)

    q = select(
        rows.c.kind,
        rows.c.model,
        rows.c.jurisdiction,
        rows.c.personalised,
        rows.c.group.label("fairness_group"),
        rows.c.created_at,
        func.to_char(func.timezone("UTC", rows.c.created_at), "YYYY-MM").label("month"),
        *(o[f].astext.label(f) for f in _TEXTS),
        *(num(f).label(f) for f in _FLOATS),
        (num("price") / func.nullif(num("list_price"), 0, type_=Float)).label("price_ratio"),
        case((rows.c.kind == "offer", case((o["offer"].astext.is_(None), 0), else_=1))).label(
            "offered"
        ),
        case(
            (o["approved"].astext == "true", 1), (o["approved"].astext == "false", 0), else_=None
        ).label("approved"),
        case((rows.c.kind == "credit", num("limit"))).label("credit_limit"),
        o["blocked"]["segment"].astext.label("blocked_segment"),
    )
    if kind:
        q = q.where(rows.c.kind == kind)
    for cond in _in_period(rows, since, until):
        q = q.where(cond)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(q.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _sqlite_select(
    kind: str | None, since: datetime | None = None, until: datetime | None = None
) -> Select[Any]:
    """The clear columns, JSON fields extracted by SQLite (typed columns keep their types)."""
    rows = table_of(DecisionRow)

    def j(f: str) -> Any:
        return func.json_extract(rows.c.output, f"$.{f}")

    q = select(
        rows.c.kind,
        rows.c.model,
        rows.c.jurisdiction,
        rows.c.personalised,
        rows.c.group.label("fairness_group"),
        rows.c.created_at,
        *(j(f).label(f) for f in _TEXTS),
        *(j(f).label(f) for f in _FLOATS),
        case((rows.c.kind == "offer", case((j("offer").is_(None), 0), else_=1))).label("offered"),
        j("approved").label("approved"),
        case((rows.c.kind == "credit", j("limit"))).label("credit_limit"),
        j("blocked.segment").label("blocked_segment"),
    ).order_by(rows.c.seq)
    for cond in _in_period(rows, since, until):
        q = q.where(cond)
    return q.where(rows.c.kind == kind) if kind else q


def _fingerprint(store: Store, kind: str | None) -> dict[str, Any]:
    seq, head = store.log(SOURCE_NAME).head()
    return {"log": SOURCE_NAME, "kind": kind, "last_seq": seq, "head_hash": head}


def _open_postgres(
    store: Store,
    kind: str | None,
    description: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Source:
    import psycopg

    url = store.engine.url.set(drivername="postgresql")
    conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")  # windows (day, week, month) are UTC, as in SQLite
    con = ibis.postgres.from_connection(conn)
    t = con.sql(_pg_sql(kind, since, until))
    return Source(t, description, "postgres", _fingerprint(store, kind))


def _open_sqlite(
    store: Store,
    kind: str | None,
    description: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Source:
    con = ibis.duckdb.connect()
    raw = con.con
    raw.register("_tc_empty", _SCHEMA.empty_table())
    raw.execute("CREATE TABLE decisions AS SELECT * FROM _tc_empty")
    raw.unregister("_tc_empty")
    with store.read() as conn:
        query = _sqlite_select(kind, since, until)
        result = conn.execution_options(stream_results=True).execute(query)
        while rows := result.fetchmany(_BATCH):
            cols: dict[str, list[Any]] = {name: [] for name in _SCHEMA.names}
            for r in rows:
                m = r._mapping
                for name in (
                    "kind",
                    "model",
                    "jurisdiction",
                    "fairness_group",
                    "created_at",
                    *_TEXTS,
                    "offered",
                    "blocked_segment",
                ):
                    cols[name].append(m[name])
                cols["approved"].append(None if m["approved"] is None else int(m["approved"]))
                limit = m["credit_limit"]
                cols["credit_limit"].append(None if limit is None else float(limit))
                cols["personalised"].append(bool(m["personalised"]))
                for f in _FLOATS:
                    cols[f].append(None if m[f] is None else float(m[f]))
            cols["month"] = [None if d is None else f"{d:%Y-%m}" for d in cols["created_at"]]
            cols["price_ratio"] = [
                p / lp if p is not None and lp else None
                for p, lp in zip(cols["price"], cols["list_price"], strict=True)
            ]
            batch = pa.Table.from_pydict(cols, schema=_SCHEMA)
            raw.register("_tc_batch", batch)
            raw.execute("INSERT INTO decisions SELECT * FROM _tc_batch")
            raw.unregister("_tc_batch")
    return Source(con.table("decisions"), description, "duckdb", _fingerprint(store, kind))


def open_decisions(
    store: Store,
    source: str = SOURCE_NAME,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Source:
    """The decision log of ``store`` as an audit source (``decisions`` or ``decisions:KIND``).

    ``since`` / ``until`` (aware UTC) keep only decisions logged in [since, until): a monitor
    reading its last windows then streams (SQLite) or scans (PostgreSQL, by the ``created_at``
    index) those days only, not the whole log.
    """
    kind = decision_kind(source)
    description = f"workspace decision log ({kind or 'all kinds'})"
    if store.dialect == "postgresql":
        return _open_postgres(store, kind, description, since, until)
    return _open_sqlite(store, kind, description, since, until)
