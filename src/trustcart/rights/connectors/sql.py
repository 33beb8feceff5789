"""SQL stores (SQLite, PostgreSQL, MariaDB/MySQL) through SQLAlchemy URLs.

Why reflect the table instead of trusting the manifest: the data map says which fields matter,
the database says what exists and its types; searching a text identifier against an integer
column must convert the value, and an erase must know which columns accept NULL.

MariaDB/MySQL (``mysql+pymysql://`` or ``mariadb+pymysql://``, the ``mysql`` extra) differ in
ways that matter for a rights request, handled here rather than left to each shop:

- Text comparison follows the column's collation, and the default ones (``utf8mb4_general_ci``,
  ``latin1_swedish_ci``) ignore case, accents and trailing spaces: ``email = 'jose@x.example'``
  also matches ``José@x.example``. For an access request that hands one person's rows to
  another; for an erasure it deletes someone else's. Identifiers are therefore compared byte
  for byte (as SQLite, PostgreSQL and the file connector do), with the collation's comparison
  kept in front of it so the column's index still narrows the search.
- The session time zone is set to UTC, so ``TIMESTAMP`` columns and the retention cutoff agree
  (``DATETIME`` columns are taken to hold UTC, as TrustCart writes everywhere).
- Connections use ``utf8mb4`` unless the URL names a charset (non-ASCII names round-trip).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    MetaData,
    SmallInteger,
    Table,
    and_,
    cast,
    create_engine,
    delete,
    event,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import NoSuchModuleError, NoSuchTableError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from trustcart.catalog import Dataset
from trustcart.errors import ConfigError, ConnectorError
from trustcart.rights.connectors.base import Change, Connector, Found, Identities, expand_env

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


_MYSQL = ("mysql", "mariadb")
_DRIVER_HINT = {
    "mysql": "pip install 'trustcart[mysql]' (PyMySQL) and write mysql+pymysql://user@host/db",
    "mariadb": "pip install 'trustcart[mysql]' (PyMySQL) and write mariadb+pymysql://user@host/db",
    "postgresql": "write postgresql+psycopg://user@host/db (psycopg 3 is installed with TrustCart)",
}


def _is_mysql(url: URL) -> bool:
    return url.get_backend_name() in _MYSQL


def _utc_session(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("SET time_zone = '+00:00'")
    finally:
        cur.close()


def _engine(url: str) -> Engine:
    """One engine per URL per process (pooling; creating engines per request is slow)."""
    with _LOCK:
        eng = _ENGINES.get(url)
        if eng is None:
            parsed = make_url(url)
            try:
                eng = create_engine(url, pool_pre_ping=True)
            except (NoSuchModuleError, ImportError) as exc:
                hint = _DRIVER_HINT.get(parsed.get_backend_name(), "install its DBAPI driver")
                raise ConfigError(
                    f"no database driver for {parsed.drivername}:// ({exc}); {hint}"
                ) from None
            if _is_mysql(parsed):
                event.listen(eng, "connect", _utc_session)
            _ENGINES[url] = eng
        return eng


def dispose_engines() -> None:
    """Close every pooled connection the SQL connectors hold (tests, shutdown).

    Why: engines are shared per URL for the life of the process; a server that drops a
    database (or limits connections, MariaDB's default is 151) needs them released.
    """
    with _LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for eng in engines:
        eng.dispose()


def _python_type(col: Column[Any]) -> type | None:
    try:
        return col.type.python_type
    except NotImplementedError:
        return None


def _coerce(col: Column[Any], values: list[str]) -> list[Any]:
    """Request identifiers are text; compare them as the column's type (skip impossible ones)."""
    kind = _python_type(col)
    if kind is int:
        return [int(v) for v in values if v.strip().lstrip("-").isdigit()]
    return values


def _surrogate(col: Column[Any], dialect: str) -> Any:
    """A random value unrelated to the person, for columns that must keep a value.

    Integers are sized to the column, because MariaDB and PostgreSQL refuse an out-of-range
    value rather than truncate it: negative (ids are positive) down to the type's minimum, or,
    for MariaDB/MySQL ``UNSIGNED`` columns (WooCommerce ids are ``BIGINT UNSIGNED``), in the
    upper half of the range, above the signed maximum no real id reaches. SQLite integers are
    64-bit whatever the declared type.
    """
    if _python_type(col) is int:
        if dialect == "sqlite" or isinstance(col.type, BigInteger):
            bits = 63
        elif isinstance(col.type, SmallInteger):
            bits = 15
        else:
            bits = 31
        if getattr(col.type, "unsigned", False):
            return 2**bits + secrets.randbelow(2**bits)
        return -secrets.randbelow(2**bits) - 1
    return "erased_" + secrets.token_hex(8)


def _exact(expr: Any) -> ColumnElement[Any]:
    """MariaDB/MySQL: the text as utf8mb4 bytes, compared without collation (no case, accent
    or trailing-space folding), whatever the column's own charset."""
    return cast(cast(expr, mysql.CHAR(charset="utf8mb4")), mysql.BINARY())


class SqlConnector(Connector):
    """A table reached through a SQLAlchemy URL."""

    kind = "sql"

    def __init__(self, dataset: Dataset, *, root: Path) -> None:
        super().__init__(dataset)
        spec = dataset.connector
        raw = (spec.url if spec and spec.url else dataset.location) or ""
        url = expand_env(raw, f"dataset {dataset.key!r} connector url")
        try:
            parsed = make_url(url)
        except Exception:
            raise ConfigError(
                f"dataset {dataset.key!r}: {raw!r} is not a SQLAlchemy URL "
                "(e.g. sqlite:///shop.db or postgresql+psycopg://user@host/db)"
            ) from None
        if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
            path = Path(parsed.database)
            if not path.is_absolute():
                parsed = parsed.set(database=str(root / path))
        if _is_mysql(parsed) and "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        #: MariaDB/MySQL: exact identifier comparison and a UTC session (module docstring)
        self.mysql = _is_mysql(parsed)
        self.url = parsed.render_as_string(hide_password=False)
        self.table_name = (spec.table if spec and spec.table else None) or dataset.key
        self._table: Table | None = None

    @property
    def engine(self) -> Engine:
        return _engine(self.url)

    @property
    def table(self) -> Table:
        if self._table is None:
            schema = None
            name = self.table_name
            if "." in name:
                schema, name = name.split(".", 1)
            try:
                self._table = Table(name, MetaData(), autoload_with=self.engine, schema=schema)
            except NoSuchTableError:
                raise ConnectorError(
                    f"dataset {self.key!r}: table {self.table_name!r} does not exist in "
                    f"{self.engine.url.render_as_string(hide_password=True)}"
                ) from None
            except SQLAlchemyError as exc:
                detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
                raise ConnectorError(
                    f"dataset {self.key!r}: cannot reach "
                    f"{self.engine.url.render_as_string(hide_password=True)} "
                    f"({type(exc).__name__}: {detail}); nothing was changed"
                ) from None
        return self._table

    def _col(self, name: str) -> Column[Any]:
        try:
            return self.table.c[name]
        except KeyError:
            raise ConfigError(
                f"dataset {self.key!r}: column {name!r} is not in table {self.table_name!r} "
                f"(columns: {', '.join(c.name for c in self.table.columns)})"
            ) from None

    def _where(self, ids: Identities) -> ColumnElement[bool] | None:
        parts = []
        for column, values in self.matches(ids).items():
            col = self._col(column)
            typed = _coerce(col, values)
            if not typed:
                continue
            if self.mysql and _python_type(col) is str:
                # the collation's IN uses the index; the byte comparison makes it exact
                exact = _exact(col).in_([_exact(literal(v)) for v in typed])
                parts.append(and_(col.in_(typed), exact))
            else:
                parts.append(col.in_(typed))
        return or_(*parts) if parts else None

    def _run(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except (ConfigError, ConnectorError):
            raise
        except SQLAlchemyError as exc:
            raise ConnectorError(
                f"dataset {self.key!r}: {what} failed ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]}); the transaction was rolled back"
            ) from None

    def find(self, ids: Identities) -> Found:
        where = self._where(ids)
        if where is None:
            return Found(self.key, [])

        def go() -> Found:
            with self.engine.connect() as conn:
                rows = conn.execute(select(self.table).where(where)).mappings().all()
            return Found(self.key, [dict(r) for r in rows])

        result: Found = self._run("search", go)
        return result

    def count(self, ids: Identities) -> int:
        where = self._where(ids)
        if where is None:
            return 0

        def go() -> int:
            with self.engine.connect() as conn:
                return int(conn.execute(select(func.count()).where(where)).scalar_one())

        n: int = self._run("scan", go)
        return n

    def _erase_values(self, per_run_surrogate: bool) -> dict[str, Any]:
        """Column -> new value for the mask / pseudonymize strategies."""
        values: dict[str, Any] = {}
        identity = set(self.columns.values())
        for name in identity:
            col = self._col(name)
            if self.strategy == "mask" and col.nullable and not col.primary_key:
                values[name] = None
            else:
                values[name] = _surrogate(col, self.engine.dialect.name)
        for name in self.mask_fields:
            if name in identity or name not in self.table.c:
                continue
            col = self._col(name)
            if not col.nullable:
                raise ConfigError(
                    f"dataset {self.key!r}: mask field {name!r} is NOT NULL in the database; "
                    "drop it from mask_fields or use erase: delete"
                )
            values[name] = None
        return values

    def _apply(self, conn: Any, where: ColumnElement[bool], per_run: bool) -> tuple[int, list[str]]:
        if self.strategy == "delete":
            return int(conn.execute(delete(self.table).where(where)).rowcount), []
        values = self._erase_values(per_run)
        res = conn.execute(update(self.table).where(where).values(**values))
        return int(res.rowcount), sorted(values)

    def erase(self, ids: Identities) -> Change:
        where = self._where(ids)
        change = Change(self.key, "erase", self.kind, strategy=self.strategy)
        if where is None:
            change.status = "skipped"
            change.note = "no identifier of the request is held here"
            return change

        def go() -> Change:
            with self.engine.begin() as conn:
                change.rows_found = int(
                    conn.execute(select(func.count()).where(where)).scalar_one()
                )
                if change.rows_found:
                    change.rows_changed, change.fields_changed = self._apply(conn, where, False)
            return change

        result: Change = self._run("erasure", go)
        return result

    def rectify(self, ids: Identities, changes: Mapping[str, Any]) -> Change:
        where = self._where(ids)
        change = Change(self.key, "rectify", self.kind)
        held = {k: v for k, v in changes.items() if k in self.table.c}
        if where is None or not held:
            change.status = "skipped"
            change.note = (
                "no identifier of the request is held here"
                if where is None
                else ("none of the fields to correct is held here")
            )
            return change

        def go() -> Change:
            with self.engine.begin() as conn:
                change.rows_found = int(
                    conn.execute(select(func.count()).where(where)).scalar_one()
                )
                res = conn.execute(update(self.table).where(where).values(**held))
                change.rows_changed = int(res.rowcount)
                change.fields_changed = sorted(held)
            return change

        result: Change = self._run("correction", go)
        return result

    def expire(self, cutoff: datetime, *, dry_run: bool) -> Change:
        change = Change(self.key, "retention", self.kind, strategy=self.strategy)
        if not self.timestamp:
            change.status = "skipped"
            change.note = "the connector declares no timestamp column"
            return change
        ts = self._col(self.timestamp)
        if self.mysql and cutoff.tzinfo is not None:
            # the session is UTC (see the module docstring); PyMySQL would drop the offset
            cutoff = cutoff.astimezone(UTC).replace(tzinfo=None)
        old = and_(ts.is_not(None), ts < cutoff)
        if self.strategy != "delete":
            # rows already anonymised keep their timestamp; do not count them again
            first_identity = self._col(next(iter(self.columns.values())))
            old = and_(old, first_identity.is_not(None))
            if _python_type(first_identity) is str:
                old = and_(old, ~first_identity.startswith("erased_", autoescape=True))

        def go() -> Change:
            with self.engine.begin() as conn:
                change.rows_found = int(conn.execute(select(func.count()).where(old)).scalar_one())
                if change.rows_found and not dry_run:
                    change.rows_changed, change.fields_changed = self._apply(conn, old, True)
            return change

        result: Change = self._run("retention", go)
        return result
