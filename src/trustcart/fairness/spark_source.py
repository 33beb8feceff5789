"""Spark as an audit source (``trustcart audit spark://MASTER --table NAME|parquet:PATH``).

Why Spark: a shop whose decision data already lives on a Spark cluster should not export it to
audit it. The audit is the same Ibis expression as on DuckDB or PostgreSQL; Ibis compiles it to
Spark SQL and only the per-group aggregates come back to the driver. PySpark is an optional
extra (``pip install 'trustcart[spark]'``, ~470 MB) imported only here, only when asked for.

Source forms:

- ``spark://local``, ``spark://local[N]``, ``spark://local[*]``: a Spark session in this
  process (local mode; loopback-only, no web UI, 4 shuffle partitions — sized for one machine);
- ``spark://HOST:PORT``: a standalone cluster master (``spark://HOST:PORT`` is Spark's own
  master URL); ``spark://yarn`` and ``spark://k8s://…`` pass the rest through as the master;
- from Python, an existing ``SparkSession``: :func:`open_spark` (``open_spark(spark, "db.t")``),
  or any Ibis table of ``ibis.pyspark.connect(spark)`` passed to ``audit``.

``--table`` names a table or view of the session's catalog (``db.name`` allowed), or files read
by Spark: ``parquet:PATH`` / ``csv:PATH`` (a file, folder or glob; on a cluster the path must be
visible to the executors, e.g. ``hdfs://`` or ``s3a://``). A value ending in ``.parquet``,
``.pq`` or ``.csv`` is read as such a file without the prefix.

An already running session in the process is reused (Spark allows one per process); its master
wins over the URL's, and the source description says which master ran the audit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ibis

from trustcart.errors import NotFound, ValidationError
from trustcart.fairness.sources import Source, sha256_file

#: URL schemes that name a Spark master.
SCHEMES = ("spark", "pyspark")
#: Spark Connect (``sc://``) needs PySpark's connect extras (gRPC); not part of ``[spark]``.
CONNECT_SCHEMES = ("sc", "spark-connect")
_FILE_PREFIXES = ("parquet:", "csv:")
_FILE_SUFFIXES = (".parquet", ".pq", ".csv")
#: Settings of a local-mode session: loopback only, no UI, few shuffle partitions (the default
#: 200 partitions costs seconds of scheduling per query on 2 cores for a handful of groups).
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}
INSTALL_HINT = (
    "install the optional extra: pip install 'trustcart[spark]' (PySpark, needs Java 17+)"
)


def master_of(url: str) -> str:
    """The Spark master named by a ``spark://…`` source URL.

    ``spark://local[2]`` → ``local[2]``; ``spark://host:7077`` → ``spark://host:7077``;
    ``spark://yarn`` → ``yarn``.
    """
    scheme, _, rest = url.partition("://")
    rest = rest.rstrip("/")
    if scheme.lower() not in SCHEMES:
        raise ValidationError(f"{url!r} is not a Spark URL (spark://local[N] or spark://host:port)")
    if not rest:
        raise ValidationError(
            "name the Spark master: spark://local[2] (this process) or spark://host:7077"
        )
    if rest == "local" or rest.startswith(("local[", "yarn", "k8s://")):
        return rest
    return f"spark://{rest}"


def session(master: str = "local[2]", conf: dict[str, str] | None = None) -> Any:
    """The process's Spark session: the active one if any, else a new one on ``master``.

    Local masters get :data:`LOCAL_CONF` (and ``SPARK_LOCAL_IP=127.0.0.1`` unless set);
    cluster masters get only ``conf`` — the cluster's own defaults apply.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ValidationError(f"the Spark backend needs PySpark: {INSTALL_HINT}") from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.master(master).appName("trustcart-audit")
    settings = {"spark.ui.showConsoleProgress": "false"}
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings |= LOCAL_CONF
    for key, value in (settings | (conf or {})).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # PySparkRuntimeError (no Java), Py4J errors (master unreachable)
        raise ValidationError(
            f"cannot start Spark on master {master!r}: {exc}. PySpark needs Java 17+ (java on "
            "PATH or JAVA_HOME); a cluster master must be reachable from this machine"
        ) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _file_spec(table: str) -> tuple[str, str] | None:
    """(format, path) when ``--table`` names files rather than a catalog table."""
    for prefix in _FILE_PREFIXES:
        if table.startswith(prefix):
            return prefix[:-1], table[len(prefix) :]
    low = table.lower().rstrip("/")
    if low.endswith(_FILE_SUFFIXES):
        return ("csv" if low.endswith(".csv") else "parquet"), table
    return None


def _local_fingerprint(path: str) -> list[dict[str, str]] | None:
    """sha256 of each data file when the path is local (as DuckDB sources do), else None."""
    p = Path(path.removeprefix("file://"))
    if p.is_file():
        return [{"path": str(p), "sha256": sha256_file(p)}]
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(_FILE_SUFFIXES))
        return [{"path": str(f), "sha256": sha256_file(f)} for f in files] or None
    return None


def open_spark(spark: Any, table: str | None, *, label: str | None = None) -> Source:
    """Open ``table`` (catalog name, ``parquet:PATH`` or ``csv:PATH``) in a Spark session.

    ``spark`` is a ``SparkSession`` (yours, from Python) or a ``spark://…`` URL (a session is
    started or reused: :func:`session`). The result is a :class:`Source` with backend
    ``pyspark``; every audit function accepts it.
    """
    if isinstance(spark, str):
        label = label or spark
        spark = session(master_of(spark))
    master = str(spark.sparkContext.master)
    where = label or f"spark ({master})"
    if table is None:
        raise ValidationError(
            f"{where} is a Spark session: name what to audit with --table NAME (a catalog "
            "table) or --table parquet:PATH / csv:PATH (files read by Spark)"
        )
    con = ibis.pyspark.connect(spark)
    spec = _file_spec(table)
    if spec is not None:
        fmt, path = spec
        try:
            t = con.read_parquet(path) if fmt == "parquet" else con.read_csv(path)
        except Exception as exc:  # AnalysisException: path does not exist, unreadable file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise NotFound(f"Spark cannot read {fmt} {path}: {first}") from None
        rows = int(t.count().execute())
        fingerprint: dict[str, Any] = {"path": path, "format": fmt, "rows": rows}
        files = _local_fingerprint(path)
        if files is not None:
            fingerprint["files"] = files
        return Source(
            t,
            f"{where} {fmt} {path} (master {master})",
            "pyspark",
            fingerprint | {"master": master},
        )
    database, _, name = table.rpartition(".")
    try:
        t = con.table(name, database=database or None)
    except Exception:
        try:
            available = sorted(con.list_tables(database=database or None))
        except Exception:
            available = []
        hint = ""
        if name == "decisions":
            hint = (
                ". The workspace decision log is not a Spark table: audit it with "
                "`trustcart -w DIR audit decisions …`, which runs in the workspace's own store "
                "(DuckDB over SQLite, or PostgreSQL), never through Spark"
            )
        raise NotFound(
            f"table {table!r} not found in the Spark catalog of {where}; tables there: "
            + (", ".join(available) or "(none)")
            + " (files: --table parquet:PATH or csv:PATH)"
            + hint
        ) from None
    rows = int(t.count().execute())
    return Source(
        t,
        f"{where} table {table} (master {master})",
        "pyspark",
        {"table": table, "rows": rows, "master": master},
    )
