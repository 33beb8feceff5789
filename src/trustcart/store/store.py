"""The ``Store``: one database (SQLite or PostgreSQL), its migrations, sessions and logs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session, sessionmaker

from trustcart.store import migrate
from trustcart.store.engine import SQLITE_IMMEDIATE, make_engine, make_sessionmaker
from trustcart.store.hashlog import HashChainLog
from trustcart.store.tables import LogHead
from trustcart.store.writegate import write_gate


class Store:
    """Access to one TrustCart database.

    Writes go through :meth:`write` (SQLite takes the write lock at ``BEGIN IMMEDIATE`` so a
    read-then-append cannot race another writer); reads through :meth:`read` or :meth:`session`.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = make_sessionmaker(engine)
        self._gate = write_gate(engine)

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Connect to ``url`` and (by default) bring its schema to the newest revision."""
        store = cls(make_engine(url))
        if upgrade:
            migrate.upgrade(store.engine)
        return store

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction, committed on success, rolled back on error.

        On SQLite, writers first queue on the workspace's write gate (see
        :mod:`trustcart.store.writegate`): woken at once instead of sleeping in SQLite's busy
        handler when another thread or process holds the write lock.
        """
        if self._gate is None:
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{SQLITE_IMMEDIATE: True})
                with conn.begin():
                    yield conn
            return
        with self._gate.hold(), self.engine.connect() as conn:
            conn = conn.execution_options(**{SQLITE_IMMEDIATE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def read(self, *, snapshot: bool = False) -> Iterator[Connection]:
        """A connection in a read transaction.

        ``snapshot=True`` makes every statement see the same state (PostgreSQL REPEATABLE READ;
        an SQLite WAL read transaction already is one), which verification needs so a
        concurrent append is not mistaken for tampering.
        """
        with self.engine.connect() as conn:
            if snapshot and self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def session(self) -> Session:
        """An ORM session (use as a context manager)."""
        return self.sessions()

    def log(self, name: str) -> HashChainLog:
        """The hash-chained log called ``name`` (created on first append)."""
        return HashChainLog(self, name)

    def log_names(self) -> list[str]:
        """Names of the logs that have at least one head row."""
        with self.read() as conn:
            return list(conn.execute(select(LogHead.log).order_by(LogHead.log)).scalars())

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()
