"""Where audit data comes from: files read by DuckDB, a live database table, or Spark.

Why Ibis: an audit is written once as an Ibis expression and runs where the data lives —
DuckDB over Parquet/CSV by default, PostgreSQL for a live database, Spark for a cluster
(:mod:`trustcart.fairness.spark_source`, optional extra) — so only per-group
aggregates ever reach Python. Opening a source also fingerprints it (sha256 of the files, or
table name + row count) so a stored audit says exactly what it looked at.
"""

from __future__ import annotations

import glob
import hashlib
import os
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ibis

# The default engine, imported with the package (not on the first connect, inside the timed
# audit): an import cost, reported as such by bench/audit.py.
import ibis.backends.duckdb
import ibis.expr.types as ir

from trustcart.errors import NotFound, ValidationError

_FILE_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv")
_PG_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2")


class Source:
    """An opened audit source: an Ibis table plus what identifies it.

    ``fingerprint`` may be given as a :class:`~concurrent.futures.Future`: files are hashed in
    a background thread while the engine runs the audit's query (hashlib and DuckDB both
    release the GIL), and reading :attr:`fingerprint` waits for it. The hash is still the
    full sha256 of every byte — only its wall-clock cost overlaps with the query.
    """

    def __init__(
        self,
        table: ir.Table,
        description: str,
        backend: str,
        fingerprint: dict[str, Any] | Future[dict[str, Any]] | None = None,
    ) -> None:
        self.table = table
        self.description = description
        self.backend = backend
        self._fingerprint: dict[str, Any] | Future[dict[str, Any]] = (
            {} if fingerprint is None else fingerprint
        )

    @property
    def fingerprint(self) -> dict[str, Any]:
        """What identifies the source (waits for a background hash to finish)."""
        if isinstance(self._fingerprint, Future):
            self._fingerprint = self._fingerprint.result()
        return self._fingerprint

    def with_table(self, table: ir.Table) -> Source:
        """The same source (description, fingerprint — still pending if it is) over ``table``."""
        return Source(table, self.description, self.backend, self._fingerprint)

    def __repr__(self) -> str:
        return f"Source({self.description!r}, backend={self.backend!r})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (stored with every audit)."""
        return {
            "description": self.description,
            "backend": self.backend,
            "fingerprint": self.fingerprint,
        }


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks (constant memory)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _redact(url: str) -> str:
    """The URL without its password (descriptions are stored and printed)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _files(source: str) -> list[Path]:
    path = Path(source)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.name.endswith(_FILE_SUFFIXES))
        if not found:
            raise NotFound(f"folder {source} holds no .parquet or .csv file")
        return found
    if any(ch in source for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(source))
        if not found:
            raise NotFound(f"no file matches {source}")
        return found
    if not path.exists():
        raise NotFound(f"source file {source} does not exist")
    return [path]


def open_files(source: str | os.PathLike[str]) -> Source:
    """Open Parquet or CSV file(s) — a path, a folder or a glob — with in-memory DuckDB."""
    files = _files(os.fspath(source))
    kinds = {"csv" if f.name.endswith((".csv", ".csv.gz", ".tsv")) else "parquet" for f in files}
    if len(kinds) > 1:
        raise ValidationError(f"{source}: mixes CSV and Parquet files; audit one format at once")
    unknown = [f for f in files if not f.name.endswith(_FILE_SUFFIXES)]
    if unknown:
        raise ValidationError(
            f"{unknown[0]}: unknown file type; give a .parquet or .csv file (or an Ibis URL "
            "such as postgres://user@host/db with --table)"
        )
    con = ibis.duckdb.connect()
    paths = [str(f) for f in files]
    try:
        table = con.read_csv(paths) if kinds == {"csv"} else con.read_parquet(paths)
    except Exception as exc:  # duckdb raises its own hierarchy; the message names the problem
        raise ValidationError(f"cannot read {source}: {exc}") from None
    return Source(table, os.fspath(source), "duckdb", _hash_in_background(files))


def _hash_in_background(files: list[Path]) -> Future[dict[str, Any]]:
    """sha256 of ``files`` computed in a daemon thread, overlapping the audit's query."""
    future: Future[dict[str, Any]] = Future()

    def work() -> None:
        try:
            future.set_result(
                {"files": [{"path": str(f), "sha256": sha256_file(f)} for f in files]}
            )
        except BaseException as exc:  # re-raised where the fingerprint is read
            future.set_exception(exc)

    threading.Thread(target=work, name="trustcart-sha256", daemon=True).start()
    return future


def open_table_url(url: str, table: str | None) -> Source:
    """Open ``table`` in the database at an Ibis URL (PostgreSQL today)."""
    scheme = url.split("://", 1)[0].lower()
    if table is None:
        raise ValidationError(
            f"{_redact(url)} is a database: name the table to audit with --table NAME"
        )
    if scheme in _PG_SCHEMES:
        ibis_url = "postgres://" + url.split("://", 1)[1]
        try:
            con = ibis.connect(ibis_url)
        except Exception as exc:
            raise ValidationError(f"cannot connect to {_redact(url)}: {exc}") from None
        schema, _, name = table.rpartition(".")
        try:
            t = con.table(name, database=schema or None)
        except Exception:
            available = sorted(con.list_tables(database=schema or None))
            raise NotFound(
                f"table {table!r} not found in {_redact(url)}; tables there: "
                + (", ".join(available) or "(none)")
            ) from None
        rows = int(t.count().execute())
        return Source(
            t, f"{_redact(url)} table {table}", "postgres", {"table": table, "rows": rows}
        )
    raise ValidationError(f"unsupported database URL scheme {scheme!r}: use postgres://…")


def open_source(source: str | os.PathLike[str] | ir.Table, *, table: str | None = None) -> Source:
    """Open what ``trustcart audit SOURCE`` names.

    ``SOURCE`` is a ``.parquet``/``.csv`` path (or a folder/glob of them), an Ibis URL of a
    database (``postgres://…``, with ``table``), a Spark master (``spark://local[2]``,
    ``spark://host:7077``, with ``table``: see :mod:`trustcart.fairness.spark_source`), or an
    Ibis table expression (library use).
    The workspace decision log needs its store: see
    :func:`trustcart.fairness.decision_source.open_decisions`.
    """
    if isinstance(source, ir.Table):
        return Source(source, "ibis table expression", source.get_backend().name, {})
    text = os.fspath(source)
    if text == "decisions" or text.startswith("decisions:"):
        raise ValidationError(
            f"source {text!r} is a workspace's decision log: audit it from the CLI inside a "
            "workspace (trustcart -w DIR audit decisions …), or open it with "
            "trustcart.fairness.open_decisions(store) and pass the result"
        )
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("spark", "pyspark"):
        from trustcart.fairness.spark_source import open_spark

        return open_spark(text, table)
    if scheme in ("sc", "spark-connect"):
        raise ValidationError(
            f"{_redact(text)}: Spark Connect is not supported (it needs PySpark's connect "
            "extras); give the cluster's master as spark://host:7077 with --table, or pass a "
            "table of ibis.pyspark.connect(session) from Python"
        )
    if scheme:
        return open_table_url(text, table)
    if table is not None:
        raise ValidationError(f"--table applies to database URLs only, not to the file {text}")
    return open_files(text)
