"""Site scan: what the shop's own pages really load, before and after consent.

    scan = scan_site(ws, "https://shop.example/", pages=5)   # crawl, store, judge
    for f in scan.findings: f.kind, f.object, f.message

Headless Chromium visits the pages as a new visitor who chose nothing, then once per purpose that
needs consent with only that purpose allowed (answered through the TrustCart embed); it records
requests, cookies and local-storage keys per stage (never their values) and judges them against
the data map: trackers loaded without consent, third parties the data map does not list, cookies
without a declared purpose and lifetime (or kept longer than declared). The newest stored scan
feeds the compliance scanner (``TC-WEB-*`` checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trustcart.catalog.repository import load_datamap
from trustcart.rules import load_rules
from trustcart.sitescan.analyze import (
    TRUSTCART_KEYS,
    analyze,
    consent_purposes,
    declared_days,
    free_purposes,
    host_matches,
    summarize,
)
from trustcart.sitescan.crawl import CHROMIUM_ARGS, crawl, site_base
from trustcart.sitescan.model import (
    NO_CONSENT,
    Cookie,
    Request,
    SiteFinding,
    SiteScan,
    Stage,
    StorageKey,
)
from trustcart.sitescan.store import SCAN_LOG, latest_scan, store_scan
from trustcart.workspace import Workspace

__all__ = [
    "CHROMIUM_ARGS",
    "NO_CONSENT",
    "SCAN_LOG",
    "TRUSTCART_KEYS",
    "Cookie",
    "Request",
    "ScanReport",
    "SiteFinding",
    "SiteScan",
    "Stage",
    "StorageKey",
    "analyze",
    "consent_purposes",
    "crawl",
    "declared_days",
    "free_purposes",
    "host_matches",
    "latest_scan",
    "scan_site",
    "site_base",
    "store_scan",
    "summarize",
]


@dataclass(frozen=True)
class ScanReport:
    """A finished scan, its findings, and its position in the scan log (when stored)."""

    scan: SiteScan
    findings: list[SiteFinding]
    log_seq: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the findings first, then the observations."""
        return {
            "id": self.scan.id,
            "url": self.scan.url,
            "jurisdiction": self.scan.jurisdiction,
            "log_seq": self.log_seq,
            "counts": summarize(self.findings),
            "findings": [f.to_dict() for f in self.findings],
            "scan": self.scan.to_dict(),
        }


def scan_site(
    ws: Workspace,
    url: str,
    *,
    pages: int = 5,
    jurisdiction: str | None = None,
    purposes: Sequence[str] | None = None,
    first_party: Sequence[str] = (),
    browser: Any = None,
    store: bool = True,
) -> ScanReport:
    """Crawl ``url`` (see :func:`crawl`), store the observations, judge them (:func:`analyze`).

    ``jurisdiction`` (default: the workspace's) decides which purposes need consent, hence the
    stages; ``purposes`` narrows the stages to some of them.
    """
    from trustcart.errors import ValidationError

    rules = load_rules()
    dm = load_datamap(ws.store)
    if not dm.purposes:
        raise ValidationError(
            "load a data map first (trustcart catalog load …): the scan maps "
            "what it finds to its systems, recipients and cookies"
        )
    code = rules.resolve(jurisdiction or ws.settings.default_jurisdiction).code
    stages = consent_purposes(dm, rules, code)
    if purposes is not None:
        unknown = [p for p in purposes if p not in {x.key for x in dm.purposes}]
        if unknown:
            raise ValidationError(
                f"unknown purpose(s) {', '.join(unknown)}; purposes needing consent in {code}: "
                f"{', '.join(stages) or 'none'}"
            )
        stages = [p for p in stages if p in purposes]
    scan = crawl(
        url,
        jurisdiction=code,
        purposes=stages,
        pages=pages,
        first_party=first_party,
        browser=browser,
    )
    seq = store_scan(ws.store, scan).seq if store else None
    return ScanReport(scan, analyze(scan, dm, rules), seq)
