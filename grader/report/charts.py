"""Figures for the reports and the dashboard, inlined as SVG data URIs.

A student report's two figures, the error heatmap and the speed chart, are drawn as plain SVG by
:mod:`grader.report.svg`: importing matplotlib and drawing them cost ~3 CPU-seconds per report
(most of a self-check's time, and one report per student in a batch), and the kit does not
install it.  The class dashboard's figures are drawn with matplotlib (Agg), once per batch.

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
from typing import Any, Optional, Sequence

from grader.report.text import fmt_ratio, fmt_seconds, function_label
from grader.results import SpeedVerdict

STUDENT_COLOR = "#c2410c"  # orange, with hatching so it is not colour alone
REFERENCE_COLOR = "#0f766e"  # teal
INK = "#1f2937"
GRID = "#d1d5db"
NOISE = 1e-7  # |error| at or below this is floating-point rounding, drawn and counted as a match

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


def _figure(width_in: float, height_in: float, *, left: float = 0.8, right: float = 0.25, top: float = 0.25,
            bottom: float = 0.55):
    """A figure with fixed margins in inches (no layout engine: it would double the drawing time)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=96)
    fig.subplots_adjust(left=left / width_in, right=1 - right / width_in, top=1 - top / height_in,
                        bottom=bottom / height_in)
    return fig


def _fit_left_margin(fig, ax, width_in: float) -> None:
    """Make the left margin exactly as wide as the y tick labels (measured, not guessed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    widest = max((t.get_window_extent(renderer).width for t in ax.get_yticklabels()), default=0.0) / fig.dpi
    left = min(widest + 0.25, width_in * 0.5)
    fig.subplots_adjust(left=left / width_in)


def _time_ticks(axis, lo: float, hi: float, narrow: bool) -> None:
    """Log-scale ticks labelled in readable units ("200 µs", "1 ms"), with 2 and 5 steps when the range is short."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 1.0
    subs = (1.0,) if decades > (2.5 if narrow else 3.5) else (1.0, 3.0) if narrow or decades > 2 else (1.0, 2.0, 5.0)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: fmt_seconds(x).replace(" ", "\u2009")))
    axis.set_minor_formatter(NullFormatter())


def _to_chart(fig, alt: str) -> Chart:
    import matplotlib

    with matplotlib.rc_context(_RC):
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": f"w2v-grader with Matplotlib {matplotlib.__version__}"})
    width_in, height_in = fig.get_size_inches()
    encoded = base64.b64encode(buf.getvalue()).decode("ascii")
    return Chart(f"data:image/svg+xml;base64,{encoded}", alt, int(width_in * 96), int(height_in * 96))


_CACHE: dict[str, Chart] = {}
_CACHE_SIZE = 64


def cached(kind: str, *key_parts: Any):
    """Memoise a chart on its inputs: the same result is often rendered for two audiences."""
    import json

    from grader.results import to_jsonable

    def wrap(build):
        key = kind + json.dumps(to_jsonable(list(key_parts)), sort_keys=True, default=repr)
        if key not in _CACHE:
            chart = build()
            if chart is None:
                return None
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = chart
        return _CACHE[key]

    return wrap


def _rc():
    import matplotlib

    return matplotlib.rc_context(_RC)


def speed_chart(verdicts: Sequence[SpeedVerdict], *, narrow: bool = False) -> Optional[Chart]:
    """Horizontal bars: the student's vs the reference's CPU time per call (memoised)."""
    return cached("speed", list(verdicts), narrow)(lambda: _speed_chart(verdicts, narrow=narrow))


def _stopped(verdict: SpeedVerdict) -> bool:
    """Timing was stopped early (far too slow): no times to draw, only a lower bound on the ratio."""
    return verdict.verdict == "too_slow" and _finite(verdict.ratio) and not any(
        _positive(m.student_seconds) and _positive(m.reference_seconds) for m in verdict.measurements)


def _speed_chart(verdicts: Sequence[SpeedVerdict], *, narrow: bool = False) -> Optional[Chart]:
    """Horizontal bars: the student's vs the reference's CPU time per call, per function and size (log scale).

    A function whose timing was stopped early (far too slow) gets a row with a note instead of bars, so
    the slowest function never silently drops out of the chart.  ``narrow=True`` draws a phone-sized
    variant (shorter labels, 1:1 at 375 px).
    """
    rows: list[tuple[SpeedVerdict, Any]] = []
    for v in verdicts:
        if _stopped(v):
            rows.append((v, None))
        rows.extend((v, m) for m in v.measurements if _positive(m.student_seconds) and _positive(m.reference_seconds))
    timed = [m for _, m in rows if m is not None]
    if not timed:
        return None
    from grader.report import svg

    text, width, height = svg.speed_chart(rows, narrow)
    alt = "Bar chart of CPU time per call. " + "; ".join(
        f"{function_label(v.function)}: timing stopped at more than {fmt_ratio(v.ratio)} the reference" if m is None
        else f"{function_label(v.function)} at {m.size_label}: yours {fmt_seconds(m.student_seconds)}, reference "
             f"{fmt_seconds(m.reference_seconds)} ({fmt_ratio(m.ratio)})" for v, m in rows) + "."
    return Chart(svg.data_uri(text), alt, width, height)


def heatmap(matrix: Sequence[Sequence[float]], title: str) -> Optional[Chart]:
    """|got − expected| of a matrix output as a heatmap (memoised)."""
    return cached("heatmap", matrix, title)(lambda: _heatmap(matrix, title))


def _heatmap(matrix: Sequence[Sequence[float]], title: str) -> Optional[Chart]:
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
    data[data <= NOISE] = 0.0  # rounding noise counts as a match
    rows, cols = data.shape
    top = float(data.max()) if data.size else 0.0
    nonzero_rows = int(np.count_nonzero((data > 0).any(axis=1) | bad.any(axis=1)))
    alt = (f"Heatmap of the absolute error of {title}, {rows}×{cols}: {nonzero_rows} of {rows} rows differ; "
           f"largest finite error {top:.3g}" + (f"; {int(bad.sum())} entries are nan or inf" if bad.any() else "") + ".")
    from grader.report import svg

    text, width, height = svg.heatmap(data, bad, title)
    return Chart(svg.data_uri(text), alt, width, height)


def score_histogram(scores: Sequence[float], max_score: float) -> Optional[Chart]:
    """Histogram of total scores across submissions."""
    values = [s for s in scores if _finite(s)]
    if not values:
        return None
    top = max(max_score, max(values), 1.0)
    step = next(s for s in (0.25, 0.5, 1, 2, 5, 10, 20, 50) if top / s <= 24)  # readable bins on point boundaries
    bins = [i * step for i in range(int(math.ceil(top / step)) + 1)]
    with _rc():
        fig = _figure(5.6, 2.6, left=0.6)
        ax = fig.add_subplot()
        ax.hist(values, bins=bins, color=REFERENCE_COLOR, edgecolor="white")
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
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    items = [(fn, [r for r in values if _positive(r)]) for fn, values in ratios.items()]
    items = [(fn, values) for fn, values in items if values]
    if not items:
        return None
    every = [r for _, values in items for r in values]
    lo, hi = min(min(every), 0.8), max(max(every), 4.0)
    with _rc():
        fig = _figure(6.0, 0.42 * len(items) + 1.1, left=1.25)
        ax = fig.add_subplot()
        rng = np.random.default_rng(0)
        for i, (_fn, values) in enumerate(items):
            y = len(items) - 1 - i
            jitter = rng.uniform(-0.15, 0.15, size=len(values))
            ax.scatter(values, y + jitter, s=30, color=STUDENT_COLOR, alpha=0.75, edgecolors=INK, linewidths=0.4,
                       zorder=3)
            ax.plot([float(np.median(values))] * 2, [y - 0.32, y + 0.32], color=INK, linewidth=2.2, zorder=4)
        ax.axvline(1.0, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2)
        ax.set_yticks(range(len(items) - 1, -1, -1), [function_label(fn) for fn, _ in items], fontsize=9)
        _fit_left_margin(fig, ax, 6.0)
        ax.set_ylim(-0.6, len(items) - 0.4)
        ax.set_xscale("log")
        ax.set_xlim(lo / 1.3, hi * 1.3)
        ticks = [t for t in (0.25, 0.5, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000) if lo / 1.3 <= t <= hi * 1.3]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}×"))
        ax.set_xlabel("CPU time ÷ reference time (log scale; dashed = reference, bar = median)", fontsize=9)
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
