"""Shared fixtures: a fresh workspace per test, on SQLite and on the real PostgreSQL server.

PostgreSQL tests use a private schema per test (``search_path``) in the database named by
``TRUSTCART_TEST_PG_URL`` (default: the local server's ``test`` database), dropped afterwards.
They are never skipped silently: if the server is unreachable they fail, and `.ci/run` checks
the server first so the failure says why.

MariaDB (marker ``mariadb``) holds *shop* tables only — the stores the rights connectors reach
(TrustCart's own store runs on SQLite or PostgreSQL). Each test gets a fresh database on the
server named by ``TRUSTCART_TEST_MARIADB_URL`` (default: the local server as root), dropped
afterwards. Rights tests run once per shop backend (``shop_backend``: sqlite, postgres,
mariadb) by overriding ``db_url`` with :func:`db_url_for_shop`.

Spark tests (marker ``spark``) share one local-mode session (start-up takes 10–60 s); without
PySpark (the ``spark`` extra, installed by ``make dev``/``make test``) they fail, not skip:
deselect them explicitly with ``-m "not spark"``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from trustcart.config import init_workspace
from trustcart.store import Store
from trustcart.workspace import Workspace

CHROMIUM = "/usr/bin/chromium"
PG_URL = os.environ.get(
    "TRUSTCART_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get(
    "TRUSTCART_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
ROOT = Path(__file__).resolve().parent.parent
#: The SQL stores a rights connector is tested on.
SHOP_BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]
EXAMPLE_SHOP = ROOT / "examples" / "shop.yaml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TRUSTCART_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("TRUSTCART_") and name not in (
            "TRUSTCART_TEST_PG_URL",
            "TRUSTCART_TEST_MARIADB_URL",
        ):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def spark_session() -> Iterator[object]:
    """One local-mode SparkSession for the whole run (``local[2]``, loopback, no UI)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail(
            "PySpark is not installed: the spark tests need the 'spark' extra "
            "(`make dev` / `make test` install it: pip install -e '.[dev,spark]'); "
            "deselect them explicitly with -m 'not spark'"
        )
    from trustcart.fairness.spark_source import session

    spark = session("local[2]")
    try:
        yield spark
    finally:
        spark.stop()


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections use a fresh, empty PostgreSQL schema."""
    schema = f"tc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A URL of a fresh, empty MariaDB database (dropped afterwards, with the connectors' pools)."""
    try:
        import pymysql  # noqa: F401
    except ImportError:
        pytest.fail(
            "PyMySQL is not installed: the mariadb tests need the 'mysql' extra "
            "(`make dev` / `make test` install it: pip install -e '.[dev,spark,mysql]')"
        )
    from sqlalchemy.engine import make_url

    from trustcart.rights.connectors import dispose_engines

    name = f"tc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(MARIADB_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield make_url(MARIADB_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        dispose_engines()  # pooled connections to the database about to go
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE `{name}`"))
        admin.dispose()


@pytest.fixture(params=SHOP_BACKENDS)
def shop_backend(request: pytest.FixtureRequest) -> str:
    """Which server holds the shop's SQL tables (the stores the rights connectors reach)."""
    return str(request.param)


def db_url_for_shop(shop_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """TrustCart's own store for a shop backend: PostgreSQL with a PostgreSQL shop, else SQLite.

    Test modules that run per shop backend override ``db_url`` with this, so the workspace is
    not multiplied by a second parameter.
    """
    if shop_backend == "postgres":
        url: str = request.getfixturevalue("pg_schema_url")
        return url
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def shop_sql_url(shop_backend: str, workspace: Workspace, request: pytest.FixtureRequest) -> str:
    """Where the example shop's SQL tables go: a SQLite file in the workspace, the workspace's
    private PostgreSQL schema, or a fresh MariaDB database."""
    if shop_backend == "sqlite":
        return f"sqlite:///{workspace.root / 'shop-data' / 'shop.db'}"
    if shop_backend == "postgres":
        return str(workspace.store.engine.url.render_as_string(hide_password=False))
    url: str = request.getfixturevalue("mariadb_url")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for an empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_schema_url")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on each backend."""
    s = Store.open(db_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def workspace(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A fresh workspace on each backend (PostgreSQL selected via TRUSTCART_DATABASE_URL)."""
    root = init_workspace(tmp_path / "ws")
    if not db_url.startswith("sqlite"):
        monkeypatch.setenv("TRUSTCART_DATABASE_URL", db_url)
    ws = Workspace.open(root)
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Debian Chromium per test module (marker ``browser``), driven by Playwright.

    Never ``playwright install``: the system browser is used, and its absence is a failure
    that says how to install it, not a skip (`.ci/run` installs it).
    """
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    from trustcart.sitescan import CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
