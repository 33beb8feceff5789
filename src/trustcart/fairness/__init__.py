"""Fairness audits at any scale: group metrics computed where the data lives.

Library first: :func:`audit` returns an :class:`AuditResult`; the ``trustcart audit`` command
only parses options, calls it, renders and stores. Metric names and definitions follow
``fairlearn.metrics`` where fairlearn has them; the arithmetic runs in DuckDB, PostgreSQL or Spark
through Ibis, so only per-group aggregates reach Python. :func:`audit_audience` audits who a
campaign audience includes and excludes by group (four-fifths rule) with the same engine.
"""

from trustcart.fairness.audience import (
    AudienceAudit,
    AudienceGroup,
    audit_audience,
    read_ids,
)
from trustcart.fairness.competition import (
    CompetitionReport,
    GroupAsymmetry,
    PriceCell,
    competition_signals,
)
from trustcart.fairness.decision_source import open_decisions
from trustcart.fairness.engine import DEFAULT_MIN_GROUP_SIZE, KINDS, Kind, audit
from trustcart.fairness.findings import FOUR_FIFTHS_RULE, Finding, Thresholds
from trustcart.fairness.inferred import (
    GroupShares,
    group_shares_from_frame,
    load_group_shares,
    weighted_audit,
)
from trustcart.fairness.mitigation import (
    GroupChange,
    MitigationResult,
    adjust_prices,
    price_targets,
    reweigh,
)
from trustcart.fairness.proxies import ProxyReport, ProxyScore, detect_proxies, register_proxies
from trustcart.fairness.reductions import fair_classifier
from trustcart.fairness.result import AuditResult, Cell
from trustcart.fairness.sources import Source, open_source
from trustcart.fairness.spark_source import open_spark

__all__ = [
    "DEFAULT_MIN_GROUP_SIZE",
    "FOUR_FIFTHS_RULE",
    "KINDS",
    "AudienceAudit",
    "AudienceGroup",
    "AuditResult",
    "Cell",
    "CompetitionReport",
    "Finding",
    "GroupAsymmetry",
    "GroupChange",
    "GroupShares",
    "Kind",
    "MitigationResult",
    "PriceCell",
    "ProxyReport",
    "ProxyScore",
    "Source",
    "Thresholds",
    "adjust_prices",
    "audit",
    "audit_audience",
    "competition_signals",
    "detect_proxies",
    "fair_classifier",
    "group_shares_from_frame",
    "load_group_shares",
    "open_decisions",
    "open_source",
    "open_spark",
    "price_targets",
    "read_ids",
    "register_proxies",
    "reweigh",
    "weighted_audit",
]
