"""The store on SQLite and PostgreSQL: migrations and the hash-chained log's tamper evidence."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from trustcart.errors import LedgerError, NotFound
from trustcart.store import GENESIS, Store, migrate
from trustcart.store.tables import Base


def test_migrations_create_the_models_schema(store: Store) -> None:
    assert migrate.current_revision(store.engine) == migrate.head_revision(store.engine)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_downgrade_to_base_and_back(store: Store) -> None:
    migrate.downgrade(store.engine, "base")
    assert migrate.current_revision(store.engine) is None
    assert "log_entries" not in inspect(store.engine).get_table_names()
    migrate.upgrade(store.engine)
    assert {"log_entries", "log_heads", "api_keys", "catalog_objects"} <= set(
        inspect(store.engine).get_table_names()
    )


def test_append_iterate_verify(store: Store) -> None:
    log = store.log("consent")
    assert log.head() == (0, GENESIS)
    assert log.verify().ok and log.verify().checked == 0
    first = log.append({"subject": "p1", "amount": Decimal("9.99")})
    assert first.seq == 1 and first.prev_hash == GENESIS
    more = log.append_many([{"i": i} for i in range(10)])
    assert [r.seq for r in more] == list(range(2, 12))
    assert more[0].prev_hash == first.hash
    assert len(log) == 11
    assert [r.seq for r in log.entries(batch=3)] == list(range(1, 12))
    assert log.get(1).payload == {"subject": "p1", "amount": "9.99"}
    assert log.get(5).created_at.tzinfo is not None
    result = log.verify(batch=4)
    assert result.ok and result.checked == 11 and result.head_seq == 11
    assert result.head_hash == more[-1].hash
    assert store.log_names() == ["consent"]
    # Logs are independent chains.
    other = store.log("decisions")
    other.append({"x": 1})
    assert other.get(1).prev_hash == GENESIS and log.verify().ok


def test_get_missing_and_bad_names(store: Store) -> None:
    with pytest.raises(NotFound):
        store.log("a").get(3)
    with pytest.raises(LedgerError, match="invalid log name"):
        store.log("bad name!")
    with pytest.raises(LedgerError, match="not JSON-serialisable"):
        store.log("a").append({"x": object()})


def test_append_in_caller_transaction_rolls_back_with_it(store: Store) -> None:
    log = store.log("admin")
    with pytest.raises(RuntimeError), store.write() as conn:
        log.append({"n": 1}, conn=conn)
        raise RuntimeError("caller failed after appending")
    assert len(log) == 0 and log.verify().ok
    log.append({"n": 2})
    assert log.get(1).payload == {"n": 2}


def _filled(store: Store, n: int = 6) -> None:
    store.log("ev").append_many([{"i": i} for i in range(n)])


def _sql(store: Store, statement: str, **params: object) -> None:
    with store.write() as conn:
        conn.execute(text(statement), params)


def test_edit_detected_at_position(store: Store) -> None:
    _filled(store)
    _sql(store, "UPDATE log_entries SET payload = :p WHERE log='ev' AND seq=4", p='{"i":99}')
    r = store.log("ev").verify()
    assert (r.ok, r.first_bad, r.checked) == (False, 4, 3)
    assert "edited" in (r.reason or "")


def test_deletion_in_middle_detected(store: Store) -> None:
    _filled(store)
    _sql(store, "DELETE FROM log_entries WHERE log='ev' AND seq=3")
    r = store.log("ev").verify()
    assert (r.ok, r.first_bad) == (False, 3)
    assert "missing" in (r.reason or "")


def test_deletion_and_renumbering_detected(store: Store) -> None:
    _filled(store)
    _sql(store, "DELETE FROM log_entries WHERE log='ev' AND seq=3")
    _sql(store, "UPDATE log_entries SET seq = seq - 1 WHERE log='ev' AND seq > 3")
    _sql(store, "UPDATE log_heads SET seq = 5 WHERE log='ev'")
    r = store.log("ev").verify()
    assert (r.ok, r.first_bad) == (False, 3)


def test_reordering_detected(store: Store) -> None:
    _filled(store)
    _sql(store, "UPDATE log_entries SET seq = 100 WHERE log='ev' AND seq=2")
    _sql(store, "UPDATE log_entries SET seq = 2 WHERE log='ev' AND seq=5")
    _sql(store, "UPDATE log_entries SET seq = 5 WHERE log='ev' AND seq=100")
    r = store.log("ev").verify()
    assert (r.ok, r.first_bad) == (False, 2)


def test_truncation_detected(store: Store) -> None:
    _filled(store)
    _sql(store, "DELETE FROM log_entries WHERE log='ev' AND seq >= 5")
    r = store.log("ev").verify()
    assert (r.ok, r.first_bad, r.checked) == (False, 5, 4)
    assert "removed from the end" in (r.reason or "")


def test_rehashed_edit_still_breaks_next_link(store: Store) -> None:
    """An attacker who recomputes an edited row's hash breaks the following row's link."""
    _filled(store)
    from trustcart.store.hashlog import link_hash

    rec = store.log("ev").get(2)
    forged = '{"i":42}'
    new_hash = link_hash("ev", 2, rec.created_at, rec.prev_hash, forged)
    _sql(
        store,
        "UPDATE log_entries SET payload = :p, hash = :h WHERE log='ev' AND seq=2",
        p=forged,
        h=new_hash,
    )
    r = store.log("ev").verify()
    assert (r.ok, r.first_bad) == (False, 3)
    assert "prev_hash" in (r.reason or "")


def test_concurrent_appends_from_threads_keep_one_chain(store: Store) -> None:
    log = store.log("busy")

    def work(worker: int) -> None:
        for i in range(20):
            log.append({"w": worker, "i": i})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    r = log.verify()
    assert r.ok and r.checked == 80


def _append_from_process(url: str, worker: int) -> None:
    s = Store.open(url, upgrade=False)
    for i in range(25):
        s.log("mp").append({"w": worker, "i": i})
    s.close()


def test_concurrent_appends_from_processes(db_url: str, store: Store) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_from_process, args=(db_url, w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    r = store.log("mp").verify()
    assert r.ok and r.checked == 75
