"""The event-loop path of the gateway (what the HTTP API uses): ``Gateway.decide_async`` and
``DecisionLog.append_async`` answer only after the group commit, with the position the log
really holds; a failed commit fails every waiter; a waiter that gave up still leaves a logged,
verifiable record; several event loops share one writer."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from sqlalchemy import select

from _gateway_fixtures import choose
from trustcart.consent import ConsentService
from trustcart.gateway import DecisionLog, DecisionRequest, Gateway
from trustcart.store import Store
from trustcart.store.tables import DecisionRow, table_of
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]
CTX = {"loyalty_tier": 2, "basket_size": 4, "stock_level": 0.4}
_rows = table_of(DecisionRow)


def _request(subject: str) -> DecisionRequest:
    return DecisionRequest("price", subject, CTX, None, "EU", "49.90")


def _stored(store: Store, decision_id: str) -> int | None:
    with store.read() as conn:
        seq = conn.execute(select(_rows.c.seq).where(_rows.c.id == decision_id)).scalar()
    return None if seq is None else int(seq)


def test_concurrent_async_decisions_are_durable_when_they_return(
    gateway: Gateway, consent: ConsentService, workspace: Workspace
) -> None:
    for i in range(8):
        choose(consent, f"c-{i}", ["dynamic_pricing"], "granted")
    # another connection pool on the same database: what a crash-restarted server would see
    other = Store.open(workspace.settings.resolved_database_url, upgrade=False)
    seen_at_return: list[int | None] = []

    async def one(i: int) -> Any:
        d = await gateway.decide_async(_request(f"c-{i % 8}"))
        seen_at_return.append(_stored(other, d.id))  # committed before the coroutine resumed
        return d

    async def main() -> list[Any]:
        return await asyncio.gather(*(one(i) for i in range(60)))

    try:
        decisions = asyncio.run(main())
    finally:
        other.close()
    assert None not in seen_at_return
    assert sorted(seen_at_return) == sorted(d.seq for d in decisions)  # type: ignore[type-var]
    assert sorted(d.seq for d in decisions) == list(range(1, 61))
    for d in decisions:  # the position and time returned are the log's own
        logged = gateway.get(d.id)
        assert logged["seq"] == d.seq and logged["created_at"] == d.created_at.isoformat()
        assert logged["output"] == d.output
        assert d.personalised  # the consented feature was used
    chain, copies = gateway.log.verify()
    assert chain.ok and chain.checked == 60 and copies.ok
    assert gateway.log.batches < 60  # waiters shared commits


def test_a_failed_commit_fails_every_waiter_and_logs_nothing(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = gateway.log
    real = log._write
    gate = threading.Event()

    def failing(payloads: list[dict[str, Any]]) -> Any:
        gate.wait(5)  # let every waiter queue into the same batch
        raise OSError("disk full")

    monkeypatch.setattr(log, "_write", failing)

    async def main() -> list[Any]:
        tasks = [asyncio.ensure_future(gateway.decide_async(_request("c-1"))) for _ in range(5)]
        await asyncio.sleep(0.2)
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    assert all(isinstance(r, OSError) and "disk full" in str(r) for r in results)
    assert len(log.log) == 0
    monkeypatch.setattr(log, "_write", real)

    async def again() -> Any:
        return await gateway.decide_async(_request("c-1"))

    assert asyncio.run(again()).seq == 1  # the writer survived the failure


def test_a_waiter_that_gave_up_still_leaves_a_verified_record(
    workspace: Workspace, gateway: Gateway
) -> None:
    """Like a client hanging up after sending: the answer is lost, the evidence is not."""
    d = gateway.prepare(_request("c-2"))

    async def main() -> None:
        task = asyncio.ensure_future(gateway.log.append_async(d.payload()))
        await asyncio.sleep(0)  # queued
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)

    asyncio.run(main())
    gateway.log.close()  # drains the queue
    assert _stored(workspace.store, d.id) == 1
    chain, copies = gateway.log.verify()
    assert chain.ok and copies.ok


def test_two_event_loops_share_one_writer(gateway: Gateway) -> None:
    out: dict[str, list[int]] = {}

    def loop_thread(name: str) -> None:
        async def main() -> list[int]:
            ds = await asyncio.gather(
                *(gateway.decide_async(_request(f"{name}-{i}")) for i in range(20))
            )
            return [d.seq for d in ds]

        out[name] = asyncio.run(main())

    threads = [threading.Thread(target=loop_thread, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(out["a"] + out["b"]) == list(range(1, 41))
    assert gateway.log.verify()[0].ok


def test_sync_mode_append_async_commits_in_a_thread(workspace: Workspace, gateway: Gateway) -> None:
    log = DecisionLog(workspace.store, mode="sync")
    d = gateway.prepare(_request("c-3"))

    async def main() -> tuple[int, Any]:
        return await log.append_async(d.payload())

    seq, _at = asyncio.run(main())
    assert seq == 1 and _stored(workspace.store, d.id) == 1 and log.batches == 1
    assert log._thread is None  # no writer thread in sync mode


def test_a_returning_person_is_decided_on_the_loop_a_new_one_in_a_thread(
    gateway: Gateway, consent: ConsentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``prepare`` runs on the event loop only when it needs no database (key in memory,
    polls not due); the answer is the same either way and a withdrawal recorded meanwhile is
    honoured at once."""
    # the fixtures poll on every call (max_staleness 0); a server polls at most every 50 ms/1 s
    gateway.max_staleness = gateway.keys.max_staleness = consent.index.max_staleness = 60.0
    choose(consent, "c-loop", ["dynamic_pricing"], "granted")
    hops: list[str] = []
    threads: list[int] = []
    real_to_thread, real_prepare = asyncio.to_thread, gateway.prepare

    async def to_thread(f: Any, *args: Any) -> Any:
        hops.append(getattr(f, "__name__", "?"))
        return await real_to_thread(f, *args)

    def prepare(req: DecisionRequest) -> Any:
        threads.append(threading.get_ident())
        return real_prepare(req)

    monkeypatch.setattr(asyncio, "to_thread", to_thread)
    monkeypatch.setattr(gateway, "prepare", prepare)

    async def main() -> list[Any]:
        loop_thread = threading.get_ident()
        first = await gateway.decide_async(_request("c-loop"))  # new key: created in a thread
        assert hops == ["prepare"] and threads[-1] != loop_thread
        assert gateway.prepare_is_cpu_only(_request("c-loop"))
        second = await gateway.decide_async(_request("c-loop"))
        assert hops == ["prepare"] and threads[-1] == loop_thread  # no hop
        gateway.consent.index._checked = 0.0  # a poll of the consent log is due
        assert not gateway.prepare_is_cpu_only(_request("c-loop"))
        third = await gateway.decide_async(_request("c-loop"))
        assert hops == ["prepare", "prepare"] and threads[-1] != loop_thread
        gateway._checked_at = 0.0  # a poll of the proxies is due
        assert not gateway.prepare_is_cpu_only(_request("c-loop"))
        await gateway.decide_async(_request("c-loop"))
        assert len(hops) == 3
        choose(consent, "c-loop", ["dynamic_pricing"], "withdrawn")
        assert gateway.prepare_is_cpu_only(_request("c-loop"))
        fourth = await gateway.decide_async(_request("c-loop"))
        return [first, second, third, fourth]

    first, second, third, fourth = asyncio.run(main())
    assert first.output == second.output == third.output and second.personalised
    assert fourth.personalised is False and fourth.output != second.output
    assert [d.seq for d in (first, second, third)] == sorted({first.seq, second.seq, third.seq})
