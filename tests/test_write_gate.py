"""SQLite writers of several processes queue on the write gate (a ``flock``) instead of sleeping
in SQLite's busy handler; every write still lands and the hash chain stays intact."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trustcart.store import Store

_WRITER = textwrap.dedent(
    """
    import sys
    from trustcart.store import Store
    store = Store.open(sys.argv[1], upgrade=False)
    log = store.log("gate-test")
    print("ready", flush=True)
    for i in range(int(sys.argv[3])):
        with store.write() as conn:
            log.append({"writer": sys.argv[2], "i": i}, conn=conn)
    print("done", flush=True)
    """
)


def _writer(url: str, name: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, url, name, str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_gate_exists_only_for_sqlite_files(store: Store, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        assert store._gate is not None
        assert store._gate.path.name == "store.db.writelock"
    else:
        assert store._gate is None  # PostgreSQL queues writers itself (row locks)


def test_writers_of_several_processes_all_land_in_one_intact_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store.open(url).close()
    procs = [_writer(url, f"w{k}", 150) for k in range(3)]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    store = Store.open(url, upgrade=False)
    try:
        log = store.log("gate-test")
        result = log.verify()
        assert result.ok and result.checked == 450
        per_writer: dict[str, list[int]] = {}
        for rec in log.entries():
            per_writer.setdefault(rec.payload["writer"], []).append(rec.payload["i"])
        assert per_writer == {f"w{k}": list(range(150)) for k in range(3)}
    finally:
        store.close()


def test_a_writer_of_another_process_waits_while_the_gate_is_held(tmp_path: Path) -> None:
    """Holding only the gate (not SQLite's lock) keeps the other process's write from
    starting, so the gate really is what orders them; it proceeds once released."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(url)
    assert store._gate is not None
    try:
        with store._gate.hold():
            proc = _writer(url, "other", 1)
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(timeout=2)  # blocked on the gate, not failed and not finished
            assert len(store.log("gate-test")) == 0
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "done" in out, err
        assert len(store.log("gate-test")) == 1
    finally:
        store.close()


def test_a_nested_write_does_not_hang_on_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write inside a write in one thread (a bug) must fail as before, not wait forever on
    the in-process lock: past the wait limit the gate lets SQLite's own lock decide."""
    from trustcart.store import writegate

    monkeypatch.setattr(writegate, "WAIT_SECONDS", 0.2)
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    assert store._gate is not None
    with store._gate.hold(), store._gate.hold():
        pass  # the inner hold gave up waiting and went on: no deadlock
    store.close()
