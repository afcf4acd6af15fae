"""Plain-text helpers shared by the HTML and Markdown renderers.

Nothing here produces HTML: escaping is the templates' job (autoescape is on).
These functions only shorten, trim and format text and numbers.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Optional

from grader.results import ArraySummary

FUNCTION_LABELS: dict[str, str] = {
    "sigmoid": "sigmoid",
    "naiveSoftmaxLossAndGradient": "naive softmax",
    "negSamplingLossAndGradient": "negative sampling",
    "skipgram": "skip-gram",
    "sgd": "sgd",
}

CHECK_LABELS: dict[str, str] = {
    "correctness": "correctness",
    "gradcheck": "gradient check",
    "stability": "numerical stability",
    "speed": "speed",
    "integration": "integration",
}

MAX_DETAIL_CHARS = 4000  # sandbox event details, messages
MAX_PREVIEW_CHARS = 2500  # one array preview
TRUNCATION_MARKER = "[… {n} more characters not shown …]"


def function_label(name: str) -> str:
    return FUNCTION_LABELS.get(name, name)


def check_label(kind: str) -> str:
    return CHECK_LABELS.get(kind, kind)


def truncate(text: Any, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and tail, with a visible marker."""
    text = "" if text is None else str(text)
    text = _strip_controls(text)
    if len(text) <= limit:
        return text
    head = int(limit * 0.7)
    tail = limit - head
    dropped = len(text) - head - tail
    return f"{text[:head]}\n{TRUNCATION_MARKER.format(n=f'{dropped:,}')}\n{text[-tail:]}"


_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _strip_controls(text: str) -> str:
    """Drop terminal colour codes and show other control characters (NUL, BEL, ...) as \ufffd."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", _ANSI.sub("", text))


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]*)", line \d+')
# Paths of the grader's throw-away working directories ("/tmp/w2v-run-ab12cd/student/word2vec.py"): the student
# knows their file as "word2vec.py".
_RUN_DIR = re.compile(r"/w2v-run-[A-Za-z0-9_]+/student/")
_PATH_STOP = frozenset(" \t\n\r\"'`(=<>")


def strip_sandbox_paths(text: str) -> str:
    """Drop the grader's temporary working-directory prefix from file paths in ``text``.

    Linear in the length of ``text`` (it is partly student output): each marker is found by a plain
    regex without backtracking, and the start of its path by walking back to the previous separator.
    """
    text = text or ""
    if "/w2v-run-" not in text:
        return text
    out: list[str] = []
    last = 0
    for match in _RUN_DIR.finditer(text):
        start = match.start()
        floor = max(last, start - 4096)  # no real path is longer
        while start > floor and text[start - 1] not in _PATH_STOP:
            start -= 1
        out.append(text[last:start])
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def trim_traceback(text: str, student_files: Iterable[str] = ("word2vec.py", "sgd.py")) -> str:
    """A Python traceback restricted to frames in the student's own files.

    Tracebacks that are already trimmed by the worker pass through unchanged.
    Frames from the grader, numpy or the standard library are replaced by one
    "… N frames outside your files hidden …" line.  The grader's temporary
    working-directory prefix is removed from paths either way.
    """
    text = strip_sandbox_paths(text or "")
    if "Traceback (most recent call last):" not in text:
        return text
    names = {name.rsplit("/", 1)[-1] for name in student_files if name}
    lines = text.splitlines()
    out: list[str] = []
    hidden = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _FRAME.match(line)
        if not match:
            if hidden:
                out.append(f"  … {hidden} frame{'s' if hidden != 1 else ''} outside your files hidden …")
                hidden = 0
            out.append(line)
            i += 1
            continue
        # A frame is its "File ..." line plus indented source / caret lines below it.
        block = [line]
        i += 1
        while i < len(lines) and lines[i].startswith("    ") and not _FRAME.match(lines[i]):
            block.append(lines[i])
            i += 1
        filename = match.group("file").replace("\\", "/").rsplit("/", 1)[-1]
        if filename in names:
            if hidden:
                out.append(f"  … {hidden} frame{'s' if hidden != 1 else ''} outside your files hidden …")
                hidden = 0
            out.extend(block)
        else:
            hidden += 1
    if hidden:
        out.append(f"  … {hidden} frame{'s' if hidden != 1 else ''} outside your files hidden …")
    return "\n".join(out)


def fmt_points(value: Optional[float]) -> str:
    """Points without trailing zeros: 1, 0.5, 0.25, 10.75."""
    if value is None:
        return "–"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fmt_num(value: Any, digits: int = 6) -> str:
    """A number for humans: general format, NaN/inf spelled out, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{digits}g}"
    return str(value)


def fmt_sci(value: Optional[float]) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not math.isfinite(value):
        return fmt_num(value)
    return f"{value:.2e}"


def fmt_seconds(value: Optional[float]) -> str:
    """CPU seconds per call with a sensible unit."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    if value >= 1:
        return f"{value:.3g} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} µs"


def one_line(text: Any, limit: int = 200) -> str:
    """``text`` on one line, cut at ``limit`` characters with a trailing "…" (for table cells)."""
    text = " ".join(_strip_controls("" if text is None else str(text)).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fmt_ratio(value: Optional[float]) -> str:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    if value < 1:
        return f"{value:.2g}×"
    return f"{value:.1f}×" if value < 10 else f"{value:.0f}×"


def fmt_index(index: Optional[list[int]]) -> str:
    if index is None:
        return "–"
    if len(index) == 0:
        return "the scalar value"
    return "[" + ", ".join(str(i) for i in index) + "]"


def fmt_shape(summary: Optional[ArraySummary]) -> str:
    if summary is None:
        return "–"
    if summary.shape is None:
        return "scalar"
    return "(" + ", ".join(str(n) for n in summary.shape) + ("," if len(summary.shape) == 1 else "") + ")"


def fmt_preview(summary: Optional[ArraySummary], limit: int = MAX_PREVIEW_CHARS) -> str:
    """The values of an :class:`ArraySummary` as numpy would print them, shortened."""
    if summary is None:
        return "–"
    value = summary.preview
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple)):
        text = _format_nested(value)
    else:
        text = fmt_num(value, 8)
    text = truncate(text, limit)
    if summary.truncated:
        text += "\n[… values truncated for display …]"
    return text


def _format_nested(value: Any) -> str:
    try:
        import numpy as np

        arr = np.array(value, dtype=float)
        if arr.dtype != object:
            return np.array2string(arr, precision=6, threshold=200, edgeitems=4, max_line_width=72,
                                   suppress_small=False)
    except (ValueError, TypeError):
        pass
    return _repr_nested(value)


def _repr_nested(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_repr_nested(v) for v in value) + "]"
    return fmt_num(value, 8) if isinstance(value, (int, float)) else str(value)


def plural(n: float, word: str, suffix: str = "s") -> str:
    count = fmt_points(n) if isinstance(n, float) else str(n)
    return f"{count} {word}{'' if n == 1 else suffix}"
