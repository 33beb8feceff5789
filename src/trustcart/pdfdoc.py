"""A small Markdown → PDF renderer for TrustCart's generated documents (DPIA exports).

Why not HTML → PDF: that needs a browser engine or system libraries (Cairo/Pango). The
documents TrustCart writes in Markdown use a small, known subset — ``#``/``##``/``###``
headings, paragraphs, ``- `` lists, pipe tables, ``**bold**`` and ```code``` — so they are laid
out directly with ReportLab (pure Python). Anything else is kept as plain text, never dropped.
"""

from __future__ import annotations

import io
import re
from typing import Any

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_RULE_ROW = re.compile(r"^\|?\s*:?-{3,}")


def _inline(text: str) -> str:
    """Escape for ReportLab's mini-markup, then turn ``**x**`` and ```x``` into markup."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _BOLD.sub(r"<b>\1</b>", text)
    return _CODE.sub(r'<font face="Courier">\1</font>', text)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_to_pdf(markdown: str, *, title: str) -> bytes:
    """Lay ``markdown`` out on A4 pages; ``title`` goes into the PDF's metadata."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from reportlab.platypus.flowables import Flowable

    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    cell = body.clone("cell", fontSize=8, leading=10)
    heads = {1: styles["Title"], 2: styles["Heading2"], 3: styles["Heading3"]}
    story: list[Flowable] = []
    paragraph: list[str] = []
    table: list[list[str]] = []
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c8c8d0")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeef3")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )

    def flush() -> None:
        if paragraph:
            story.append(Paragraph(_inline(" ".join(paragraph)), body))
            paragraph.clear()
        if table:
            width = max(len(r) for r in table)
            rows: list[list[Any]] = [
                [Paragraph(_inline(c), cell) for c in r + [""] * (width - len(r))] for r in table
            ]
            col = (A4[0] - 30 * mm) / width
            story.append(Table(rows, colWidths=[col] * width, style=grid, repeatRows=1))
            story.append(Spacer(1, 3 * mm))
            table.clear()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        if line.startswith("|"):
            if paragraph:
                flush()
            if not _RULE_ROW.match(line):
                table.append(_cells(line))
            continue
        if table:
            flush()
        if not line.strip():
            flush()
            continue
        m = re.match(r"^(#{1,3})\s+(.*)$", line)
        if m:
            flush()
            story.append(Paragraph(_inline(m.group(2)), heads[len(m.group(1))]))
        elif re.match(r"^\s*[-*]\s+", line):
            flush()
            item = re.sub(r"^\s*[-*]\s+", "", line)
            story.append(Paragraph(_inline(item), body, bulletText="•"))
        else:
            paragraph.append(line.strip())
    flush()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=title,
        author="TrustCart",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    doc.build(story or [Spacer(1, 1)])
    return buf.getvalue()
