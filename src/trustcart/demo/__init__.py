"""The StyleSense demo: the whole TrustCart story on one synthetic fashion shop.

It grows with each capability: a workspace with the example data map and its documents; a
synthetic shop (customers across EU / California / Brazil zip codes, a SYNTHETIC zip →
demographic-share table, products, a biased order history); consent through every mechanism;
pricing and offer models trained on that history; a day of traffic through the gateway; audits
that find the zip-code disparity without demographics and flag the proxy; mitigation with its
cost; a rights request end to end; governance; the compliance scan; and ``reports/report.html``.
Generation is vectorised and seeded, so a new user sees real output from ``make demo`` in
under two minutes on two cores, and tests get the same figures for the same seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from trustcart.config import CONFIG_FILE
from trustcart.demo.shop import LABEL
from trustcart.workspace import Workspace

if TYPE_CHECKING:
    from trustcart.catalog import DataMap
    from trustcart.demo.story import StoryResult

Echo = Callable[[str], None]


def example_manifest() -> Path:
    """Path of the packaged StyleSense data map (also ``examples/shop.yaml`` in the repo)."""
    return Path(str(resources.files("trustcart.demo") / "data" / "shop.yaml"))


def example_records() -> Path:
    """Path of the packaged StyleSense records manifest (also ``examples/records.yaml``)."""
    return Path(str(resources.files("trustcart.demo") / "data" / "records.yaml"))


@dataclass
class DemoResult:
    """Where the demo left its output."""

    workspace: Path
    reports: dict[str, Path] = field(default_factory=dict)
    summary: str = ""
    ledgers_ok: bool = False
    seconds: float = 0.0
    story: StoryResult | None = None  # what the audit / mitigation story found
    step_seconds: dict[str, float] = field(default_factory=dict)


#: Default size of the synthetic shop (``trustcart demo --customers/--orders``).
DEFAULT_CUSTOMERS = 50_000
DEFAULT_ORDERS = 1_000_000
DEFAULT_SEED = 20261125


def sessions_for(customers: int) -> int:
    """Visits in the demo's day of traffic: a fifth of the customers, at least 1,000."""
    return min(customers, max(1000, customers // 5))


def run_demo(
    directory: Path,
    echo: Echo = print,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    orders: int = DEFAULT_ORDERS,
    seed: int = DEFAULT_SEED,
) -> DemoResult:
    """Run the demo in ``directory`` (created if needed; re-running it is safe).

    ``customers``, ``orders`` and ``seed`` size and fix the synthetic shop: the same seed gives
    the same customers, consent ledger and history, so figures in docs and tests are
    reproducible. Each step is one function; to add one, write ``run_x_step`` and call it
    inside a ``with step("title"):`` block below (and describe it in docs/getting-started.md).
    """
    from trustcart.catalog import load_manifest, render_graph, render_notice, render_ropa
    from trustcart.catalog.repository import load_datamap, save_datamap
    from trustcart.demo.shop import build_shop
    from trustcart.demo.story import Story, audit_step, mitigate_step, serve_step, train_step

    start = time.perf_counter()
    step = _Stepper(echo)
    with step("workspace"):
        if (directory / CONFIG_FILE).exists():
            ws = Workspace.open(directory)
            echo(f"    reusing {ws.root}")
        else:
            ws = Workspace.create(directory)
            echo(f"    created {ws.root} (SQLite, no server)")
    result = DemoResult(workspace=ws.root)
    found = None
    with ws:
        with step("data map"):
            manifest = example_manifest()
            loaded = save_datamap(ws.store, load_manifest(manifest), actor="demo")
            echo(
                f"    {manifest.name}: {len(loaded.created)} created, {len(loaded.updated)} "
                f"updated, {loaded.unchanged} unchanged"
            )
            dm = load_datamap(ws.store)
            result.summary = dm.summary().to_table()
            echo("")
            for line in result.summary.splitlines():
                echo(f"    {line}")
            echo("")
        reports = ws.root / "reports"
        reports.mkdir(exist_ok=True)
        with step("vendors, DPIAs and algorithmic impact assessments"):
            _records_step(ws, dm, reports, result, echo)
        with step("record of processing (GDPR Art. 30)"):
            for fmt, ext in (("markdown", "md"), ("html", "html"), ("csv", "csv")):
                path = reports / f"ropa.{ext}"
                path.write_text(render_ropa(dm, fmt=fmt))  # type: ignore[arg-type]
                result.reports[f"ropa.{ext}"] = path
        with step("layered privacy notice"):
            notice = render_notice(dm)
            for name, text in (("notice.md", notice.markdown()), ("notice.html", notice.html())):
                (reports / name).write_text(text)
                result.reports[name] = reports / name
            echo(f"    version {notice.display_id}")
        with step("data-flow graph"):
            (reports / "dataflow.mmd").write_text(render_graph(dm, "mermaid"))
            (reports / "dataflow.svg").write_text(render_graph(dm, "svg"))
            result.reports["dataflow.mmd"] = reports / "dataflow.mmd"
            result.reports["dataflow.svg"] = reports / "dataflow.svg"
        with step("synthetic shop: customers, zip codes, products, order history"):
            shop = build_shop(ws.root / "shop-data", customers=customers, orders=orders, seed=seed)
            echo(
                f"    {len(shop.customers):,} customers in {len(shop.zips)} zip codes "
                f"({shop.zips.zip_band.nunique()} zip bands: EU, California, Brazil), "
                f"{len(shop.products):,} products, {shop.orders:,} past orders"
            )
            echo(f"    {shop.shares_csv.name}: {LABEL}")
        story = Story(ws, shop, reports, echo, sessions_for(customers), seed)
        result.story = story.result
        with step("consent ledger (every mechanism, EU / US-CA / BR)"):
            from trustcart.demo.consent import run_consent_step

            consent = run_consent_step(
                ws, reports, echo, shop.customers["jurisdiction"].tolist(), seed=seed
            )
            if consent.proof is not None:
                result.reports[consent.proof.name] = consent.proof
        with step("train the pricing and offer models on the order history"):
            train_step(story)
        with step("a day of traffic through the gateway"):
            serve_step(story)
        with step("audit by zip band; zip code flagged as a proxy without demographics"):
            audit_step(story)
        with step(
            "mitigate: block the proxy, reweigh, price guardrail; retrain, re-serve, re-audit"
        ):
            mitigate_step(story)
        with step("data subject rights (access, erasure, retention)"):
            from trustcart.demo.rights import run_rights_step

            for name, path in run_rights_step(ws, reports, echo, customers=customers).items():
                result.reports[name] = path
        with step("governance: ethics reviews, staff access and training"):
            from trustcart.demo.governance import run_governance_step

            run_governance_step(ws, echo)
        with step("compliance scan"):
            from trustcart.compliance import record_scan, scan, scan_history, to_html, to_pdf
            from trustcart.compliance.render import to_sarif_text

            found = scan(ws)
            record_scan(ws.store, found, actor="demo")  # a point of the dashboard's trend
            echo(
                f"    score {found.score}/100 — "
                + ", ".join(f"{n} {sev}" for sev, n in found.counts.items())
            )
            for f in found.findings:
                echo(f"    {f.severity.upper():<6} {f.object}: {f.message}")
            history = scan_history(ws.store)
            (reports / "compliance.html").write_text(to_html(found, history))
            (reports / "compliance.pdf").write_bytes(to_pdf(found, history))
            (reports / "compliance.sarif").write_text(to_sarif_text(found))
            result.reports["compliance.html"] = reports / "compliance.html"
            result.reports["compliance.pdf"] = reports / "compliance.pdf"
            result.reports["compliance.sarif"] = reports / "compliance.sarif"
        with step("report"):
            from trustcart.demo.report import write_report

            params = {
                "customers": f"{customers:,}",
                "orders": f"{shop.orders:,}",
                "products": f"{len(shop.products):,}",
                "zips": len(shop.zips),
                "bands": shop.zips.zip_band.nunique(),
                "sessions": f"{story.result.sessions:,}",
                "decisions": f"{story.result.decisions:,}",
                "seed": seed,
                "workspace": str(directory),
            }
            if story.skipped and (reports / "report.html").exists():
                echo("    kept the report of the earlier run")
            else:
                write_report(reports / "report.html", story, found, params)
            result.reports["report.html"] = reports / "report.html"
            echo(f"    {reports / 'report.html'}")
        with step("evidence ledgers"):
            checks = [ws.store.log(n).verify() for n in ws.store.log_names()]
            result.ledgers_ok = all(c.ok for c in checks)
            for c in checks:
                echo(f"    {c.log}: {c.checked} entries, chain {'intact' if c.ok else 'BROKEN'}")
    result.seconds = time.perf_counter() - start
    result.step_seconds = dict(step.timings)
    echo("")
    echo(f"Done in {result.seconds:.1f} s. Reports in {reports}:")
    echo(f"    open {reports / 'report.html'} in a browser (findings, plots, before/after)")
    echo(f"Explore: trustcart -w {directory} catalog show | audit list | ledger verify")
    echo(f"API:     trustcart -w {directory} keys create --role dpo")
    echo(f"Web:     trustcart -w {directory} users create --role dpo   # dashboard login")
    echo(
        f"         trustcart -w {directory} serve   # then http://127.0.0.1:8000/dashboard/ "
        "(API docs: /docs)"
    )
    return result


def _records_step(
    ws: Workspace, dm: DataMap, reports: Path, result: DemoResult, echo: Echo
) -> None:
    """Load the records manifest, print vendor risk and DPIA screening, export one DPIA."""
    from trustcart.assessments import (
        load_records,
        load_records_file,
        render_dpia,
        save_records,
        screen_datamap,
        screen_purpose,
    )
    from trustcart.clock import utcnow
    from trustcart.rules import load_rules
    from trustcart.vendors import vendor_risk

    path = example_records()
    saved = save_records(ws.store, load_records_file(path), actor="demo")
    echo(
        f"    {path.name}: {len(saved.created)} created, {len(saved.updated)} new version(s), "
        f"{saved.unchanged} unchanged"
    )
    records = load_records(ws.store)
    rules = load_rules()
    today = utcnow().date()
    for v in records.vendors:
        risk = vendor_risk(v, rules, on=today, checklist=records.dpa_checklist, datamap=dm)
        echo(f"    vendor {v.name} ({v.country}): risk {risk.score} ({risk.band})")
    covered = {p for d in records.dpias for p in d.purposes}
    for s in screen_datamap(dm, rules, records.screenings):
        if s.required:
            state = "DPIA on file" if s.purpose in covered else "DPIA MISSING"
            echo(f"    {s.purpose}: {s.count} WP248 criteria met -> DPIA required ({state})")
    dpia = records.dpia("dpia-pricing")
    if dpia is not None:
        screenings = [screen_purpose(dm, rules, p, records.screening(p)) for p in dpia.purposes]
        for fmt, ext in (("markdown", "md"), ("html", "html")):
            out = reports / f"dpia-pricing.{ext}"
            out.write_text(render_dpia(dpia, rules, fmt, screenings))  # type: ignore[arg-type]
            result.reports[out.name] = out


class _Stepper:
    """Numbered progress lines with timings, so long steps never look stuck."""

    def __init__(self, echo: Echo) -> None:
        self.echo = echo
        self.n = 0
        self.timings: dict[str, float] = {}

    def __call__(self, title: str) -> _Step:
        self.n += 1
        return _Step(self.echo, f"[{self.n}] {title}", self.timings)


class _Step:
    def __init__(self, echo: Echo, title: str, timings: dict[str, float]) -> None:
        self.echo, self.title, self.timings = echo, title, timings

    def __enter__(self) -> None:
        self.echo(f"{self.title} …")
        self.t = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        took = time.perf_counter() - self.t
        self.timings[self.title] = took
        if exc[0] is None:
            self.echo(f"    ok ({took:.2f} s)")
