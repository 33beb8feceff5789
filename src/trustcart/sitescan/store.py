"""Stored scans: each scan is one entry of the append-only ``site_scans`` log.

Why a log and not a table: a scan is evidence of what the shop's pages did at a moment, so it is
appended and never edited (``trustcart ledger verify`` covers it like every other log), and the
compliance scanner only ever needs the newest one.
"""

from __future__ import annotations

from trustcart.sitescan.model import SiteScan
from trustcart.store import Store
from trustcart.store.hashlog import LogRecord

SCAN_LOG = "site_scans"


def store_scan(store: Store, scan: SiteScan) -> LogRecord:
    """Append ``scan`` (observations only, no cookie or storage values) to the scan log."""
    return store.log(SCAN_LOG).append({"kind": "site_scan", "scan": scan.to_dict()})


def latest_scan(store: Store) -> SiteScan | None:
    """The newest stored scan, or ``None`` before the first ``scan-site``."""
    log = store.log(SCAN_LOG)
    seq, _ = log.head()
    if seq == 0:
        return None
    return SiteScan.from_dict(log.get(seq).payload["scan"])
