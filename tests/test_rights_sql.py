"""The SQL connector on each server it is tested on: SQLite, PostgreSQL and MariaDB.

The example-shop tests (test_rights.py, test_rights_api.py) run the whole workflow per shop
backend; these check what differs between servers, on hand-made tables: exact identifier
matching against MariaDB's case/accent/space-insensitive default collation, integer surrogates
that fit an ``INT``, the retention cutoff against naive ``DATETIME`` columns, and the URL forms.
Every expectation is computed independently in Python from the rows read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url

from conftest import SHOP_BACKENDS
from trustcart.catalog import Connector, Dataset, DatasetField
from trustcart.errors import ConfigError, ConnectorError
from trustcart.rights.connectors import SqlConnector

# the same address, differently: case, accent, trailing space; plus other people
EMAILS = [
    "ana@example.com",
    "Ana@example.com",
    "ANA@EXAMPLE.COM",
    "anà@example.com",
    "ana@example.com ",
    "ben@example.com",
    "José@example.com",
    "jose@example.com",
]


@pytest.fixture(params=SHOP_BACKENDS)
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database per backend: a SQLite file, a PostgreSQL schema, a MariaDB database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    fixture = "pg_schema_url" if request.param == "postgres" else "mariadb_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def engine(sql_url: str) -> Iterator[Any]:
    eng = create_engine(sql_url)
    try:
        yield eng
    finally:
        eng.dispose()


def _people(engine: Any, rows: list[dict[str, Any]]) -> Table:
    md = MetaData()
    people = Table(
        "people",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("customer_no", Integer, nullable=False),
        Column("email", String(320), nullable=False),
        Column("name", String(100)),
        Column("created_at", DateTime),
    )
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(people), rows)
    return people


def _dataset(url: str, **connector: Any) -> Dataset:
    return Dataset(
        key="people",
        name="people",
        system="crm",
        location=url,
        identity_keys=["email", "customer_id"],
        fields=[
            DatasetField(name="email", data_categories=["user.contact.email"]),
            DatasetField(name="name", data_categories=["user.name"]),
        ],
        connector=Connector(
            type="sql",
            url=url,
            table="people",
            identities={"email": "email", "customer_id": "customer_no"},
            **connector,
        ),
    )


def _all(engine: Any, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def _rows() -> list[dict[str, Any]]:
    base = datetime(2020, 1, 1)
    return [
        {
            "id": i + 1,
            "customer_no": 1000 + i,
            "email": e,
            "name": f"person {i + 1}",
            "created_at": base + timedelta(days=100 * i),
        }
        for i, e in enumerate(EMAILS)
    ]


def test_backend_is_the_one_named(sql_url: str, engine: Any) -> None:
    """The MariaDB runs really reach MariaDB (and with the collation that causes the trouble)."""
    if sql_url.startswith("mysql"):
        with engine.connect() as conn:
            assert "MariaDB" in conn.execute(text("SELECT version()")).scalar_one()
            collation = conn.execute(text("SELECT @@collation_database")).scalar_one()
        assert collation.endswith("_ci")


@pytest.mark.parametrize("needle", ["ana@example.com", "José@example.com", "jose@example.com"])
def test_identifiers_match_exactly_whatever_the_collation(
    sql_url: str, engine: Any, tmp_path: Path, needle: str
) -> None:
    """An access request for one address never returns, and an erasure never deletes, a row
    whose address differs only by case, accent or a trailing space."""
    people = _people(engine, _rows())
    # the hazard is real on MariaDB: its own comparison folds the variants together
    with engine.connect() as conn:
        folded = conn.execute(
            text("SELECT count(*) FROM people WHERE email = :e"), {"e": needle}
        ).scalar_one()
    exact = [r for r in _rows() if r["email"] == needle]
    assert len(exact) == 1
    if sql_url.startswith("mysql"):
        assert folded > 1
    else:
        assert folded == 1

    c = SqlConnector(_dataset(sql_url), root=tmp_path)
    ids = {"email": frozenset({needle})}
    found = c.find(ids)
    assert [r["id"] for r in found.rows] == [r["id"] for r in exact]
    assert c.count(ids) == 1
    fixed = c.rectify(ids, {"name": "corrected"})
    assert (fixed.rows_found, fixed.rows_changed) == (1, 1)
    after = _all(engine, people)
    assert [r["id"] for r in after if r["name"] == "corrected"] == [exact[0]["id"]]

    change = c.erase(ids)
    assert (change.rows_found, change.rows_changed) == (1, 1)
    left = {r["email"] for r in _all(engine, people)}
    assert left == set(EMAILS) - {needle}  # every look-alike is still there
    assert c.count(ids) == 0 and c.find(ids).rows == []  # the verification scan agrees


@pytest.mark.mariadb
def test_a_latin1_column_is_compared_exactly_too(mariadb_url: str, tmp_path: Path) -> None:
    """Legacy shop tables are often latin1 (latin1_swedish_ci): still no accent folding."""
    sql_url = mariadb_url
    engine = create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE people (id INT PRIMARY KEY, customer_no INT NOT NULL, "
                "email VARCHAR(320) CHARACTER SET latin1 NOT NULL, name VARCHAR(100), "
                "created_at DATETIME)"
            )
        )
    people = Table("people", MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(insert(people), _rows())
    c = SqlConnector(_dataset(sql_url), root=tmp_path)
    assert [r["email"] for r in c.find({"email": frozenset({"jose@example.com"})}).rows] == [
        "jose@example.com"
    ]
    assert [r["email"] for r in c.find({"email": frozenset({"José@example.com"})}).rows] == [
        "José@example.com"
    ]
    assert c.count({"email": frozenset({"JOSE@example.com"})}) == 0
    engine.dispose()


@pytest.mark.mariadb
@pytest.mark.parametrize("column_type", ["INT UNSIGNED", "BIGINT UNSIGNED", "SMALLINT"])
def test_pseudonymize_fits_unsigned_and_small_integer_ids(
    mariadb_url: str, tmp_path: Path, column_type: str
) -> None:
    """WooCommerce keys customers by BIGINT UNSIGNED: a negative surrogate would be refused."""
    engine = create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE people (id INT PRIMARY KEY, customer_no {column_type} NOT NULL "
                "UNIQUE, email VARCHAR(320) NOT NULL, name VARCHAR(100), created_at DATETIME)"
            )
        )
        conn.execute(
            text("INSERT INTO people VALUES (1, 1000, 'a@example.com', 'A', NULL)"),
        )
    bounds = {
        "INT UNSIGNED": (2**31, 2**32 - 1),
        "BIGINT UNSIGNED": (2**63, 2**64 - 1),
        "SMALLINT": (-(2**15), -1),
    }[column_type]
    c = SqlConnector(_dataset(mariadb_url, erase="pseudonymize"), root=tmp_path)
    change = c.erase({"customer_id": frozenset({"1000"})})
    assert (change.rows_found, change.rows_changed) == (1, 1)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT customer_no FROM people")).scalar_one()
    assert bounds[0] <= got <= bounds[1]
    engine.dispose()


def test_pseudonymize_fits_an_int_column_and_retention_counts_from_naive_utc(
    sql_url: str, engine: Any, tmp_path: Path
) -> None:
    rows = _rows()
    people = _people(engine, rows)
    c = SqlConnector(_dataset(sql_url, erase="pseudonymize", timestamp="created_at"), root=tmp_path)
    ids = {"customer_id": frozenset({"1003", "not-a-number"})}  # an integer identity column
    assert [r["email"] for r in c.find(ids).rows] == [rows[3]["email"]]
    change = c.erase(ids)
    assert (change.rows_found, change.rows_changed) == (1, 1)
    assert change.fields_changed == ["customer_no", "email", "name"]
    got = {r["id"]: r for r in _all(engine, people)}
    bits = 63 if sql_url.startswith("sqlite") else 31  # SQLite integers are 64-bit
    assert -(2**bits) <= got[4]["customer_no"] < 0  # a surrogate the INT column accepts
    assert got[4]["email"].startswith("erased_") and got[4]["name"] is None
    assert c.count(ids) == 0

    # retention: the cutoff is an aware UTC time, the column a naive DATETIME holding UTC
    cutoff = datetime(2021, 1, 1, tzinfo=UTC)
    naive = cutoff.replace(tzinfo=None)
    expected = [
        r["id"] for r in rows if r["created_at"] < naive and r["id"] != 4
    ]  # row 4 is already pseudonymised: not counted again
    dry = c.expire(cutoff, dry_run=True)
    assert (dry.rows_found, dry.rows_changed) == (len(expected), 0)
    assert len(expected) == 3
    done = c.expire(cutoff, dry_run=False)
    assert (done.rows_found, done.rows_changed) == (len(expected), len(expected))
    after = {r["id"]: r for r in _all(engine, people)}
    assert sorted(i for i, r in after.items() if r["email"].startswith("erased_")) == sorted(
        [*expected, 4]
    )
    assert all(after[r["id"]]["email"] == r["email"] for r in rows if r["created_at"] >= naive)
    assert c.expire(cutoff, dry_run=False).rows_found == 0


def test_delete_and_mask_strategies(sql_url: str, engine: Any, tmp_path: Path) -> None:
    rows = _rows()
    people = _people(engine, rows)
    ids = {"email": frozenset({"ben@example.com"})}
    masked = SqlConnector(_dataset(sql_url, erase="mask"), root=tmp_path).erase(ids)
    assert (masked.rows_found, masked.rows_changed) == (1, 1)
    ben = next(r for r in _all(engine, people) if r["id"] == 6)
    # email is NOT NULL: it gets a surrogate; name is nullable: NULL; non-personal kept
    assert ben["email"].startswith("erased_") and ben["name"] is None
    assert ben["created_at"] == rows[5]["created_at"]
    deleted = SqlConnector(_dataset(sql_url), root=tmp_path).erase(
        {"customer_id": frozenset({"1000"})}
    )
    assert (deleted.rows_found, deleted.rows_changed) == (1, 1)
    assert [r["id"] for r in _all(engine, people)] == [2, 3, 4, 5, 6, 7, 8]


def test_mysql_and_mariadb_url_forms(tmp_path: Path) -> None:
    """``mysql+pymysql://`` and ``mariadb+pymysql://`` both reach the server; a URL without an
    installed driver says what to install and write."""
    bad = _dataset("mysql+nosuchdriver://root@127.0.0.1:3306/test")
    with pytest.raises(ConfigError, match=r"trustcart\[mysql\].*mysql\+pymysql://"):
        SqlConnector(bad, root=tmp_path).count({"email": frozenset({"a@b.example"})})


@pytest.mark.mariadb
@pytest.mark.parametrize("scheme", ["mysql+pymysql", "mariadb+pymysql"])
def test_both_mariadb_schemes_work(mariadb_url: str, tmp_path: Path, scheme: str) -> None:
    url = make_url(mariadb_url).set(drivername=scheme).render_as_string(hide_password=False)
    eng = create_engine(mariadb_url)
    try:
        _people(eng, _rows())
    finally:
        eng.dispose()
    c = SqlConnector(_dataset(url), root=tmp_path)
    assert "charset=utf8mb4" in c.url
    rows = c.find({"email": frozenset({"anà@example.com"})}).rows
    assert [r["email"] for r in rows] == ["anà@example.com"]  # non-ASCII round-trips


@pytest.mark.mariadb
def test_missing_table_and_unknown_database_are_clear(mariadb_url: str, tmp_path: Path) -> None:
    c = SqlConnector(_dataset(mariadb_url), root=tmp_path)
    with pytest.raises(ConnectorError, match="table 'people' does not exist"):
        c.count({"email": frozenset({"a@b.example"})})
    gone = make_url(mariadb_url).set(database="tc_no_such_db").render_as_string()
    with pytest.raises(ConnectorError, match=r"cannot reach .*Unknown database.*nothing was"):
        SqlConnector(_dataset(gone), root=tmp_path).count({"email": frozenset({"a@b.example"})})
