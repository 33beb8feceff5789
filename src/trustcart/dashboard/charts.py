"""Charts as server-rendered SVG: no JavaScript, no CDN, testable as text.

Why hand-written SVG and not a plotting library: the dashboard's pages carry a strict
``Content-Security-Policy`` (no inline script or style), so a chart must be plain SVG with
presentation attributes, which also makes it part of the HTML the browser tests read. Every
chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that states the numbers,
and the pages show the same numbers in a table next to it (screen readers, copying).
Series differ by colour *and* by marker shape and dash pattern (colour-blind readers); the
palette is Okabe-Ito, whose colours keep at least 3:1 contrast on white.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Okabe-Ito hues, darkened where needed for at least 3:1 contrast against white (WCAG 1.4.11).
PALETTE = ("#0072B2", "#C04A00", "#007A5A", "#A8407E", "#7A6000", "#5D5D66", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "4 4", "1 2", "10 4")
MARKERS = ("circle", "square", "diamond", "triangle", "circle", "square", "diamond")
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'
_TEXT = "#1b1b1f"
_GRID = "#d0d0d7"


@dataclass(frozen=True, slots=True)
class Series:
    """One line: a label and one value per x position (``None`` = no data there)."""

    label: str
    values: Sequence[float | None]


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar with an optional confidence interval ``(low, high)``."""

    label: str
    value: float
    low: float | None = None
    high: float | None = None


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value`` (axis ends people read)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        top = step * 10.0**exp
        if top >= value * (1 - 1e-9):
            return top
    return 10.0 ** (exp + 1)  # pragma: no cover - the loop always returns


def _tick(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:g}"


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.1f}%"
    return f"{value:.3g}"


def _marker(shape: str, x: float, y: float, color: str, tip: str) -> str:
    title = f"<title>{escape(tip)}</title>"
    if shape == "square":
        return (
            f'<rect x="{_num(x - 3.5)}" y="{_num(y - 3.5)}" width="7" height="7" '
            f'fill="{color}">{title}</rect>'
        )
    if shape == "diamond":
        pts = f"{_num(x)},{_num(y - 5)} {_num(x + 5)},{_num(y)} {_num(x)},{_num(y + 5)} "
        pts += f"{_num(x - 5)},{_num(y)}"
        return f'<polygon points="{pts}" fill="{color}">{title}</polygon>'
    if shape == "triangle":
        pts = f"{_num(x)},{_num(y - 5)} {_num(x + 5)},{_num(y + 4)} {_num(x - 5)},{_num(y + 4)}"
        return f'<polygon points="{pts}" fill="{color}">{title}</polygon>'
    return f'<circle cx="{_num(x)}" cy="{_num(y)}" r="4" fill="{color}">{title}</circle>'


def _open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{cid}-title {cid}-desc" {_FONT}>',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
    ]


def line_chart(
    chart_id: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    y_max: float | None = None,
    percent: bool = False,
    width: int = 640,
    height: int = 260,
    thresholds: Sequence[tuple[float, str]] = (),
) -> Markup:
    """Lines over categorical x positions (days, scans), y from 0 to ``y_max`` (or the data).

    One x position draws markers only (no line can join one point), so a single day of data
    still shows. ``thresholds`` draws each ``(value, label)`` as a labelled horizontal dashed
    line (e.g. a monitor's ``min 0.8``), and the y axis reaches at least the highest one.
    """
    left, right, top = 52, 12, 12
    legend_rows = (len(series) + 2) // 3
    bottom = 34 + 18 * legend_rows
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    levels = [t for t, _ in thresholds]
    top_value = y_max if y_max is not None else nice_max(max([*values, *levels], default=1.0))
    n = len(x_labels)

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y_at(v: float) -> float:
        return top + plot_h * (1 - min(max(v / top_value, 0.0), 1.0))

    desc_parts = []
    for s in series:
        shown = [
            f"{x_labels[i]}: {_fmt(v, percent)}" for i, v in enumerate(s.values) if v is not None
        ]
        desc_parts.append(f"{s.label} — " + ("; ".join(shown) if shown else "no data"))
    desc_parts += [f"threshold {label}: {_fmt(v, percent)}" for v, label in thresholds]
    out = _open(chart_id, width, height, title, ". ".join(desc_parts) or "No data.")
    for k in range(5):
        v = top_value * k / 4
        y = y_at(v)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{_num(y + 4)}" text-anchor="end" fill="{_TEXT}">'
            f"{escape(_tick(v, percent))}</text>"
        )
    step = max(1, (n + 6) // 7)  # at most ~7 x labels
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            out.append(
                f'<text x="{_num(x_at(i))}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'fill="{_TEXT}">{escape(label)}</text>'
            )
    for level, label in thresholds:
        y = y_at(level)
        out.append(
            f'<line class="threshold" x1="{left}" x2="{width - right}" y1="{_num(y)}" '
            f'y2="{_num(y)}" stroke="{_TEXT}" stroke-width="1.5" stroke-dasharray="3 3">'
            f"<title>{escape(label)}</title></line>"
        )
        out.append(
            f'<text x="{width - right - 4}" y="{_num(y - 4)}" text-anchor="end" '
            f'fill="{_TEXT}">{escape(label)}</text>'
        )
    for k, s in enumerate(series):
        color, dash, shape = PALETTE[k % 7], DASHES[k % 7], MARKERS[k % 7]
        pts = [(x_at(i), y_at(v), v, i) for i, v in enumerate(s.values) if v is not None]
        if len(pts) > 1:
            path = " ".join(f"{_num(x)},{_num(y)}" for x, y, _, _ in pts)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" '
                f'stroke-width="2"{dash_attr}/>'
            )
        for x, y, v, i in pts:
            out.append(_marker(shape, x, y, color, f"{s.label}, {x_labels[i]}: {_fmt(v, percent)}"))
    for k, s in enumerate(series):
        row, col = divmod(k, 3)
        lx = left + col * (plot_w / 3)
        ly = top + plot_h + 34 + row * 18
        out.append(_marker(MARKERS[k % 7], lx + 5, ly - 4, PALETTE[k % 7], s.label))
        out.append(
            f'<text x="{_num(lx + 14)}" y="{_num(ly)}" fill="{_TEXT}">{escape(s.label)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text piece went through escape()


def bar_chart(
    chart_id: str,
    bars: Sequence[Bar],
    *,
    title: str,
    x_label: str = "",
    reference: float | None = None,
    reference_label: str = "",
    x_max: float | None = None,
    percent: bool = False,
    width: int = 640,
) -> Markup:
    """Horizontal bars, each with its confidence interval as a whisker when given, and an
    optional vertical reference line (e.g. the four-fifths threshold)."""
    left = min(260, 24 + 7 * max((len(b.label) for b in bars), default=4))
    right, top, row = 56, 10, 26
    height = top + row * max(1, len(bars)) + 40
    plot_w = width - left - right
    highs = [b.high if b.high is not None else b.value for b in bars]
    top_value = x_max or nice_max(max([*highs, reference or 0.0, 0.0]))

    def x_at(v: float) -> float:
        return left + plot_w * min(max(v / top_value, 0.0), 1.0)

    desc = "; ".join(
        f"{b.label}: {_fmt(b.value, percent)}"
        + (
            f" (95% CI {_fmt(b.low, percent)} to {_fmt(b.high, percent)})"
            if b.low is not None and b.high is not None
            else ""
        )
        for b in bars
    )
    out = _open(chart_id, width, height, title, desc or "No data.")
    base = top + row * max(1, len(bars))
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{base}" stroke="{_TEXT}"/>')
    for k in range(5):
        v = top_value * k / 4
        out.append(
            f'<text x="{_num(x_at(v))}" y="{base + 14}" text-anchor="middle" fill="{_TEXT}">'
            f"{escape(_tick(v, percent))}</text>"
        )
    if x_label:
        out.append(
            f'<text x="{_num(left + plot_w / 2)}" y="{base + 32}" text-anchor="middle" '
            f'fill="{_TEXT}">{escape(x_label)}</text>'
        )
    for i, b in enumerate(bars):
        y = top + row * i
        out.append(
            f'<text x="{left - 6}" y="{y + 17}" text-anchor="end" fill="{_TEXT}">'
            f"{escape(b.label)}</text>"
        )
        w = x_at(b.value) - left
        out.append(
            f'<rect x="{left}" y="{y + 5}" width="{_num(max(w, 0.0))}" height="16" '
            f'fill="{PALETTE[0]}"><title>{escape(b.label)}: {escape(_fmt(b.value, percent))}'
            "</title></rect>"
        )
        if b.low is not None and b.high is not None:
            x1, x2, cy = x_at(b.low), x_at(b.high), y + 13
            out.append(
                f'<path d="M{_num(x1)} {cy - 6}v12M{_num(x1)} {cy}H{_num(x2)}M{_num(x2)} '
                f'{cy - 6}v12" stroke="{_TEXT}" stroke-width="1.5" fill="none"/>'
            )
        out.append(
            f'<text x="{_num(max(x_at(b.high or b.value), x_at(b.value)) + 4)}" y="{y + 17}" '
            f'fill="{_TEXT}">{escape(_fmt(b.value, percent))}</text>'
        )
    if reference is not None:
        x = x_at(reference)
        out.append(
            f'<line x1="{_num(x)}" x2="{_num(x)}" y1="{top}" y2="{base}" stroke="{PALETTE[1]}" '
            f'stroke-width="2" stroke-dasharray="6 3"><title>{escape(reference_label)}</title>'
            "</line>"
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text piece went through escape()


def paired_bars(
    chart_id: str,
    rows: Sequence[tuple[str, float, float]],
    *,
    title: str,
    first: str = "before",
    second: str = "after",
    width: int = 640,
) -> Markup:
    """Two bars per label (before / after a mitigation), distinguished by colour and label."""
    left = min(260, 24 + 7 * max((len(r[0]) for r in rows), default=4))
    right, top, row = 72, 10, 40
    height = top + row * max(1, len(rows)) + 30
    plot_w = width - left - right
    top_value = nice_max(max([abs(v) for r in rows for v in r[1:]] + [0.0]))
    desc = "; ".join(f"{label}: {first} {a:.3g}, {second} {b:.3g}" for label, a, b in rows)
    out = _open(chart_id, width, height, title, desc or "No data.")
    for i, (label, a, b) in enumerate(rows):
        y = top + row * i
        out.append(
            f'<text x="{left - 6}" y="{y + 22}" text-anchor="end" fill="{_TEXT}">'
            f"{escape(label)}</text>"
        )
        for j, (name, v) in enumerate(((first, a), (second, b))):
            w = plot_w * abs(v) / top_value
            yy = y + 4 + j * 16
            out.append(
                f'<rect x="{left}" y="{yy}" width="{_num(w)}" height="14" '
                f'fill="{PALETTE[5] if j == 0 else PALETTE[0]}"><title>{escape(label)}, '
                f"{escape(name)}: {v:.3g}</title></rect>"
            )
            out.append(
                f'<text x="{_num(left + w + 4)}" y="{yy + 11}" fill="{_TEXT}">'
                f"{escape(name)} {v:.3g}</text>"
            )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text piece went through escape()


@dataclass(frozen=True, slots=True)
class Spread:
    """One group's distribution: p10, p25, median, p75, p90, and the mean with its 95% CI."""

    label: str
    p10: float
    p25: float
    median: float
    p75: float
    p90: float
    mean: float
    low: float | None = None
    high: float | None = None


def quantile_chart(
    chart_id: str,
    rows: Sequence[Spread],
    *,
    title: str,
    x_label: str = "",
    width: int = 640,
) -> Markup:
    """One horizontal box per group: whiskers p10–p90, box p25–p75, a bar at the median, and
    the mean as a diamond with its 95% CI. The axis spans the data (prices need not start at 0).

    Each box is a ``<g class="spread">`` carrying the exact numbers in ``data-*`` attributes
    (``repr`` of the floats), so a test can check the chart against the audit it came from.
    """
    left = min(260, 24 + 7 * max((len(r.label) for r in rows), default=4))
    right, top, row = 24, 10, 30
    height = top + row * max(1, len(rows)) + 46
    plot_w = width - left - right
    lows = [min(r.p10, r.mean, r.low if r.low is not None else r.mean) for r in rows]
    highs = [max(r.p90, r.mean, r.high if r.high is not None else r.mean) for r in rows]
    lo, hi = min(lows, default=0.0), max(highs, default=1.0)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.04
    lo, hi = lo - pad, hi + pad

    def x_at(v: float) -> float:
        return left + plot_w * (v - lo) / (hi - lo)

    def ci(r: Spread) -> str:
        if r.low is None or r.high is None:
            return ""
        return f" (95% CI {r.low:.4g} to {r.high:.4g})"

    desc = "; ".join(
        f"{r.label}: p10 {r.p10:.4g}, p25 {r.p25:.4g}, median {r.median:.4g}, p75 {r.p75:.4g}, "
        f"p90 {r.p90:.4g}, mean {r.mean:.4g}{ci(r)}"
        for r in rows
    )
    out = _open(chart_id, width, height, title, desc or "No data.")
    base = top + row * max(1, len(rows))
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{base}" y2="{base}" stroke="{_TEXT}"/>')
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        x = _num(x_at(v))
        out.append(f'<line x1="{x}" x2="{x}" y1="{top}" y2="{base}" stroke="{_GRID}"/>')
        out.append(
            f'<text x="{x}" y="{base + 14}" text-anchor="middle" fill="{_TEXT}">'
            f"{escape(f'{v:.4g}')}</text>"
        )
    if x_label:
        out.append(
            f'<text x="{_num(left + plot_w / 2)}" y="{base + 32}" text-anchor="middle" '
            f'fill="{_TEXT}">{escape(x_label)}</text>'
        )
    for i, r in enumerate(rows):
        y = top + row * i
        cy = y + row / 2
        data = " ".join(
            f'data-{k}="{getattr(r, k)!r}"'
            for k in ("p10", "p25", "median", "p75", "p90", "mean", "low", "high")
        )
        out.append(f'<g class="spread" data-group="{escape(r.label)}" {data}>')
        out.append(
            f'<text x="{left - 6}" y="{_num(cy + 4)}" text-anchor="end" fill="{_TEXT}">'
            f"{escape(r.label)}</text>"
        )
        x10, x25, x50, x75, x90 = (x_at(v) for v in (r.p10, r.p25, r.median, r.p75, r.p90))
        tip = escape(
            f"{r.label}: p10 {r.p10:.4g}, p25 {r.p25:.4g}, median {r.median:.4g}, "
            f"p75 {r.p75:.4g}, p90 {r.p90:.4g}"
        )
        out.append(
            f'<path d="M{_num(x10)} {_num(cy - 5)}v10M{_num(x10)} {_num(cy)}H{_num(x25)}'
            f'M{_num(x75)} {_num(cy)}H{_num(x90)}M{_num(x90)} {_num(cy - 5)}v10" '
            f'stroke="{_TEXT}" stroke-width="1.5" fill="none"/>'
        )
        out.append(
            f'<rect x="{_num(x25)}" y="{_num(cy - 8)}" width="{_num(max(x75 - x25, 1.0))}" '
            f'height="16" fill="#cfe3f3" stroke="{PALETTE[0]}"><title>{tip}</title></rect>'
        )
        out.append(
            f'<line x1="{_num(x50)}" x2="{_num(x50)}" y1="{_num(cy - 8)}" y2="{_num(cy + 8)}" '
            f'stroke="{PALETTE[0]}" stroke-width="3"/>'
        )
        if r.low is not None and r.high is not None:
            out.append(
                f'<path d="M{_num(x_at(r.low))} {_num(cy)}H{_num(x_at(r.high))}" '
                f'stroke="{PALETTE[1]}" stroke-width="2"/>'
            )
        mean_tip = f"{r.label}: mean {r.mean:.4g}{ci(r)}"
        out.append(_marker("diamond", x_at(r.mean), cy, PALETTE[1], mean_tip))
        out.append("</g>")
    legend_y = base + 40
    out.append(
        f'<text x="{left}" y="{legend_y}" fill="{_TEXT}">box p25–p75, bar median, whiskers '
        f"p10–p90; diamond mean with its 95% CI</text>"
    )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text piece went through escape()
