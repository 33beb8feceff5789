"""Consent: permission checks/s and events/s, against what a shop would otherwise do.

Peers: for checks, one indexed SQL lookup per check (the "just query the consent table"
approach) and a bare Python dict lookup (the floor); for events, TrustCart's ledgered
`record` vs a plain INSERT of the same row without hash chain, projection or validation.

    .venv/bin/python bench/consent.py [SUBJECTS]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.consent import ConsentEventIn, ConsentService, datamap_notice, register_notice
from trustcart.workspace import Workspace

SUBJECTS = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
PURPOSES = ["personalization", "targeted_offers", "analytics"]


def main() -> None:
    random.seed(7)
    with tempfile.TemporaryDirectory() as tmp, Workspace.create(Path(tmp) / "ws") as ws:
        save_datamap(ws.store, load_manifest(EXAMPLE))
        svc = ConsentService(ws)
        notice = register_notice(ws.store, **datamap_notice(svc.datamap)).version
        svc.reload()

        def event(i: int) -> ConsentEventIn:
            return ConsentEventIn(
                subject=f"customer-{i}",
                purposes=PURPOSES,
                decision="granted" if i % 4 else "denied",
                mechanism="opt_in_checkbox",
                jurisdiction="EU",
                notice_version=notice,
            )

        t = time.perf_counter()
        for start in range(0, SUBJECTS, 500):
            svc.record_many([event(i) for i in range(start, min(start + 500, SUBJECTS))])
        batch_rate = SUBJECTS * len(PURPOSES) / (time.perf_counter() - t)
        n_single = 500
        t = time.perf_counter()
        for i in range(n_single):
            svc.record(event(SUBJECTS + i))
        single_rate = n_single * len(PURPOSES) / (time.perf_counter() - t)
        with ws.store.write() as conn:
            conn.execute(
                text(
                    "CREATE TABLE plain_consent (subject TEXT, purpose TEXT, "
                    "decision TEXT, notice TEXT, at TEXT)"
                )
            )
        t = time.perf_counter()
        for i in range(n_single):
            with ws.store.write() as conn:
                conn.execute(
                    text(
                        "INSERT INTO plain_consent VALUES (:s, :p, 'granted', :n, datetime('now'))"
                    ),
                    [{"s": f"c{i}", "p": p, "n": notice} for p in PURPOSES],
                )
        plain_rate = n_single * len(PURPOSES) / (time.perf_counter() - t)

        cats = ("user.behavior.purchase_history",)
        # Cold: the first check for each subject and purpose (answer computed and cached).
        cold = [(f"customer-{i}", p) for i in range(SUBJECTS) for p in PURPOSES[:2]]
        t = time.perf_counter()
        for subject, purpose in cold:
            svc.may_use(subject, purpose, cats, "EU")
        cold_rate = len(cold) / (time.perf_counter() - t)
        # Warm: a day of traffic asks again and again about the same shoppers.
        queries = [
            (f"customer-{random.randrange(SUBJECTS)}", random.choice(PURPOSES[:2]))
            for _ in range(200_000)
        ]
        t = time.perf_counter()
        allowed = 0
        for subject, purpose in queries:
            allowed += svc.may_use(subject, purpose, cats, "EU").allowed
        check_rate = len(queries) / (time.perf_counter() - t)

        floor = {(s, p): True for s, p in queries}
        t = time.perf_counter()
        for key in queries:
            floor.get(key)
        dict_rate = len(queries) / (time.perf_counter() - t)

        pseudo = [(svc.pseudonyms.pseudonym(s), p) for s, p in queries[:5000]]
        t = time.perf_counter()
        with ws.store.engine.connect() as conn:
            for subject, purpose in pseudo:
                conn.execute(
                    text(
                        "SELECT decision, valid FROM consent_state WHERE subject = :s "
                        "AND purpose = :p"
                    ),
                    {"s": subject, "p": purpose},
                ).first()
        sql_rate = len(pseudo) / (time.perf_counter() - t)

    print(f"\nConsent, {SUBJECTS:,} subjects x {len(PURPOSES)} purposes, SQLite (WAL)")
    print("| measure | TrustCart | peer | ratio |")
    print("|---|---|---|---|")
    print(
        f"| may_use checks/s, repeated (1 thread) | {check_rate:,.0f} | SQL lookup per check "
        f"{sql_rate:,.0f} | {check_rate / sql_rate:.1f}x |"
    )
    print(f"| may_use checks/s, first check per subject+purpose | {cold_rate:,.0f} | | |")
    print(
        f"| may_use vs bare dict lookup | {check_rate:,.0f} | dict {dict_rate:,.0f} | "
        f"{check_rate / dict_rate:.2f}x |"
    )
    print(
        f"| events/s, one submission per tx | {single_rate:,.0f} | plain INSERT "
        f"{plain_rate:,.0f} | {single_rate / plain_rate:.2f}x |"
    )
    print(f"| events/s, 500 submissions per tx | {batch_rate:,.0f} | | |")
    print(f"(allowed share in the check sample: {allowed / len(queries):.0%})")


if __name__ == "__main__":
    main()
