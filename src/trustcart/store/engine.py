"""Engine and session factory for SQLite (embedded default) and PostgreSQL.

SQLite is tuned for an append-heavy evidence store: WAL (readers never block the writer),
``synchronous=NORMAL`` (a committed transaction survives a process crash — the promise we make
for acknowledged writes; only an OS crash/power loss may lose the last commits), foreign keys on,
and a busy timeout so concurrent writers queue instead of failing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from trustcart.errors import ConfigError

#: Execution option that makes an SQLite transaction take the write lock at BEGIN.
SQLITE_IMMEDIATE = "trustcart_sqlite_immediate"
#: Pooled connections per SQLite engine (one per API request thread, plus the log writer).
SQLITE_POOL = 42


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) issue BEGIN, so we can choose BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with TrustCart's per-backend settings."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"invalid database URL {url!r}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        # Keep as many connections as request threads (anyio's default limit is 40): with the
        # default pool (5 + 10 overflow) the API opened and closed a connection, PRAGMAs
        # included, on most requests under load. SQLite connections cost ~100 KB each.
        engine = create_engine(
            parsed, connect_args={"timeout": 30}, pool_size=SQLITE_POOL, max_overflow=8
        )
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(
        f"unsupported database backend {backend!r}; use sqlite:/// or postgresql+psycopg://"
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (API handlers return them)."""
    return sessionmaker(engine, expire_on_commit=False)
