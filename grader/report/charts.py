"""Figures for the reports, drawn with matplotlib (Agg) and inlined as SVG data URIs.

Every figure is embedded as ``<img src="data:image/svg+xml;base64,…">``: the
page stays self-contained, vectors stay sharp in print, and nothing inside
an image can run script or reach the network.  Each chart also gets alt
text; the numbers behind it are always printed in a table next to it, so
no information lives only in a picture.

Text drawn into figures comes from the grader (function names, size
labels), never from the submission.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Optional, Sequence

from grader.report.text import fmt_ratio, fmt_seconds, function_label
from grader.results import SpeedVerdict

STUDENT_COLOR = "#c2410c"  # orange, with hatching so it is not colour alone
REFERENCE_COLOR = "#0f766e"  # teal
INK = "#1f2937"
GRID = "#d1d5db"

_RC = {
    "svg.hashsalt": "w2v-grader",  # deterministic ids
    "svg.fonttype": "path",  # text as outlines: no font lookups in the browser
    "font.size": 10,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "hatch.linewidth": 0.8,
}


@dataclass
class Chart:
    """A rendered figure: a data URI for ``<img src>``, alt text and its natural size in CSS pixels."""

    data_uri: str
    alt: str
    width: int
    height: int


def _figure(width_in: float, height_in: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=96, layout="constrained")


def _to_chart(fig, alt: str) -> Chart:
    import matplotlib

    with matplotlib.rc_context(_RC):
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "w2v-grader"})
    width_in, height_in = fig.get_size_inches()
    encoded = base64.b64encode(buf.getvalue()).decode("ascii")
    return Chart(f"data:image/svg+xml;base64,{encoded}", alt, int(width_in * 96), int(height_in * 96))


def _rc():
    import matplotlib

    return matplotlib.rc_context(_RC)


def speed_chart(verdicts: Sequence[SpeedVerdict]) -> Optional[Chart]:
    """Horizontal bars: the student's vs the reference's CPU time per call, per function and size (log scale)."""
    rows = [(v, m) for v in verdicts for m in v.measurements
            if _positive(m.student_seconds) and _positive(m.reference_seconds)]
    if not rows:
        return None
    with _rc():
        fig = _figure(7.0, 0.55 * len(rows) + 1.3)
        ax = fig.add_subplot()
        labels = []
        bar_h = 0.38
        for i, (verdict, m) in enumerate(rows):
            y = len(rows) - 1 - i
            labels.append(f"{function_label(verdict.function)}\n{m.size_label}")
            ax.barh(y + bar_h / 2, m.student_seconds, height=bar_h, color=STUDENT_COLOR, hatch="///",
                    edgecolor="white", label="your code" if i == 0 else None)
            ax.barh(y - bar_h / 2, m.reference_seconds, height=bar_h, color=REFERENCE_COLOR,
                    label="reference" if i == 0 else None)
            ax.text(max(m.student_seconds, m.reference_seconds) * 1.15, y, fmt_ratio(m.ratio),
                    va="center", fontsize=9, fontweight="bold")
        ax.set_yticks(range(len(rows) - 1, -1, -1), labels, fontsize=8)
        ax.set_xscale("log")
        lo = min(min(m.student_seconds, m.reference_seconds) for _, m in rows)
        hi = max(max(m.student_seconds, m.reference_seconds) for _, m in rows)
        ax.set_xlim(lo / 2, hi * 4)
        ax.set_xlabel("CPU seconds per call (log scale; shorter is faster)")
        ax.grid(axis="x", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="lower right", fontsize=8, frameon=True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        alt_parts = [f"{function_label(v.function)} at {m.size_label}: yours {fmt_seconds(m.student_seconds)}, "
                     f"reference {fmt_seconds(m.reference_seconds)} ({fmt_ratio(m.ratio)})" for v, m in rows]
        return _to_chart(fig, "Bar chart of CPU time per call. " + "; ".join(alt_parts) + ".")


def heatmap(matrix: Sequence[Sequence[float]], title: str) -> Optional[Chart]:
    """|got − expected| of a matrix output as a heatmap (log colour scale when it spans decades)."""
    import numpy as np

    try:
        data = np.array(matrix, dtype=float)
    except (TypeError, ValueError):
        return None
    if data.ndim == 1:
        data = data[None, :]
    if data.ndim != 2 or data.size == 0:
        return None
    bad = ~np.isfinite(data)  # nan/inf in your output: shown in the darkest colour
    data = np.where(bad, 0.0, np.abs(data))
    rows, cols = data.shape
    top = float(data.max()) if data.size else 0.0
    with _rc():
        aspect = min(max(cols / max(rows, 1), 0.35), 3.0)
        width = 5.6
        height = min(max(width / aspect * 0.8, 1.6), 6.0)
        fig = _figure(width, height)
        ax = fig.add_subplot()
        from matplotlib.colors import LogNorm, Normalize

        positive = data[data > 0]
        if positive.size and positive.max() / positive.min() > 1e3:
            low = max(float(positive.min()), float(positive.max()) * 1e-12)
            norm = LogNorm(vmin=low, vmax=top)
            shown = np.where(data > 0, data, np.nan)  # exact zeros -> light grey
        else:
            norm = Normalize(vmin=0, vmax=top if top > 0 else 1.0)
            shown = data.copy()
        shown[bad] = norm.vmax
        image = ax.imshow(shown, cmap=_cmap(), norm=norm, aspect="auto", interpolation="nearest")
        ax.set_xlabel("column")
        ax.set_ylabel("row")
        ax.set_title(title + (" (nan/inf shown darkest)" if bad.any() else ""), fontsize=9)
        cbar = fig.colorbar(image, ax=ax, shrink=0.9)
        cbar.set_label("|yours − expected|", fontsize=8)
    nonzero_rows = int(np.count_nonzero((data > 0).any(axis=1) | bad.any(axis=1)))
    alt = (f"Heatmap of the absolute error of {title}, {rows}×{cols}: {nonzero_rows} of {rows} rows differ; "
           f"largest finite error {top:.3g}" + (f"; {int(bad.sum())} entries are nan or inf" if bad.any() else "") + ".")
    return _to_chart(fig, alt)


def _cmap():
    from matplotlib import colormaps

    cmap = colormaps["magma_r"].copy()
    cmap.set_bad("#e5e7eb")  # exact zeros / non-finite shown as light grey
    return cmap


def score_histogram(scores: Sequence[float], max_score: float) -> Optional[Chart]:
    """Histogram of total scores across submissions."""
    values = [s for s in scores if _finite(s)]
    if not values:
        return None
    top = max(max_score, max(values), 1.0)
    bins = min(max(int(math.ceil(top)), 4), 24)
    with _rc():
        fig = _figure(6.4, 2.8)
        ax = fig.add_subplot()
        ax.hist(values, bins=bins, range=(0, top), color=REFERENCE_COLOR, edgecolor="white")
        ax.set_xlabel(f"score (out of {top:g})")
        ax.set_ylabel("submissions")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return _to_chart(fig, f"Histogram of {len(values)} total scores between 0 and {top:g}.")


def ratio_distribution(ratios: dict[str, list[float]]) -> Optional[Chart]:
    """One row per function: each submission's speed ratio (student/reference) as a dot, log scale."""
    import numpy as np

    items = [(fn, [r for r in values if _positive(r)]) for fn, values in ratios.items()]
    items = [(fn, values) for fn, values in items if values]
    if not items:
        return None
    with _rc():
        fig = _figure(6.4, 0.55 * len(items) + 1.3)
        ax = fig.add_subplot()
        rng = np.random.default_rng(0)
        for i, (fn, values) in enumerate(items):
            y = len(items) - 1 - i
            jitter = rng.uniform(-0.18, 0.18, size=len(values))
            ax.scatter(values, y + jitter, s=14, color=STUDENT_COLOR, alpha=0.7, edgecolors="none")
            ax.plot([float(np.median(values))] * 2, [y - 0.3, y + 0.3], color=INK, linewidth=2)
        ax.axvline(1.0, color=REFERENCE_COLOR, linestyle="--", linewidth=1)
        ax.set_yticks(range(len(items) - 1, -1, -1), [function_label(fn) for fn, _ in items], fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("time ÷ reference time (log scale; dashed line = reference, bar = median)")
        ax.grid(axis="x", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    alt = "; ".join(f"{function_label(fn)}: {len(v)} submissions, median {fmt_ratio(float(np.median(v)))}"
                    for fn, v in items)
    return _to_chart(fig, "Dot plot of speed ratios. " + alt + ".")


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _positive(x) -> bool:
    return _finite(x) and x > 0
