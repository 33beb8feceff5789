"""Demo step: the example shop's stores, an access request and an erasure, end to end."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from trustcart.demo.stores import build_shop_stores, customer_id, email
from trustcart.workspace import Workspace

Echo = Callable[[str], None]


def run_rights_step(
    ws: Workspace, reports: Path, echo: Echo, *, customers: int = 3000
) -> dict[str, Path]:
    """Build the shop's stores, answer an access and an erasure request, dry-run retention."""
    from trustcart.catalog.repository import load_datamap
    from trustcart.rights import RequestIn, RightsService, run_retention

    n = max(50, customers)
    stores = build_shop_stores(ws.root, customers=n)
    echo(
        f"    example stores: {stores.sql_url.split('///')[-1]}, {stores.events_dir.name}/ "
        f"(16 Parquet files), {stores.newsletter_csv.name} — {n:,} customers"
    )
    rights = RightsService(ws)
    out: dict[str, Path] = {}

    def verified(kind: str, i: int) -> str:
        req, _ = rights.submit(
            RequestIn(type=kind, identifiers={"email": email(i)}, jurisdiction="FR", channel="demo")
        )
        body = rights.outbox.messages(req.id)[0].body
        code = re.search(r"\b(\d{6})\b", body)
        if code and req.status == "received":
            rights.verify(req.id, code.group(1))
        return req.id

    rid = verified("access", 42)
    req = rights.run(rid)
    zip_bytes, html = rights.package(rid)
    (reports / "access-package.zip").write_bytes(zip_bytes)
    (reports / "access-package.html").write_text(html)
    out["access-package.html"] = reports / "access-package.html"
    pkg = (req.result or {}).get("package", {})
    echo(
        f"    access ({customer_id(42)}, by e-mail): {pkg.get('rows', 0)} records in "
        f"{pkg.get('datasets', 0)} datasets, {pkg.get('consent_events', 0)} consent events, "
        f"{pkg.get('decisions', 0)} decisions; due {req.due_on} (GDPR Art. 12(3))"
    )

    rid = verified("erasure", 43)
    req = rights.run(rid)
    cert = (req.result or {}).get("certificate", {})
    (reports / "erasure-certificate.json").write_bytes(
        orjson.dumps(cert, option=orjson.OPT_INDENT_2, default=str)
    )
    out["erasure-certificate.json"] = reports / "erasure-certificate.json"
    changed = sum(s["rows_changed"] for s in cert.get("stores", []))
    remaining = cert.get("verification", {}).get("remaining", {})
    echo(
        f"    erasure ({customer_id(43)}): {changed} rows erased/anonymised in "
        f"{sum(1 for s in cert.get('stores', []) if s['rows_changed'])} stores; scan: "
        + ("no identifier remains" if not remaining else f"REMAINING {remaining}")
        + f"; not reachable: {', '.join(cert.get('not_reachable', [])) or 'none'}"
    )
    waiting = [
        c
        for c in (req.result or {}).get("changes", [])
        if c["status"] != "done" and c["status"] != "retained"
    ]
    for c in waiting:
        echo(f"    … {c['dataset']}: {c['status']} — {c.get('note') or ''}")
    if waiting:
        echo(
            f"    request {req.id} stays {req.status} until they answer "
            "(`trustcart rights tasks --pending`; re-run with `trustcart rights run`)"
        )
    report = run_retention(
        load_datamap(ws.store), root=ws.root, now=datetime.now(UTC), dry_run=True
    )
    echo(
        f"    retention (dry run): {report.rows_found:,} rows past their retention in "
        f"{sum(1 for c in report.changes if c['rows_found'])} datasets "
        "(`trustcart retention run` applies it)"
    )
    return out
