"""The compliance report for people: HTML (with SVG charts) and PDF.

Why two formats from one model: the DPO reads the HTML report in a browser and files the PDF
with the record of processing (a regulator or an auditor asks for a document). Both show the
same :class:`ReportModel` — score, findings by area and severity, the score trend across
recorded scans — so they cannot disagree. The PDF is drawn with ReportLab (a kept, pure-Python
library: no browser or system library needed); its charts are ReportLab drawings of the same
numbers the HTML's SVG charts show.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from trustcart.compliance.finding import SEVERITIES, Finding, ScanResult
from trustcart.compliance.history import ScanSnapshot

#: Colours shared by both formats (contrast ≥ 3:1 on white, like the dashboard's palette).
SEVERITY_COLOURS = {"high": "#b00020", "medium": "#9a5b00", "low": "#4a4a55"}


@dataclass(frozen=True, slots=True)
class ReportModel:
    """What a report shows, computed once for both formats."""

    result: ScanResult
    by_area: dict[str, dict[str, list[Finding]]]
    area_counts: dict[str, dict[str, int]]
    trend: list[tuple[str, float]] = field(default_factory=list)

    @classmethod
    def of(cls, result: ScanResult, history: Sequence[ScanSnapshot] = ()) -> ReportModel:
        """Group ``result``'s findings by area then severity (most severe first), and build
        the trend: each recorded scan (oldest first), then this scan as "now" unless it is
        the newest recorded one already."""
        by_area: dict[str, dict[str, list[Finding]]] = {}
        for f in result.findings:
            by_area.setdefault(f.area, {s: [] for s in reversed(SEVERITIES)})[f.severity].append(f)
        ordered = dict(sorted(by_area.items()))
        counts = {a: {s: len(fs) for s, fs in g.items()} for a, g in ordered.items()}
        trend = [(s.created_at.strftime("%Y-%m-%d %H:%M"), float(s.score)) for s in history]
        newest = history[-1] if history else None
        if newest is None or not _same_instant(newest.created_at, result.generated_at):
            trend.append(("now", float(result.score)))
        return cls(result, ordered, counts, trend)


def to_html(result: ScanResult, history: Sequence[ScanSnapshot] = ()) -> str:
    """A standalone HTML report: score, findings per area and severity (table and chart),
    the score trend across recorded scans, then every finding with its rule and fix.

    Rendered by Jinja2 with autoescaping on: messages quote data-map text, which is user
    input; the charts are inline SVG (no script, nothing loaded from elsewhere).
    """
    from trustcart.dashboard import charts
    from trustcart.templating import jinja_env

    model = ReportModel.of(result, history)
    severity_bars = [
        charts.Bar(f"{area} ({sum(c.values())})", float(sum(c.values())))
        for area, c in model.area_counts.items()
    ]
    findings_chart = (
        charts.bar_chart(
            "findings-by-area",
            severity_bars,
            title="Open findings per area",
            x_label="findings",
        )
        if severity_bars
        else None
    )
    trend_chart = charts.line_chart(
        "score-trend",
        [p[0] for p in model.trend],
        [charts.Series("compliance score", [p[1] for p in model.trend])],
        title="Compliance score over recorded scans (0–100)",
        y_max=100,
        height=220,
    )
    env = jinja_env("trustcart.compliance", "templates")
    return env.get_template("report.html.j2").render(
        m=model,
        result=result,
        severities=list(reversed(SEVERITIES)),
        colours=SEVERITY_COLOURS,
        findings_chart=findings_chart,
        trend_chart=trend_chart,
    )


def to_pdf(result: ScanResult, history: Sequence[ScanSnapshot] = ()) -> bytes:
    """The same report as a PDF document (A4), for filing and sending."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.charts.lineplots import LinePlot
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )
    from reportlab.platypus.flowables import Flowable

    model = ReportModel.of(result, history)
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    story: list[Flowable] = []

    def para(text: str, style: Any = small) -> Paragraph:
        return Paragraph(_xml(text), style)

    story.append(Paragraph("TrustCart compliance report", styles["Title"]))
    story.append(
        para(
            f"Generated {result.generated_at.isoformat()} with rule pack "
            f"{result.rules_version}. Score: {result.score}/100 (high {result.counts['high']}, "
            f"medium {result.counts['medium']}, low {result.counts['low']}).",
            styles["BodyText"],
        )
    )
    story.append(Spacer(1, 4 * mm))
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c8c8d0")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeef3")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
        ]
    )
    sev = list(reversed(SEVERITIES))
    rows: list[list[Any]] = [["area", *sev, "total"]]
    for area, c in model.area_counts.items():
        rows.append([area, *[c[s] for s in sev], sum(c.values())])
    rows.append(["all", *[result.counts[s] for s in sev], len(result.findings)])
    story.append(Table(rows, style=grid, hAlign="LEFT"))
    story.append(Spacer(1, 4 * mm))

    if model.area_counts:
        areas = list(model.area_counts)
        d = Drawing(170 * mm, 14 * len(areas) + 40)
        chart = HorizontalBarChart()
        chart.x, chart.y = 45 * mm, 20
        chart.width, chart.height = 115 * mm, 14 * len(areas)
        chart.data = [[sum(model.area_counts[a].values()) for a in areas]]
        chart.categoryAxis.categoryNames = areas
        chart.categoryAxis.labels.fontSize = 7
        chart.valueAxis.valueMin = 0
        chart.valueAxis.labels.fontSize = 7
        chart.bars[0].fillColor = colors.HexColor("#3559a8")
        d.add(chart)
        d.add(String(0, 6, "Open findings per area", fontSize=8))
        story.append(d)

    d = Drawing(170 * mm, 60 * mm)
    plot = LinePlot()
    plot.x, plot.y = 15 * mm, 12 * mm
    plot.width, plot.height = 150 * mm, 42 * mm
    plot.data = [[(i, score) for i, (_, score) in enumerate(model.trend)]]
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = 0, 100
    plot.xValueAxis.valueMin = 0
    plot.xValueAxis.valueMax = max(1, len(model.trend) - 1)
    plot.xValueAxis.labels.fontSize = 7
    plot.yValueAxis.labels.fontSize = 7
    plot.lines[0].strokeColor = colors.HexColor("#3559a8")
    plot.lines[0].strokeWidth = 1.5
    d.add(plot)
    d.add(
        String(
            0,
            2,
            f"Compliance score over {len(model.trend)} scan(s): "
            + ", ".join(f"{label} {score:.0f}" for label, score in model.trend[-6:]),
            fontSize=7,
        )
    )
    story.append(d)

    if not result.findings:
        story.append(para("No findings.", styles["BodyText"]))
    for area, groups in model.by_area.items():
        story.append(Paragraph(_xml(area), styles["Heading2"]))
        heads = ("severity / id", "object", "problem", "rule", "fix")
        body: list[list[Any]] = [[para(h) for h in heads]]
        for severity, findings in groups.items():
            for f in findings:
                body.append(
                    [
                        Paragraph(f"{severity}<br/>{_xml(f.id)}", small),
                        para(f.object),
                        para(f.message),
                        para(f.rule),
                        para(f.fix),
                    ]
                )
        widths = [28 * mm, 30 * mm, 52 * mm, 28 * mm, 42 * mm]
        story.append(Table(body, colWidths=widths, style=grid, repeatRows=1, hAlign="LEFT"))
    story.append(Spacer(1, 4 * mm))
    story.append(para(f"Checks run: {', '.join(result.checks)}."))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title="TrustCart compliance report",
        author="TrustCart",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    doc.build(story)
    return buf.getvalue()


def _same_instant(a: datetime, b: datetime) -> bool:
    """Whether a stored scan time is this scan's (a database may drop the zone or the last
    digits of the microseconds)."""
    aa = a if a.tzinfo else a.replace(tzinfo=UTC)
    bb = b if b.tzinfo else b.replace(tzinfo=UTC)
    return abs((aa - bb).total_seconds()) < 0.001


def _xml(text: str) -> str:
    """Escape text for ReportLab's mini-markup (findings quote user input)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
