"""Decision gateway over HTTP: decisions/s and latency of a real `trustcart serve`.

A fresh workspace on SQLite (WAL, synchronous=NORMAL) with the example data map, 1,000 people
who consented to dynamic pricing, and a LightGBM pricing model trained with `trustcart models
train`; `trustcart serve --workers 2` (uvicorn) in its own process; a load generator on the
same machine: asyncio, one keep-alive connection per concurrent client, requests pre-encoded
(so the generator spends as little of the 2 cores as possible). Every decision is logged (hash
chain + copy table, group commit) before its 201 is sent; afterwards every acknowledged
decision is checked to be in the log and the chain verified.

Figures: decisions/s, p50/p99 latency, CPU used by the server and by the generator, the
server's CPU per decision (the figure that does not depend on what else runs on the machine:
2 cores / CPU per decision bounds the rate), and the ratio to a bare model call (LightGBM
one-row predict in this process). The same generator against GET /healthz (no auth, no model,
no database) gives the HTTP stack's ceiling here.

    .venv/bin/python bench/gateway_http.py [SECONDS] [CONNECTIONS ...]
    BENCH_DB=postgres .venv/bin/python bench/gateway_http.py ...   # the PostgreSQL server

With ``BENCH_DB=postgres`` the workspace's database is a fresh schema in
``$TRUSTCART_TEST_PG_URL`` (default: the local server's ``test`` database), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _gateway_fixtures import training_frame  # noqa: E402
from trustcart.catalog import load_manifest  # noqa: E402
from trustcart.catalog.repository import save_datamap  # noqa: E402
from trustcart.config import init_workspace  # noqa: E402
from trustcart.consent import (  # noqa: E402
    ConsentEventIn,
    ConsentService,
    datamap_notice,
    register_notice,
)
from trustcart.gateway import DecisionLog  # noqa: E402
from trustcart.governance import create_key  # noqa: E402
from trustcart.models import train_model  # noqa: E402
from trustcart.workspace import Workspace  # noqa: E402

SUBJECTS = 1000
TRUSTCART = str(Path(sys.executable).parent / "trustcart")
FEATURES = [
    "loyalty_tier=price_quotes.segment",
    "basket_size=user.behavior.purchase_history",
    "stock_level=system.operations",
]


PG_URL = os.environ.get(
    "TRUSTCART_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def database() -> Iterator[str]:
    """SQLite (the workspace's file) or a fresh PostgreSQL schema, per ``BENCH_DB``."""
    if os.environ.get("BENCH_DB", "sqlite") != "postgres":
        yield "SQLite"
        return
    from sqlalchemy import create_engine, text

    schema = f"tc_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    os.environ["TRUSTCART_DATABASE_URL"] = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        yield "PostgreSQL"
    finally:
        del os.environ["TRUSTCART_DATABASE_URL"]
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def setup(root: Path) -> tuple[Path, str, object]:
    ws = Workspace.open(init_workspace(root / "ws"))
    save_datamap(ws.store, load_manifest(ROOT / "examples" / "shop.yaml"))
    svc = ConsentService(ws)
    notice = register_notice(ws.store, **datamap_notice(svc.datamap))
    svc.reload()
    svc.record_many(
        [
            ConsentEventIn(
                subject=f"c-{i}",
                purposes=["dynamic_pricing"],
                decision="granted",
                mechanism="opt_in_checkbox",
                jurisdiction="EU",
                notice_version=notice.version,
            )
            for i in range(SUBJECTS)
        ]
    )
    data = root / "quotes.parquet"
    training_frame(2000).to_parquet(data, index=False)
    trained = train_model(
        ws,
        "price",
        data,
        target="adjustment",
        features=FEATURES,
        purpose="dynamic_pricing",
        consent=svc,
    )
    key = create_key(ws.store, role="service", name="bench")[0]
    ws.close()
    return root / "ws", key, trained.model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its children (the uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def request(path: str, key: str, body: bytes | None) -> bytes:
    if body is None:
        return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def client(
    port: int,
    reqs: list[bytes],
    offset: int,
    until: float,
    lat: list[float],
    status: dict[int, int],
    ids: list[bytes],
    stop: int | None = None,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < until and (stop is None or i < offset + stop):
            t = time.perf_counter()
            writer.write(reqs[i % len(reqs)])
            head = await reader.readuntil(b"\r\n\r\n")
            code = int(head[9:12])
            n = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    n = int(line[15:])
            body = await reader.readexactly(n)
            lat.append(time.perf_counter() - t)
            status[code] = status.get(code, 0) + 1
            if code == 201:
                ids.append(body[7:37])  # {"id":"dec_…", …: the id is first
            i += 1
    finally:
        writer.close()


async def once(port: int, reqs: list[bytes], conns: int) -> dict[str, object]:
    """Each request exactly once, over ``conns`` connections (first decisions of new people)."""
    lat: list[float] = []
    status: dict[int, int] = {}
    ids: list[bytes] = []
    t0 = time.perf_counter()
    await asyncio.gather(
        *(
            client(port, reqs[k::conns], 0, math.inf, lat, status, ids, stop=len(reqs[k::conns]))
            for k in range(conns)
        )
    )
    el = time.perf_counter() - t0
    return {
        "n": len(lat),
        "rate": len(lat) / el,
        "p50": pct(lat, 0.5) * 1000,
        "p99": pct(lat, 0.99) * 1000,
        "status": status,
        "ids": ids,
    }


async def load(port: int, reqs: list[bytes], conns: int, seconds: float) -> dict[str, object]:
    lat: list[float] = []
    status: dict[int, int] = {}
    ids: list[bytes] = []
    until = time.perf_counter() + seconds
    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(
        *(client(port, reqs, k * 7919, until, lat, status, ids) for k in range(conns))
    )
    el = time.perf_counter() - t0
    return {
        "n": len(lat),
        "rate": len(lat) / el,
        "p50": pct(lat, 0.5) * 1000,
        "p99": pct(lat, 0.99) * 1000,
        "status": status,
        "ids": ids,
        "gen_cpu": (time.process_time() - c0) / el,
        "elapsed": el,
    }


def breakdown(root: Path, key: str, reqs: list[bytes]) -> list[tuple[str, str]]:
    """CPU per request of each layer, in this process, one request at a time (no network):
    where a decision's CPU goes."""
    import logging

    from trustcart.api.app import create_app
    from trustcart.api.routers.decisions import gateway_of
    from trustcart.gateway import DecisionRequest
    from trustcart.governance import authenticate, cached_principal

    logging.basicConfig(level=logging.INFO, stream=open(os.devnull, "w"))  # noqa: SIM115
    ws = Workspace.open(root)
    app = create_app(ws)
    gw = gateway_of(app)
    ctx = {"loyalty_tier": 2, "basket_size": 4, "stock_level": 0.4}

    def cpu_us(f: object, n: int) -> float:
        for _ in range(30):
            f()  # type: ignore[operator]
        c = time.process_time()
        for _ in range(n):
            f()  # type: ignore[operator]
        return (time.process_time() - c) / n * 1e6

    def parts(raw: bytes) -> tuple[dict[str, object], object, object]:
        """An HTTP/1.1 request as ASGI scope, receive and send (no network)."""
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        method, path, _ = lines[0].split(b" ")
        headers = [tuple(x.split(b": ", 1)) for x in lines[1:]]
        headers = [(k.lower(), v) for k, v in headers]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method.decode(),
            "scheme": "http",
            "path": path.decode(),
            "raw_path": path,
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: object) -> None:
            return None

        return scope, receive, send

    def asgi(raw: bytes) -> object:
        loop = asyncio.new_event_loop()
        return lambda: loop.run_until_complete(app(*parts(raw)))  # type: ignore[arg-type]

    def asgi_many(raws: list[bytes], n: int) -> object:
        """``n`` requests in flight at once (they share group commits, as under load)."""
        loop = asyncio.new_event_loop()

        async def all_at_once() -> None:
            await asyncio.gather(*(app(*parts(r)) for r in raws[:n]))  # type: ignore[arg-type]

        return lambda: loop.run_until_complete(all_at_once())

    i = [0]

    def prepare() -> None:
        i[0] += 1
        gw.prepare(DecisionRequest("price", f"c-{i[0] % SUBJECTS}", ctx, None, "EU", "49.90"))

    rows = [
        (
            "… HTTP stack alone: GET /healthz through the app",
            cpu_us(asgi(request("/healthz", key, None)), 2000),
        ),
        (
            "… API key check, looked up (a cache miss, or api_key_cache_seconds = 0)",
            cpu_us(lambda: authenticate(ws.store, key), 2000),
        ),
        (
            "… API key check, verified < 1 s ago (the cache; what a request pays)",
            cpu_us(
                lambda: (
                    authenticate(ws.store, key, max_age=1.0)
                    and cached_principal(ws.store, key, 1.0)
                ),
                20000,
            ),
        ),
        ("… gateway prepare (gates, consent, model, guardrails, seal)", cpu_us(prepare, 2000)),
        (
            "… decide incl. its commit (1 thread, group commit)",
            cpu_us(lambda: gw.decide("price", "c-7", ctx, None, "EU", list_price="49.90"), 500),
        ),
        (
            "… 16 concurrent POST /v1/decisions/price through the app, per request",
            cpu_us(asgi_many(reqs, 16), 100) / 16,
        ),
        (
            "… full POST /v1/decisions/price through the app (1 at a time)",
            cpu_us(asgi(reqs[7]), 500),
        ),
    ]
    gw.close()
    ws.close()
    return [(k, f"{v:,.0f}") for k, v in rows]


def main(seconds: float, conns_list: list[int]) -> None:
    with database() as db_name:
        run(seconds, conns_list, db_name)


def run(seconds: float, conns_list: list[int], db_name: str) -> None:
    load_before = f"{os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory() as tmp:
        root, key, model = setup(Path(tmp))
        ctx = {"loyalty_tier": 2, "basket_size": 4, "stock_level": 0.4}
        bare = []
        for _ in range(3000):
            t = time.perf_counter_ns()
            model.predict(ctx)  # type: ignore[attr-defined]
            bare.append((time.perf_counter_ns() - t) / 1000)
        bare_us = statistics.median(bare)
        reqs = [
            request(
                "/v1/decisions/price",
                key,
                orjson.dumps(
                    {
                        "subject": f"c-{i}",
                        "context": ctx,
                        "jurisdiction": "EU",
                        "list_price": "49.90",
                    }
                ),
            )
            for i in range(SUBJECTS)
        ]
        page = 24  # a listing page: one person, 24 products, one request
        batches = [
            request(
                "/v1/decisions",
                key,
                orjson.dumps(
                    {
                        "decisions": [
                            {
                                "kind": "price",
                                "subject": f"c-{i}",
                                "context": ctx,
                                "jurisdiction": "EU",
                                "list_price": f"{10 + 3 * k}.90",
                            }
                            for k in range(page)
                        ]
                    }
                ),
            )
            for i in range(SUBJECTS)
        ]
        health = [request("/healthz", key, None)]
        port = free_port()
        log = open(Path(tmp) / "serve.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [TRUSTCART, "-w", str(root), "serve", "--port", str(port), "--workers", "2"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        rows: list[tuple[str, str]] = []
        acked: list[bytes] = []
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                        s.sendall(health[0])
                        if s.recv(64).startswith(b"HTTP/1.1 200"):
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit((Path(tmp) / "serve.log").read_text())
                time.sleep(0.3)
            # first decision of each of the 1,000 people: their vault key is created and
            # committed first (one extra write each); then returning people only
            first = asyncio.run(once(port, reqs, 16))
            acked += first["ids"]  # type: ignore[arg-type]
            rows.append(
                (
                    "first decisions of 1,000 new people (key created), 16 conn.: /s, p50/p99 ms",
                    f"{first['rate']:,.0f}, {first['p50']:.1f} / {first['p99']:.1f}",
                )
            )
            warm = asyncio.run(load(port, reqs, 16, 2.0))  # both workers' caches filled
            acked += warm["ids"]  # type: ignore[arg-type]
            ceiling = asyncio.run(load(port, health, max(conns_list), min(seconds, 5.0)))
            rows.append(
                (
                    f"GET /healthz ceiling, {max(conns_list)} connections: req/s, p50/p99 ms",
                    f"{ceiling['rate']:,.0f}, {ceiling['p50']:.1f} / {ceiling['p99']:.1f}",
                )
            )
            for conns in conns_list:
                cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
                r = asyncio.run(load(port, reqs, conns, seconds))
                server_cpu = (cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - t0)
                acked += r["ids"]  # type: ignore[arg-type]
                bad = {k: v for k, v in r["status"].items() if k != 201}  # type: ignore[attr-defined]
                rows.append(
                    (
                        f"POST /v1/decisions/price, {conns} connections: decisions/s",
                        f"**{r['rate']:,.0f}**" + (f" (non-201: {bad})" if bad else ""),
                    )
                )
                rows.append(
                    (
                        f"… latency p50 / p99 ms ({conns} connections)",
                        f"{r['p50']:.1f} / {r['p99']:.1f}",
                    )
                )
                rows.append(
                    (
                        f"… CPU: server (2 workers) / load generator, cores ({conns} conn.)",
                        f"{server_cpu:.2f} / {r['gen_cpu']:.2f}",
                    )
                )
                rows.append(
                    (
                        f"… server CPU per decision, µs; decisions/s per busy server core "
                        f"({conns} conn.)",
                        f"{server_cpu / r['rate'] * 1e6:,.0f}; {r['rate'] / server_cpu:,.0f}",
                    )
                )
                rows.append(
                    (
                        f"… ratio: decision p50 latency / bare model call ({conns} conn.)",
                        f"{r['p50'] * 1000 / bare_us:,.0f}×",
                    )
                )
            conns = min(conns_list)
            cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
            r = asyncio.run(load(port, batches, conns, seconds))
            server_cpu = (cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - t0)
            bad = {k: v for k, v in r["status"].items() if k != 201}  # type: ignore[attr-defined]
            rows.append(
                (
                    f"POST /v1/decisions, batches of {page} (a listing page), {conns} conn.: "
                    "decisions/s",
                    f"**{r['rate'] * page:,.0f}** ({r['rate']:,.0f} requests/s)"
                    + (f" (non-201: {bad})" if bad else ""),
                )
            )
            rows.append(
                (
                    f"… latency per page p50 / p99 ms; server CPU cores ({conns} conn.)",
                    f"{r['p50']:.1f} / {r['p99']:.1f}; {server_cpu:.2f}",
                )
            )
            batch_ok = r["status"].get(201, 0) * page  # type: ignore[attr-defined]
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        rows.append(("CPU per request, in-process (µs):", ""))
        rows += breakdown(root, key, reqs)
        rows.insert(0, ("bare model call (LightGBM predict, 1 row) median µs", f"{bare_us:.1f}"))
        rows.insert(
            1,
            (
                "bare model calls/s on one core (1 / median)",
                f"{1e6 / bare_us:,.0f}",
            ),
        )
        with Workspace.open(root) as ws:
            log_ = DecisionLog(ws.store)
            chain, copies = log_.verify()
            with ws.store.read() as conn:
                from sqlalchemy import text

                stored = {r[0] for r in conn.execute(text("SELECT id FROM decisions"))}
        missing = [i for i in acked if i.decode() not in stored]
        single = len(acked)
        rows.append(
            (
                "acknowledged single decisions in the log / log rows / chain + copies verify",
                f"{single - len(missing):,} of {single:,} / {len(stored):,} (incl. "
                f"{batch_ok:,} batched) / {chain.ok and copies.ok}",
            )
        )
    print(f"\n### Decision gateway over HTTP ({seconds:.0f} s per run, {db_name}, 2 workers)\n")
    print(f"load average before / after: {load_before} / {os.getloadavg()[0]:.2f}\n")
    print("| measure | value |\n| --- | --- |")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    conns = [int(c) for c in sys.argv[2:]] or [16, 64]
    main(secs, conns)
