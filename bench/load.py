"""Steady load on the real server: decisions and consent events at a fixed rate, 2 workers.

A fresh workspace (SQLite by default; ``--database-url`` for PostgreSQL, in a new schema that
is dropped afterwards) prepared as in ``bench/gateway_http.py`` (its ``setup`` is imported:
the example data map, 1,000 people who consented to dynamic pricing, a LightGBM pricing model
trained with ``trustcart models train``, a service key); ``trustcart serve --workers 2`` in its
own process on a free loopback port; then, for ``--seconds`` (2 minutes by default):

* ``POST /v1/decisions/price`` at ``--decision-rate`` per second, for those 1,000 people;
* ``POST /v1/consent/events`` at ``--consent-rate`` per second, the same people changing
  their choice for ``personalization`` (granted / withdrawn in turn; pricing is untouched).

**Open loop:** request *k* of a stream is due at ``start + k / rate`` whatever happened to the
earlier ones (a closed loop would slow down with the server and hide its queueing). Latency is
measured from the due time, so a request that waited for a connection or for a slow server
counts all of it (no coordinated omission). Requests share a pool of keep-alive connections
(at most ``--connections``, none reused after 3 s idle: uvicorn closes idle ones after 5 s); if
the pool is exhausted a request waits, and that wait is in its latency. The generator stops by
itself; nothing listens beyond loopback.

Reported: achieved throughput per stream, p50/p99/max latency, errors (any answer other than
201, or no answer, with the status histogram; the target is 0), how late the generator sent
(it must keep up for the rate to be the one configured), the resident memory (VmRSS from
/proc) of each uvicorn worker after a warm-up and at the end, and worker restarts. Afterwards
every acknowledged decision and consent event is looked up in the store and the hash chains
(decision log, consent ledger and their copy tables) are verified.

    .venv/bin/python bench/load.py [--seconds 120] [--decision-rate 100] [--consent-rate 25]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--json FILE]

``tests/test_load.py`` runs a short version of :func:`run` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

# The workspace set-up, port and percentile helpers of the HTTP gateway benchmark (imported,
# not copied: one definition of "a workspace ready to price").
from gateway_http import SUBJECTS, TRUSTCART, free_port, pct, request, setup  # noqa: E402

CONTEXTS = [
    {"loyalty_tier": t, "basket_size": b, "stock_level": s}
    for t in range(4)
    for b in (1, 4, 9)
    for s in (0.1, 0.5, 0.9)
]


@dataclass
class Stream:
    """What one stream of requests got."""

    name: str
    rate: float
    sent: int = 0
    ok: int = 0
    status: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds from the due time
    lateness: list[float] = field(default_factory=list)  # seconds the send started late
    acked: list[str] = field(default_factory=list)  # ids the server acknowledged

    def summary(self, seconds: float) -> dict[str, Any]:
        """Figures for the report (milliseconds)."""
        lat = self.latencies or [0.0]
        late = self.lateness or [0.0]
        return {
            "rate_configured": self.rate,
            "sent": self.sent,
            "acknowledged": self.ok,
            "throughput": self.ok / seconds if seconds else 0.0,
            "errors": self.sent - self.ok,
            "status": dict(sorted(self.status.items())),
            "p50_ms": pct(lat, 0.5) * 1000,
            "p99_ms": pct(lat, 0.99) * 1000,
            "max_ms": max(lat) * 1000,
            "send_late_p99_ms": pct(late, 0.99) * 1000,
        }


@dataclass
class Report:
    """Everything :func:`run` measured and checked."""

    backend: str
    seconds: float
    warmup: float
    elapsed: float
    streams: dict[str, dict[str, Any]]
    errors: int
    rss_start_kb: dict[str, int]
    rss_end_kb: dict[str, int]
    rss_peak_kb: dict[str, int]
    worker_restarts: int
    acknowledged: dict[str, int]
    missing: dict[str, int]
    chains_ok: dict[str, bool]
    generator_cpu: float
    load_before: str
    load_after: str

    @property
    def rss_growth_kb(self) -> int:
        """Growth of the workers' summed RSS from after the warm-up to the end."""
        return sum(self.rss_end_kb.values()) - sum(self.rss_start_kb.values())

    def table(self) -> str:
        """The report as a Markdown table."""
        rows: list[tuple[str, str]] = [("backend", self.backend)]
        rows.append(("measured / warm-up seconds", f"{self.elapsed:.1f} / {self.warmup:.0f}"))
        for name, s in self.streams.items():
            bad = {k: v for k, v in s["status"].items() if k != "201"}
            rows += [
                (
                    f"{name}: configured rate / achieved throughput (/s)",
                    f"{s['rate_configured']:,.0f} / **{s['throughput']:,.1f}**",
                ),
                (
                    f"{name}: latency p50 / p99 / max ms (from due time)",
                    f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} / {s['max_ms']:.0f}",
                ),
                (
                    f"{name}: sent / acknowledged (201) / errors",
                    f"{s['sent']:,} / {s['acknowledged']:,} / **{s['errors']}**"
                    + (f" {bad}" if bad else ""),
                ),
                (f"{name}: generator send lateness p99 ms", f"{s['send_late_p99_ms']:.1f}"),
            ]
        start, end = self.rss_start_kb, self.rss_end_kb
        rows.append(
            (
                "worker RSS after warm-up → end (MiB)",
                ", ".join(
                    f"{start.get(p, 0) / 1024:.0f} → {end.get(p, 0) / 1024:.0f}"
                    for p in sorted(set(start) | set(end))
                ),
            )
        )
        rows.append(("workers' RSS growth (MiB)", f"{self.rss_growth_kb / 1024:+.1f}"))
        rows.append(("worker restarts", str(self.worker_restarts)))
        rows.append(
            (
                "acknowledged writes missing from the store",
                ", ".join(
                    f"{k}: {self.missing[k]} of {self.acknowledged[k]:,}" for k in self.missing
                ),
            )
        )
        rows.append(
            (
                "hash chains + copies verify",
                ", ".join(f"{k}: {v}" for k, v in self.chains_ok.items()),
            )
        )
        rows.append(("load generator CPU (cores)", f"{self.generator_cpu:.2f}"))
        rows.append(
            ("load average 1/5/15 min: before; after", f"{self.load_before}; {self.load_after}")
        )
        return "| measure | value |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


# --- the server's processes ---------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """uvicorn's worker processes: the children of ``pid``, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            with contextlib.suppress(OSError):
                # multiprocessing's resource tracker is a child too, not a worker
                if b"resource_tracker" not in Path(f"/proc/{entry}/cmdline").read_bytes():
                    out.append(int(entry))
    return sorted(out)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _workers_rss(server: int) -> dict[str, int]:
    """VmRSS (KiB) of each worker process, keyed by pid (as text, for JSON)."""
    out = {}
    for pid in _children(server):
        with contextlib.suppress(OSError):
            out[str(pid)] = _rss_kb(pid)
    return out


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _wait_ready(proc: subprocess.Popen[bytes], port: int, workers: int, log: Path) -> None:
    """Until /healthz answers and every worker process exists (90 s at most)."""
    deadline = time.monotonic() + 90
    probe = request("/healthz", "", None)
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(probe)
                if s.recv(64).startswith(b"HTTP/1.1 200") and len(_children(proc.pid)) >= workers:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


# --- the open-loop generator --------------------------------------------------------------------


#: uvicorn closes a keep-alive connection idle for 5 s (``timeout_keep_alive``); a request
#: written on it just then is never read by the server. Like an HTTP client's pool, the
#: generator drops connections idle for longer than this instead of reusing them.
MAX_IDLE = 3.0


class _Pool:
    """Keep-alive connections to the server, at most ``size`` open at once; the most recently
    used is reused first, and one idle for more than ``MAX_IDLE`` seconds is closed."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.free: list[tuple[float, tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = []
        self.slots = asyncio.Semaphore(size)

    @contextlib.asynccontextmanager
    async def connection(self) -> Any:
        async with self.slots:
            now = time.perf_counter()
            conn = None
            while self.free and conn is None:
                used, conn = self.free.pop()
                if now - used > MAX_IDLE:
                    conn[1].close()
                    conn = None
            if conn is None:
                conn = await asyncio.open_connection("127.0.0.1", self.port)
            healthy = False
            try:
                yield conn
                healthy = True
            finally:
                if healthy:
                    self.free.append((time.perf_counter(), conn))
                else:
                    conn[1].close()

    def close(self) -> None:
        for _, (_, writer) in self.free:
            writer.close()


async def _exchange(
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes
) -> tuple[int, bytes]:
    reader, writer = conn
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    code = int(head[9:12])
    n = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            n = int(line[15:])
    return code, await reader.readexactly(n)


def _ids(stream: str, body: bytes) -> list[str]:
    doc = orjson.loads(body)
    if stream == "consent":
        return [e["id"] for e in doc["events"]]
    return [doc["id"]]


async def _one(
    pool: _Pool, stream: Stream, raw: bytes, due: float, measured: bool, timeout: float
) -> None:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout), pool.connection() as conn:
            code, body = await _exchange(conn, raw)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as e:
        code, body = 0, type(e).__name__.encode()
    done = time.perf_counter()
    if code == 201:
        stream.acked += _ids(stream.name, body)  # checked against the store, warm-up included
    if not measured:
        return
    stream.sent += 1
    stream.latencies.append(done - due)
    stream.lateness.append(max(0.0, started - due))
    key = str(code) if code else f"no answer ({body.decode()})"
    stream.status[key] = stream.status.get(key, 0) + 1
    if code == 201:
        stream.ok += 1


async def _drive(
    pool: _Pool,
    stream: Stream,
    reqs: list[bytes],
    start: float,
    warmup: float,
    seconds: float,
    timeout: float,
) -> None:
    """Launch request k at ``start + k / rate`` until ``start + warmup + seconds``."""
    if stream.rate <= 0:
        return
    tasks: set[asyncio.Task[None]] = set()
    end = start + warmup + seconds
    cycle = itertools.cycle(reqs)
    for k in itertools.count():
        due = start + k / stream.rate
        if due >= end:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(
            _one(pool, stream, next(cycle), due, due >= start + warmup, timeout)
        )
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)


async def _generate(
    port: int,
    streams: list[tuple[Stream, list[bytes]]],
    warmup: float,
    seconds: float,
    connections: int,
    timeout: float,
    on_measure: Any,
) -> float:
    pool = _Pool(port, connections)
    start = time.perf_counter() + 0.2

    async def mark() -> None:
        await asyncio.sleep(max(0.0, start + warmup - time.perf_counter()))
        on_measure()

    marker = asyncio.create_task(mark())
    await asyncio.gather(
        *(_drive(pool, s, reqs, start, warmup, seconds, timeout) for s, reqs in streams)
    )
    await marker
    pool.close()
    return time.perf_counter() - (start + warmup)


# --- the run --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _env(name: str, value: str | None) -> Iterator[None]:
    old = os.environ.get(name)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A URL whose connections use a new, empty PostgreSQL schema (dropped afterwards), so a
    load run never touches existing data."""
    from sqlalchemy import create_engine, text

    schema = f"tc_load_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _bodies(key: str, notice: str) -> tuple[list[bytes], list[bytes]]:
    decisions = [
        request(
            "/v1/decisions/price",
            key,
            orjson.dumps(
                {
                    "subject": f"c-{i}",
                    "context": CONTEXTS[i % len(CONTEXTS)],
                    "jurisdiction": "EU",
                    "list_price": f"{19 + i % 40}.90",
                }
            ),
        )
        for i in range(SUBJECTS)
    ]
    consent = [
        request(
            "/v1/consent/events",
            key,
            orjson.dumps(
                {
                    "subject": f"c-{i % SUBJECTS}",
                    "purposes": ["personalization"],
                    "decision": "granted" if (i // SUBJECTS) % 2 == 0 else "withdrawn",
                    "mechanism": "preference_center",
                    "jurisdiction": "EU",
                    "notice_version": notice,
                }
            ),
        )
        for i in range(2 * SUBJECTS)
    ]
    return decisions, consent


def _check_store(root: Path, acked: dict[str, list[str]]) -> tuple[dict[str, int], dict[str, bool]]:
    """How many acknowledged ids are missing from the store; whether the chains verify."""
    from sqlalchemy import text

    from trustcart.consent import CONSENT_LOG, verify_consent_copies
    from trustcart.gateway import DecisionLog
    from trustcart.workspace import Workspace

    with Workspace.open(root) as ws:
        with ws.store.read() as conn:
            stored = {
                "decisions": {r[0] for r in conn.execute(text("SELECT id FROM decisions"))},
                "consent": {r[0] for r in conn.execute(text("SELECT id FROM consent_events"))},
            }
        chain, copies = DecisionLog(ws.store).verify()
        chains = {
            "decision log": chain.ok and copies.ok,
            "consent ledger": ws.store.log(CONSENT_LOG).verify().ok
            and verify_consent_copies(ws.store).ok,
        }
    missing = {k: len(set(ids) - stored[k]) for k, ids in acked.items()}
    return missing, chains


def run(
    *,
    seconds: float = 120.0,
    decision_rate: float = 100.0,
    consent_rate: float = 25.0,
    database_url: str | None = None,
    workers: int = 2,
    warmup: float = 5.0,
    connections: int = 64,
    timeout: float = 10.0,
    workdir: Path | None = None,
) -> Report:
    """Prepare a workspace, serve it, drive it at the configured rates, check the store.

    ``database_url`` is used as given (the caller makes it fresh: see :func:`fresh_schema`);
    ``None`` keeps the workspace's own SQLite file.
    """
    from trustcart.consent import list_notices
    from trustcart.workspace import Workspace

    with contextlib.ExitStack() as stack:
        tmp = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        stack.enter_context(_env("TRUSTCART_DATABASE_URL", database_url))
        root, key, _model = setup(tmp)
        with Workspace.open(root) as ws:
            backend = ws.store.dialect
            notice = list_notices(ws.store)[-1].version
        decisions_raw, consent_raw = _bodies(key, notice)
        streams = {
            "decisions": Stream("decisions", decision_rate),
            "consent": Stream("consent", consent_rate),
        }
        port = free_port()
        log_path = tmp / "serve.log"
        log = stack.enter_context(log_path.open("wb"))
        load_before = _loadavg()
        proc = subprocess.Popen(
            [TRUSTCART, "-w", str(root), "serve", "--port", str(port), "--workers", str(workers)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        rss: dict[str, dict[str, int]] = {"start": {}, "end": {}, "peak": {}}
        try:
            _wait_ready(proc, port, workers, log_path)
            first_workers = set(_children(proc.pid))

            def measure_start() -> None:
                rss["start"] = _workers_rss(proc.pid)

            cpu0 = time.process_time()
            sampler_stop = asyncio.Event()

            async def main() -> float:
                async def sample() -> None:  # peak RSS, once a second
                    while not sampler_stop.is_set():
                        for pid, kb in _workers_rss(proc.pid).items():
                            rss["peak"][pid] = max(rss["peak"].get(pid, 0), kb)
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(sampler_stop.wait(), 1.0)

                sampler = asyncio.create_task(sample())
                elapsed = await _generate(
                    port,
                    [
                        (streams["decisions"], decisions_raw),
                        (streams["consent"], consent_raw),
                    ],
                    warmup,
                    seconds,
                    connections,
                    timeout,
                    measure_start,
                )
                sampler_stop.set()
                await sampler
                return elapsed

            elapsed = asyncio.run(main())
            generator_cpu = (time.process_time() - cpu0) / (elapsed + warmup)
            rss["end"] = _workers_rss(proc.pid)
            restarts = len(set(_children(proc.pid)) - first_workers)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        load_after = _loadavg()
        acked = {k: s.acked for k, s in streams.items()}
        missing, chains = _check_store(root, acked)
    summaries = {k: s.summary(elapsed) for k, s in streams.items()}
    return Report(
        backend=backend,
        seconds=seconds,
        warmup=warmup,
        elapsed=elapsed,
        streams=summaries,
        errors=sum(s["errors"] for s in summaries.values()),
        rss_start_kb=rss["start"],
        rss_end_kb=rss["end"],
        rss_peak_kb=rss["peak"],
        worker_restarts=restarts,
        acknowledged={k: len(v) for k, v in acked.items()},
        missing=missing,
        chains_ok=chains,
        generator_cpu=generator_cpu,
        load_before=load_before,
        load_after=load_after,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="measured duration")
    parser.add_argument("--decision-rate", type=float, default=100.0, help="decisions per second")
    parser.add_argument("--consent-rate", type=float, default=25.0, help="consent posts per second")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at the rate first")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64, help="keep-alive pool size")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL: the run uses a new schema there, dropped afterwards",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(fresh_schema(args.database_url)) if args.database_url else None
        report = run(
            seconds=args.seconds,
            decision_rate=args.decision_rate,
            consent_rate=args.consent_rate,
            database_url=url,
            workers=args.workers,
            warmup=args.warmup,
            connections=args.connections,
        )
    print(
        f"\n### Steady load ({report.backend}, {args.workers} workers, "
        f"{args.seconds:.0f} s, open loop)\n"
    )
    print(report.table())
    if args.json:
        args.json.write_text(orjson.dumps(asdict(report), option=orjson.OPT_INDENT_2).decode())
    ok = (
        report.errors == 0
        and not any(report.missing.values())
        and all(report.chains_ok.values())
        and report.worker_restarts == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
