"""The example shop's own stores, generated: a SQL database, a Parquet event export, a CSV.

Why generate real stores: rights requests, retention and the verification scan only prove
something when they run against real tables and files. ``shop.yaml`` declares connectors that
point here (``shop-data/`` under the workspace, or ``$SHOP_DB_URL`` for the SQL part, e.g. a
PostgreSQL database), so the demo, the tests and ``bench/rights.py`` exercise the same shop.

The data is synthetic and seeded; customer ``stylesense-customer-00042`` (the id the demo's
consent ledger uses too) has e-mail
``customer42@example.com``, device ``D0000042``, about two orders and three browsing events,
and an entry in the newsletter export when ``i % 3 == 0``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
)
from sqlalchemy.dialects import mysql

DATA_DIR = "shop-data"
DEFAULT_SQL_URL = f"sqlite:///{DATA_DIR}/shop.db"
#: Event files in the export; each holds a contiguous range of customers (an export keyed by
#: customer), so a search for one customer skips the other files by their statistics.
EVENT_FILES = 16


def customer_id(i: int) -> str:
    """The example shop's customer number for index ``i``."""
    return f"stylesense-customer-{i:05d}"


def email(i: int) -> str:
    """The example shop's e-mail for customer ``i``."""
    return f"customer{i}@example.com"


def device_id(i: int) -> str:
    """The example shop's device id for customer ``i``."""
    return f"D{i:07d}"


@dataclass(frozen=True)
class ShopStores:
    """Where the generated stores are."""

    sql_url: str
    events_dir: Path
    newsletter_csv: Path
    customers: int


def sql_url_for(root: Path) -> str:
    """The SQL store's URL: ``$SHOP_DB_URL`` or the SQLite file under the workspace."""
    url = os.environ.get("SHOP_DB_URL", DEFAULT_SQL_URL)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{root / url.removeprefix('sqlite:///')}"
    return url


#: Amounts and scores as 8-byte floats everywhere: MySQL/MariaDB's plain FLOAT is 4 bytes, and
#: an access export would show 80.12 as 80.12000274658203.
_DOUBLE = Float().with_variant(mysql.DOUBLE(), "mysql", "mariadb")


def _tables(md: MetaData) -> dict[str, Table]:
    ts = DateTime(timezone=True)
    return {
        "customers": Table(
            "customers",
            md,
            Column("customer_id", String(32), primary_key=True),
            Column("email", String(320), nullable=False, unique=True),
            Column("first_name", String(100)),
            Column("last_name", String(100)),
            Column("date_of_birth", String(10), nullable=True),
            Column("street", String(200)),
            Column("postal_code", String(16)),
            Column("city", String(100)),
            Column("country", String(2)),
            Column("marketing_preferences", String(100), nullable=True),
            Column("created_at", ts),
        ),
        "orders": Table(
            "orders",
            md,
            Column("order_id", String(16), primary_key=True),
            Column("customer_id", String(32), nullable=True),
            Column("items", String(200)),
            Column("total_amount", _DOUBLE),
            Column("shipping_address", String(300), nullable=True),
            Column("payment_reference", String(64), nullable=True),
            Column("fraud_score", _DOUBLE, nullable=True),
            Column("created_at", ts),
            Index("ix_orders_customer_id", "customer_id"),
        ),
        "fit_profiles": Table(
            "fit_profiles",
            md,
            Column("customer_id", String(32), primary_key=True),
            Column("size_profile", String(100)),
            Column("created_at", ts),
        ),
        "price_quotes": Table(
            "price_quotes",
            md,
            Column("quote_id", String(16), primary_key=True),
            Column("customer_id", String(32), nullable=True),
            Column("segment", String(32)),
            Column("quoted_price", _DOUBLE),
            Column("created_at", ts),
            Index("ix_price_quotes_customer_id", "customer_id"),
        ),
    }


_FIRST = ["Ana", "Ben", "Chloé", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivo", "Jun"]
_LAST = ["Silva", "Okafor", "Martin", "Patel", "Kowalski", "Nguyen", "Rossi", "Sato"]
_CITIES = [
    ("Lyon", "FR", "69001"),
    ("Berlin", "DE", "10115"),
    ("Austin", "US", "78701"),
    ("São Paulo", "BR", "01000-000"),
    ("Toronto", "CA", "M5H 2N2"),
]
_PAGES = ["/dresses", "/shoes", "/sale", "/jackets", "/bags", "/size-guide"]


def build_shop_stores(
    root: Path,
    *,
    customers: int = 1000,
    seed: int = 7,
    sql_url: str | None = None,
    now: datetime | None = None,
    batch: int = 50_000,
    event_files: int = EVENT_FILES,
) -> ShopStores:
    """Create (replacing) the example shop's stores under ``root``.

    Some rows are older than their dataset's retention, so ``trustcart retention run`` has
    something to do: orders go back 12 years (kept 10), events 20 months (kept 13).
    """
    now = now or datetime.now(UTC)
    rng = np.random.default_rng(seed)
    url = sql_url or sql_url_for(root)
    (root / DATA_DIR).mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    md = MetaData()
    tables = _tables(md)
    md.drop_all(engine)
    md.create_all(engine)

    def when(max_days: int, n: int) -> list[datetime]:
        return [
            now - timedelta(days=int(d), seconds=int(s))
            for d, s in zip(rng.integers(0, max_days, n), rng.integers(0, 86400, n), strict=True)
        ]

    with engine.begin() as conn:
        for start in range(0, customers, batch):
            idx = range(start + 1, min(customers, start + batch) + 1)
            n = len(idx)
            created = when(4 * 365, n)
            city = rng.integers(0, len(_CITIES), n)
            conn.execute(
                insert(tables["customers"]),
                [
                    {
                        "customer_id": customer_id(i),
                        "email": email(i),
                        "first_name": _FIRST[i % len(_FIRST)],
                        "last_name": _LAST[i % len(_LAST)],
                        "date_of_birth": None
                        if i % 4
                        else f"19{60 + i % 40}-0{1 + i % 9}-1{i % 9}",
                        "street": f"{i % 200 + 1} Example Street",
                        "postal_code": _CITIES[c][2],
                        "city": _CITIES[c][0],
                        "country": _CITIES[c][1],
                        "marketing_preferences": "email" if i % 2 else None,
                        "created_at": t,
                    }
                    for i, c, t in zip(idx, city, created, strict=True)
                ],
            )
            orders = []
            order_times = when(12 * 365, 2 * n)
            amounts = rng.gamma(2.0, 40.0, 2 * n)
            for k, i in enumerate(idx):
                for j in range(2):
                    m = 2 * k + j
                    orders.append(
                        {
                            "order_id": f"O{i:07d}{j}",
                            "customer_id": customer_id(i),
                            "items": f"{1 + m % 3} x {_PAGES[m % len(_PAGES)].strip('/')}",
                            "total_amount": round(float(amounts[m]), 2),
                            "shipping_address": f"{i % 200 + 1} Example Street",
                            "payment_reference": f"pay_{i:07d}{j}",
                            "fraud_score": 0.01 * (m % 50),
                            "created_at": order_times[m],
                        }
                    )
            conn.execute(insert(tables["orders"]), orders)
            conn.execute(
                insert(tables["fit_profiles"]),
                [
                    {
                        "customer_id": customer_id(i),
                        "size_profile": f"EU {34 + i % 12}",
                        "created_at": t,
                    }
                    for i, t in zip(idx, when(700, n), strict=True)
                ],
            )
            conn.execute(
                insert(tables["price_quotes"]),
                [
                    {
                        "quote_id": f"Q{i:07d}",
                        "customer_id": customer_id(i),
                        "segment": ["new", "regular", "loyal"][i % 3],
                        "quoted_price": round(49.0 + (i % 7), 2),
                        "created_at": t,
                    }
                    for i, t in zip(idx, when(300, n), strict=True)
                ],
            )
    engine.dispose()

    events = root / DATA_DIR / "browsing"
    events.mkdir(parents=True, exist_ok=True)
    for old in events.glob("*.parquet"):
        old.unlink()
    ids = np.arange(1, customers + 1)
    per = 3
    cust = np.repeat(ids, per)
    n_events = len(cust)
    ages = rng.integers(0, 600, n_events)
    event_times = np.datetime64(now.replace(tzinfo=None), "s") - ages.astype("timedelta64[D]")
    bucket = (cust - 1) * event_files // max(customers, 1)
    table_all = pa.table(
        {
            "device_id": pa.array([device_id(int(i)) for i in cust]),
            "cookie_id": pa.array([f"ck_{int(i):07d}" for i in cust]),
            "ip_address": pa.array([f"203.0.113.{int(i) % 250 + 1}" for i in cust]),
            "customer_id": pa.array([customer_id(int(i)) for i in cust]),
            "pages_viewed": pa.array([_PAGES[int(k) % len(_PAGES)] for k in range(n_events)]),
            "search_terms": pa.array(
                ["summer dress" if k % 5 == 0 else None for k in range(n_events)], type=pa.string()
            ),
            "created_at": pa.array(event_times, type=pa.timestamp("s", tz="UTC")),
        }
    )
    for b in range(event_files):
        mask = pa.array(bucket == b)
        pq.write_table(table_all.filter(mask), events / f"part-{b:03d}.parquet")

    news = root / DATA_DIR / "newsletter.csv"
    with news.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["email", "first_name", "subscribed_at"])
        for i in range(3, customers + 1, 3):
            w.writerow(
                [
                    email(i),
                    _FIRST[i % len(_FIRST)],
                    (now - timedelta(days=i % 900)).date().isoformat(),
                ]
            )
    return ShopStores(sql_url=url, events_dir=events, newsletter_csv=news, customers=customers)
