"""The report's figures as plain SVG, without matplotlib (the self-check kit does not install it).

:mod:`grader.report.charts` draws every student report's figures with these: matplotlib costs
~3 CPU-seconds a report, and the kit does not install it (the dashboard's figures still use it).
They are simple: a grid of coloured cells for an error heatmap, and paired bars on a log
scale for the speed chart.  Every text drawn comes from the grader (labels, numbers), is escaped,
and the SVG goes into an ``<img>`` data URI, where nothing can run.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Optional, Sequence
from xml.sax.saxutils import escape

from grader.report.text import fmt_ratio, fmt_seconds, function_label

CELL_MAX = 40  # rows and columns drawn at most (the matrix is already downsampled by the checks)
RAMP = ((0.98, 0.96, 0.92), (0.99, 0.70, 0.36), (0.80, 0.25, 0.25), (0.23, 0.06, 0.29))
"""Light (small error) to dark (large error) colour stops."""
MATCH = "#e5e7eb"


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _colour(t: float) -> str:
    t = min(max(t, 0.0), 1.0) * (len(RAMP) - 1)
    i = min(int(t), len(RAMP) - 2)
    f = t - i
    rgb = [RAMP[i][k] + (RAMP[i + 1][k] - RAMP[i][k]) * f for k in range(3)]
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start", weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'font-family="sans-serif" fill="#1f2937">{escape(text)}</text>')


def heatmap(data: Any, bad: Any, title: str) -> tuple[str, int, int]:
    """SVG of |got − expected| (``data``: 2-D numpy array of non-negative errors; ``bad``: nan/inf mask)."""
    rows, cols = data.shape
    rows, cols = min(rows, CELL_MAX), min(cols, CELL_MAX)
    cell = max(6, min(24, 360 // max(rows, cols)))
    left, top = 40, 30
    width, height = left + cols * cell + 20, top + rows * cell + 30
    positive = data[data > 0]
    log = positive.size and positive.max() / positive.min() > 1e3
    hi = float(positive.max()) if positive.size else 1.0
    lo = float(positive.min()) if positive.size else 0.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">', '<rect width="100%" height="100%" fill="white"/>',
             _text(left, 18, title + (" (nan/inf darkest)" if bad.any() else ""), 12, weight="bold")]
    for r in range(rows):
        for c in range(cols):
            value = float(data[r, c])
            if bad[r, c]:
                fill = _colour(1.0)
            elif value <= 0:
                fill = MATCH
            elif log:
                fill = _colour((math.log10(value) - math.log10(lo)) / max(math.log10(hi) - math.log10(lo), 1e-12))
            else:
                fill = _colour(value / hi)
            parts.append(f'<rect x="{left + c * cell}" y="{top + r * cell}" width="{cell}" height="{cell}" '
                         f'fill="{fill}" stroke="white" stroke-width="0.5"/>')
    parts.append(_text(left, top + rows * cell + 18, f"columns 0–{cols - 1}; rows 0–{rows - 1} (top to bottom); "
                       "darker = larger |yours − expected|", 10))
    parts.append("</svg>")
    return "".join(parts), width, height


def speed_chart(rows: Sequence[tuple[Any, Optional[Any]]], narrow: bool) -> tuple[str, int, int]:
    """SVG bars: per (verdict, measurement) row the student's and the reference's CPU time (log scale)."""
    timed = [m for _, m in rows if m is not None]
    lo = min(min(m.student_seconds, m.reference_seconds) for m in timed) / 2
    hi = max(max(m.student_seconds, m.reference_seconds) for m in timed) * (8 if narrow else 4)
    width = 340 if narrow else 650
    label_w = 110 if narrow else 200
    row_h = 44
    height = 40 + row_h * len(rows) + 20
    span = math.log10(hi) - math.log10(lo)

    def x(seconds: float) -> float:
        return label_w + (width - label_w - 60) * (math.log10(seconds) - math.log10(lo)) / span

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">', '<rect width="100%" height="100%" fill="white"/>',
             f'<rect x="{label_w}" y="8" width="12" height="10" fill="#c2410c"/>', _text(label_w + 16, 17, "your code", 10),
             f'<rect x="{label_w + 90}" y="8" width="12" height="10" fill="#0f766e"/>',
             _text(label_w + 106, 17, "reference", 10)]
    for i, (verdict, m) in enumerate(rows):
        y = 32 + i * row_h
        name = function_label(verdict.function)
        size = "timing stopped" if m is None else (m.size_label.split(", ")[0] if narrow else m.size_label)
        parts.append(_text(4, y + 14, name, 11, weight="bold"))
        parts.append(_text(4, y + 28, size, 9))
        if m is None:
            parts.append(_text(label_w, y + 20, f"more than {fmt_ratio(verdict.ratio)} the reference: stopped early",
                               10, weight="bold"))
            continue
        for offset, seconds, fill in ((2, m.student_seconds, "#c2410c"), (18, m.reference_seconds, "#0f766e")):
            parts.append(f'<rect x="{label_w}" y="{y + offset}" width="{max(x(seconds) - label_w, 1):.1f}" '
                         f'height="14" fill="{fill}"/>')
        parts.append(_text(max(x(m.student_seconds), x(m.reference_seconds)) + 6, y + 20,
                           f"{fmt_ratio(m.ratio)} ({fmt_seconds(m.student_seconds)})", 10, weight="bold"))
    parts.append(_text(label_w, height - 6, "CPU time per call (log scale; shorter is faster)", 10))
    parts.append("</svg>")
    return "".join(parts), width, height
