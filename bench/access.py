"""Access-log cost: a personal-data read through the API with its access-log entry vs the same
read with the entry switched off (the peer: TrustCart without the log), and the cost of one
entry (hash-chained log + table row, one transaction) on SQLite and PostgreSQL.

Usage: ``.venv/bin/python bench/access.py [--requests 2000] [--entries 5000] [--pg URL]``.
In-process ``TestClient`` (one thread): the figures include the client's own overhead, so the
ratio is the number to read, not the absolute rate.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

from fastapi.testclient import TestClient

import trustcart.api.auth as auth
from trustcart.api.app import create_app
from trustcart.config import init_workspace
from trustcart.governance import Scope, authenticate, create_key, record_access
from trustcart.workspace import Workspace


def _requests(ws: Workspace, n: int, *, logged: bool) -> float:
    secret = create_key(ws.store, role="support", name="bench")[0]
    headers = {"Authorization": f"Bearer {secret}", "X-Purpose": "bench"}
    with TestClient(create_app(ws)) as c:
        ctx: Any = contextlib.nullcontext()
        if not logged:
            ctx = mock.patch.object(auth, "record_access", return_value=None)
        with ctx:
            for i in range(50):  # warm up
                c.get(f"/v1/consent/subjects/w{i}", headers=headers)
            t0 = time.perf_counter()
            for i in range(n):
                r = c.get(f"/v1/consent/subjects/s{i}", headers=headers)
                assert r.status_code == 200
            return n / (time.perf_counter() - t0)


def _entries(ws: Workspace, n: int) -> float:
    p = authenticate(ws.store, create_key(ws.store, role="support", name="bench-lib")[0])
    t0 = time.perf_counter()
    for i in range(n):
        record_access(
            ws.store,
            p,
            scope=Scope.CONSENT_READ,
            route="/v1/consent/subjects/{subject}",
            purpose="bench",
            subject=f"p_{i:032x}",
        )
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print("| measure | SQLite | PostgreSQL |")
    print("|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, list[str]] = {}
        for backend in ("sqlite", "postgres"):
            root = init_workspace(Path(tmp) / backend)
            if backend == "postgres":
                import os
                import uuid

                from sqlalchemy import create_engine, text

                schema = f"bench_{uuid.uuid4().hex[:8]}"
                with create_engine(args.pg).begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                os.environ["TRUSTCART_DATABASE_URL"] = f"{args.pg}?options=-csearch_path%3D{schema}"
            try:
                with Workspace.open(root) as ws:
                    off = _requests(ws, args.requests, logged=False)
                    on = _requests(ws, args.requests, logged=True)
                    us = _entries(ws, args.entries)
            finally:
                if backend == "postgres":
                    os.environ.pop("TRUSTCART_DATABASE_URL", None)
                    with create_engine(args.pg).begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            results[backend] = [f"{off:,.0f}", f"{on:,.0f}", f"{on / off:.2f}", f"{us:,.0f}"]
        labels = [
            "GET /v1/consent/subjects/{s}, entry off (req/s)",
            "same, with its access-log entry (req/s)",
            "ratio with / without",
            "one entry alone (µs)",
        ]
        for i, label in enumerate(labels):
            print(f"| {label} | {results['sqlite'][i]} | {results['postgres'][i]} |")


if __name__ == "__main__":
    main()
