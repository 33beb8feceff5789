"""Parquet and CSV exports, searched and rewritten with DuckDB.

Why rewrite instead of edit: neither format can delete a row in place. The new file is written
next to the old one and moved over it with an atomic rename, so a crash leaves either the old
file or the new one, never half of each. In a folder of Parquet files only the files that hold
the person are rewritten (DuckDB skips the others using the row-group statistics), which is what
keeps an erasure in a large event export fast.
CSV is read with every column as text, so rewriting never changes a value's formatting
(leading zeros in postal codes, date formats).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from trustcart.catalog import Dataset
from trustcart.errors import ConfigError, ConnectorError
from trustcart.rights.connectors.base import Change, Connector, Found, Identities, expand_env


def _q(name: str) -> str:
    """A quoted DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class FileConnector(Connector):
    """A Parquet file, a folder of Parquet files, or a CSV file."""

    kind = "file"

    def __init__(self, dataset: Dataset, *, root: Path) -> None:
        super().__init__(dataset)
        spec = dataset.connector
        raw = (spec.path if spec and spec.path else dataset.location) or ""
        path = Path(expand_env(raw, f"dataset {dataset.key!r} connector path"))
        self.path = path if path.is_absolute() else root / path
        self.format = "csv" if self.path.suffix.lower() == ".csv" else "parquet"
        self._db: duckdb.DuckDBPyConnection | None = None
        self._schemas: dict[tuple[str, int, int], dict[str, str]] = {}
        #: (path, mtime, size) -> column -> [(min, max)] per row group, from the Parquet footer
        self._stats: dict[tuple[str, int, int], dict[str, list[tuple[str, str]]]] = {}

    # -- reading -----------------------------------------------------------------------------
    def files(self) -> list[Path]:
        """The files this dataset consists of (one, or the Parquet files of a folder)."""
        if self.path.is_dir():
            return sorted(p for p in self.path.rglob("*.parquet") if p.is_file())
        if self.path.is_file():
            return [self.path]
        raise ConnectorError(
            f"dataset {self.key!r}: {self.path} does not exist (connector path / location)"
        )

    def _reader(self, files: list[Path], *, filename: bool = False) -> str:
        listed = "[" + ", ".join(_lit(p) for p in files) + "]"
        if self.format == "csv":
            return f"read_csv({listed}, header=true, all_varchar=true)"
        extra = ", filename=true" if filename else ""
        return f"read_parquet({listed}{extra})"

    @staticmethod
    def _stamp(path: Path) -> tuple[str, int, int]:
        st = path.stat()
        return str(path), st.st_mtime_ns, st.st_size

    def _schema(self, con: duckdb.DuckDBPyConnection, files: list[Path]) -> dict[str, str]:
        """Column -> DuckDB type, cached until the file changes."""
        stamp = self._stamp(files[0])
        cached = self._schemas.get(stamp)
        if cached is None:
            rows = con.execute(f"DESCRIBE SELECT * FROM {self._reader(files[:1])}").fetchall()
            cached = self._schemas[stamp] = {str(r[0]): str(r[1]) for r in rows}
        return cached

    def _candidates(
        self,
        con: duckdb.DuckDBPyConnection,
        files: list[Path],
        ids: Identities,
        schema: Mapping[str, str],
    ) -> list[Path]:
        """The Parquet files whose footer statistics allow one of the identifiers.

        Why: an export is usually sorted or partitioned by customer, so one person lives in one
        file; reading every footer once (cached until the file changes) lets a search open only
        that file instead of all of them.
        """
        if self.format == "csv":
            # a CSV has no statistics, but a byte search is ~50x cheaper than parsing it: a
            # file that does not contain any identifier's text cannot hold the person
            needles = [v.encode() for vs in self.matches(ids).values() for v in vs]
            out_csv = []
            for f in files:
                data = f.read_bytes()
                if any(n in data for n in needles):
                    out_csv.append(f)
            return out_csv
        if len(files) == 1:
            return files
        wanted = {c: v for c, v in self.matches(ids).items() if "VARCHAR" in schema.get(c, "")}
        if len(wanted) != len(self.matches(ids)):
            return files  # numeric or unknown columns: no pruning, stay correct
        stamps = {f: self._stamp(f) for f in files}
        missing = [f for f in files if stamps[f] not in self._stats]
        if missing:
            listed = "[" + ", ".join(_lit(p) for p in missing) + "]"
            rows = con.execute(
                "SELECT file_name, path_in_schema, stats_min_value, stats_max_value "
                f"FROM parquet_metadata({listed})"
            ).fetchall()
            by_file: dict[str, dict[str, list[tuple[str, str]]]] = {}
            for name, column, lo, hi in rows:
                by_file.setdefault(str(name), {}).setdefault(str(column), []).append((lo, hi))
            for f in missing:
                self._stats[stamps[f]] = by_file.get(str(f), {})
        out = []
        for f in files:
            stats = self._stats[stamps[f]]
            for column, values in wanted.items():
                ranges = stats.get(column)
                if ranges is None or any(
                    lo is None or hi is None or any(lo <= v <= hi for v in values)
                    for lo, hi in ranges
                ):
                    out.append(f)
                    break
        return out

    def _where(self, ids: Identities, schema: Mapping[str, str]) -> tuple[str, list[Any]] | None:
        parts: list[str] = []
        params: list[Any] = []
        for column, values in self.matches(ids).items():
            if column not in schema:
                raise ConfigError(
                    f"dataset {self.key!r}: column {column!r} is not in {self.path.name} "
                    f"(columns: {', '.join(schema)})"
                )
            typ = schema[column].upper()
            if any(t in typ for t in ("INT", "DECIMAL", "DOUBLE", "FLOAT")) and "[]" not in typ:
                typed: list[Any] = [v for v in values if _numeric(v)]
                if not typed:
                    continue
                cast = f"CAST(? AS {schema[column]})"
            else:
                typed, cast = list(values), "?"
            parts.append(f"{_q(column)} IN ({', '.join([cast] * len(typed))})")
            params.extend(typed)
        if not parts:
            return None
        return " OR ".join(parts), params

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A cursor on this connector's in-memory DuckDB (opening one costs ~20 ms)."""
        if self._db is None:
            self._db = duckdb.connect(":memory:", config={"threads": 2})
        return self._db.cursor()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def find(self, ids: Identities) -> Found:
        files = self.files()
        if not files:
            return Found(self.key, [])
        with self._connect() as con:
            schema = self._schema(con, files)
            where = self._where(ids, schema)
            if where is None:
                return Found(self.key, [])
            # time-zoned timestamps as ISO text: converting them to Python needs pytz
            tz = [c for c, t in schema.items() if "TIME ZONE" in t.upper()]
            star = "*" + (
                f" REPLACE ({', '.join(f'CAST({_q(c)} AS VARCHAR) AS {_q(c)}' for c in tz)})"
                if tz
                else ""
            )
            cands = self._candidates(con, files, ids, schema)
            if not cands:
                return Found(self.key, [])
            cur = con.execute(
                f"SELECT {star} FROM {self._reader(cands)} WHERE {where[0]}", where[1]
            )
            names = [d[0] for d in cur.description or []]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return Found(self.key, rows)

    def _files_with(
        self, con: duckdb.DuckDBPyConnection, files: list[Path], where: tuple[str, list[Any]]
    ) -> dict[Path, int]:
        """File -> rows matching, for the files that hold any (only those get rewritten)."""
        if not files:
            return {}
        if self.format == "csv":
            n = con.execute(
                f"SELECT count(*) FROM {self._reader(files)} WHERE {where[0]}", where[1]
            ).fetchone()
            return {files[0]: int(n[0])} if n and n[0] else {}
        rows = con.execute(
            f"SELECT filename, count(*) FROM {self._reader(files, filename=True)} "
            f"WHERE {where[0]} GROUP BY filename",
            where[1],
        ).fetchall()
        return {Path(r[0]): int(r[1]) for r in rows}

    def count(self, ids: Identities) -> int:
        files = self.files()
        if not files:
            return 0
        if self.format == "csv":
            found = self._csv_lines(files[0], ids)
            if found is not None:
                return len(found[1])
        with self._connect() as con:
            schema = self._schema(con, files)
            where = self._where(ids, schema)
            cands = self._candidates(con, files, ids, schema)
            if where is None or not cands:
                return 0
            return sum(self._files_with(con, cands, where).values())

    # -- rewriting ---------------------------------------------------------------------------
    def _projection(self, schema: Mapping[str, str], cond: str) -> tuple[str, list[str]]:
        """SELECT list that blanks identity (and mask) columns on the rows matching ``cond``."""
        identity = set(self.columns.values())
        targets = [c for c in schema if c in identity]
        targets += [c for c in self.mask_fields if c in schema and c not in identity]
        surrogate = "erased_" + secrets.token_hex(8)
        items = []
        for col in schema:
            if col not in targets:
                items.append(_q(col))
                continue
            new = "NULL"
            if self.strategy == "pseudonymize" and col in identity:
                typ = schema[col].upper()
                new = (
                    f"CAST(-{secrets.randbelow(2**62) + 1} AS {schema[col]})"
                    if "INT" in typ
                    else f"'{surrogate}'"
                )
            items.append(
                f"CASE WHEN coalesce({cond}, false) THEN {new} ELSE {_q(col)} END AS {_q(col)}"
            )
        return ", ".join(items), sorted(targets)

    def _rewrite(
        self,
        con: duckdb.DuckDBPyConnection,
        file: Path,
        cond: str,
        params: list[Any],
        schema: Mapping[str, str],
    ) -> list[str]:
        """Write ``file`` without (or with blanked) matching rows, then rename it into place."""
        tmp = file.with_name(f".{file.name}.{secrets.token_hex(4)}.tmp")
        reader = self._reader([file])
        if self.strategy == "delete":
            select_sql = f"SELECT * FROM {reader} WHERE NOT coalesce({cond}, false)"
            fields: list[str] = []
        else:
            projection, fields = self._projection(schema, cond)
            select_sql = f"SELECT {projection} FROM {reader}"
            params = params * projection.count("CASE WHEN")
        fmt = "FORMAT csv, HEADER true" if self.format == "csv" else "FORMAT parquet"
        try:
            con.execute(f"COPY ({select_sql}) TO {_lit(tmp)} ({fmt})", params)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, file)
        finally:
            if tmp.exists():
                tmp.unlink()
        return fields

    def _change(
        self,
        action: str,
        cond_params: tuple[str, list[Any]] | None,
        con: duckdb.DuckDBPyConnection,
        files: list[Path],
        schema: Mapping[str, str],
        dry_run: bool = False,
    ) -> Change:
        change = Change(self.key, action, self.kind, strategy=self.strategy)
        if cond_params is None:
            change.status = "skipped"
            change.note = "no identifier of the request is held here"
            return change
        hits = self._files_with(con, files, cond_params)
        change.rows_found = sum(hits.values())
        if dry_run:
            return change
        fields: set[str] = set()
        for file, n in hits.items():
            fields.update(self._rewrite(con, file, cond_params[0], cond_params[1], schema))
            change.rows_changed += n
        change.fields_changed = sorted(fields)
        if hits:
            change.note = f"rewrote {len(hits)} file(s)"
        return change

    def _csv_lines(self, file: Path, ids: Identities) -> tuple[bytes, list[tuple[int, int]]] | None:
        """(content, [(start, end) of each matching record]) for a CSV without any quote.

        Why: rewriting a large CSV through a parser costs ~2 µs a row; a file with no quote
        character has exactly one record per line, so the person's lines can be found with a
        byte search and cut out with one copy, a hundred times faster. Any quote in the file
        (a field could then hold a newline) makes this return None and the parser is used.
        """
        data = file.read_bytes()
        if b'"' in data:
            return None
        header_end = data.find(b"\n")
        header = data[: header_end if header_end >= 0 else len(data)].rstrip(b"\r").split(b",")
        wanted: dict[int, set[bytes]] = {}
        for column, values in self.matches(ids).items():
            if column.encode() not in header:
                return None
            wanted[header.index(column.encode())] = {v.encode() for v in values}
        spans: list[tuple[int, int]] = []
        seen: set[int] = set()
        for needles in wanted.values():
            for needle in needles:
                pos = data.find(needle, header_end + 1)
                while pos >= 0:
                    start = data.rfind(b"\n", 0, pos) + 1
                    end = data.find(b"\n", pos)
                    end = len(data) if end < 0 else end + 1
                    if start not in seen:
                        cells = data[start:end].rstrip(b"\r\n").split(b",")
                        if any(i < len(cells) and cells[i] in wanted[i] for i in wanted):
                            spans.append((start, end))
                            seen.add(start)
                    pos = data.find(needle, end)
        return data, sorted(spans)

    def _csv_fast_delete(self, file: Path, ids: Identities) -> int | None:
        """Delete the person's lines from a quote-free CSV (see :meth:`_csv_lines`)."""
        found = self._csv_lines(file, ids)
        if found is None:
            return None
        data, spans = found
        if not spans:
            return 0
        parts, prev = [], 0
        for start, end in spans:
            parts.append(data[prev:start])
            prev = end
        parts.append(data[prev:])
        tmp = file.with_name(f".{file.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(b"".join(parts))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, file)
        finally:
            if tmp.exists():
                tmp.unlink()
        return len(spans)

    def erase(self, ids: Identities) -> Change:
        files = self.files()
        if self.format == "csv" and self.strategy == "delete" and files:
            n = self._csv_fast_delete(files[0], ids)
            if n is not None:
                change = Change(self.key, "erase", self.kind, strategy=self.strategy)
                change.rows_found = change.rows_changed = n
                if n:
                    change.note = "rewrote 1 file(s)"
                return change
        with self._connect() as con:
            schema = self._schema(con, files) if files else {}
            where = self._where(ids, schema) if files else None
            cands = self._candidates(con, files, ids, schema) if where else []
            change = self._change("erase", where, con, cands, schema)
            if change.note and change.note.startswith("rewrote"):
                change.note += f" (of {len(files)})"
            return change

    def rectify(self, ids: Identities, changes: Mapping[str, Any]) -> Change:
        files = self.files()
        change = Change(self.key, "rectify", self.kind)
        with self._connect() as con:
            schema = self._schema(con, files) if files else {}
            held = {k: v for k, v in changes.items() if k in schema}
            where = self._where(ids, schema) if files else None
            if where is None or not held:
                change.status = "skipped"
                change.note = "nothing of the request is held here"
                return change
            hits = self._files_with(con, self._candidates(con, files, ids, schema), where)
            change.rows_found = sum(hits.values())
            for file in hits:
                tmp = file.with_name(f".{file.name}.{secrets.token_hex(4)}.tmp")
                items, params = [], []
                for col in schema:
                    if col in held:
                        items.append(
                            f"CASE WHEN coalesce({where[0]}, false) THEN CAST(? AS {schema[col]}) "
                            f"ELSE {_q(col)} END AS {_q(col)}"
                        )
                        params.extend([*where[1], held[col]])
                    else:
                        items.append(_q(col))
                fmt = "FORMAT csv, HEADER true" if self.format == "csv" else "FORMAT parquet"
                try:
                    con.execute(
                        f"COPY (SELECT {', '.join(items)} FROM {self._reader([file])}) "
                        f"TO {_lit(tmp)} ({fmt})",
                        params,
                    )
                    os.replace(tmp, file)
                finally:
                    if tmp.exists():
                        tmp.unlink()
            change.rows_changed = change.rows_found
            change.fields_changed = sorted(held)
        return change

    def expire(self, cutoff: datetime, *, dry_run: bool) -> Change:
        if not self.timestamp:
            change = Change(self.key, "retention", self.kind, strategy=self.strategy)
            change.status = "skipped"
            change.note = "the connector declares no timestamp column"
            return change
        files = self.files()
        with self._connect() as con:
            schema = self._schema(con, files) if files else {}
            if self.timestamp not in schema:
                raise ConfigError(
                    f"dataset {self.key!r}: timestamp column {self.timestamp!r} is not in "
                    f"{self.path.name} (columns: {', '.join(schema)})"
                )
            cond = f"CAST({_q(self.timestamp)} AS TIMESTAMPTZ) < CAST(? AS TIMESTAMPTZ)"
            if self.strategy != "delete":
                first = next(iter(self.columns.values()))
                cond += f" AND {_q(first)} IS NOT NULL"
                if "INT" not in schema.get(first, "").upper():
                    cond += f" AND NOT starts_with(CAST({_q(first)} AS VARCHAR), 'erased_')"
            return self._change(
                "retention", (cond, [cutoff.isoformat()]), con, files, schema, dry_run
            )


def _numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
