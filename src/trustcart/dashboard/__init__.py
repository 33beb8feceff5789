"""The DPO dashboard: the compliance posture in a browser, under ``/dashboard``.

Server-rendered Jinja templates, charts as SVG drawn on the server, a few lines of optional
JavaScript; no build step, nothing fetched from another origin. Log in with an account from
``trustcart users create --role dpo``; what a user sees and may do follows the governance
roles and scopes (``trustcart.governance``). ``create_app`` includes :data:`router`.

Library parts: :func:`build_overview` (the posture as data), :mod:`~trustcart.dashboard.charts`
(SVG charts), :func:`object_path` (where a finding's object lives).
"""

from __future__ import annotations

from trustcart.dashboard import monitoring_pages as _monitoring_pages  # noqa: F401 - routes
from trustcart.dashboard import records_pages as _records_pages  # noqa: F401 - registers routes
from trustcart.dashboard import review_pages as _review_pages  # noqa: F401 - registers routes
from trustcart.dashboard.charts import Bar, Series, bar_chart, line_chart, paired_bars
from trustcart.dashboard.links import object_path
from trustcart.dashboard.overview import (
    SECTIONS,
    AssessmentStatus,
    ConsentTrend,
    Overview,
    RateRow,
    VendorAttention,
    assessment_status,
    build_overview,
    consent_trends,
    findings_by_area,
    rate_rows,
    vendors_needing_attention,
)
from trustcart.dashboard.pages import router

__all__ = [
    "SECTIONS",
    "AssessmentStatus",
    "Bar",
    "ConsentTrend",
    "Overview",
    "RateRow",
    "Series",
    "VendorAttention",
    "assessment_status",
    "bar_chart",
    "build_overview",
    "consent_trends",
    "findings_by_area",
    "line_chart",
    "object_path",
    "paired_bars",
    "rate_rows",
    "router",
    "vendors_needing_attention",
]
