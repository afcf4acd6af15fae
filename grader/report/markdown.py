"""Short Markdown summary for Gradescope's top-level ``output`` (``output_format: "md"``).

Plain Markdown only (headings, lists, tables, fenced code) and no raw HTML.
What it says is the audience policy's decision (:mod:`grader.report.policy`): for a
student, hidden tests show name, points and a category hint only.  Text that may contain student-controlled content goes into
fenced code blocks (with a fence longer than any backtick run inside);
everything else is backslash-escaped.
"""

from __future__ import annotations

import re

from grader.report.text import truncate
from grader.report.view import build_report_view

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~{}])")


_TICKS = re.compile(r"(`[^`\n]{1,200}`)")


def md_escape(text: str) -> str:
    """Escape Markdown/HTML-significant characters in one line of text; `code spans` are kept as such."""
    text = " ".join(str(text).split())  # one line: no block structure from content
    parts = _TICKS.split(text)
    return "".join(part if i % 2 else _MD_SPECIAL.sub(r"\\\1", part) for i, part in enumerate(parts))


def md_code(text: str, limit: int = 1500) -> str:
    text = truncate(text, limit)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def render_markdown_summary(result, audience: str = "student") -> str:
    """The summary for ``audience`` (default: the student, as Gradescope shows it), from the audience policy."""
    v = build_report_view(result, audience, with_charts=False)
    out: list[str] = []
    out.append("## word2vec autograder")
    out.append("")
    out.append(f"**Score: {md_escape(v.score.sentence)}.** {md_escape(v.score.headline)}")
    out.append("")
    details = v.score.details[1:] if v.score.pending_count else v.score.details  # the first one is the sentence
    for detail in details:
        out.append(f"- {md_escape(detail)}")
    if details:
        out.append("")
    if v.internal_error:
        out.append("**Grader error (not a problem with your code):** the grader failed while grading this submission; "
                   "course staff have the details.")
        out.append("")

    if v.problems:
        out.append("### Problems found")
        out.append("")
        for ev in v.problems[:8]:
            out.append(f"- **{md_escape(ev.title)}**: {md_escape(truncate(ev.message, 300))}")
        out.append("")

    out.append("### By function")
    out.append("")
    out.append("| Function | Points | Result |")
    out.append("| --- | ---: | --- |")
    for f in v.functions:
        if not f.tests:
            continue
        pending = f" (+{f.pending} pending)" if f.pending else ""
        out.append(f"| {md_escape(f.label)} | {f.earned} / {f.max_score}{pending} | {f.status.symbol} {f.status.text} |")
    out.append("")

    if v.failing or v.blocked:
        out.append("### What to fix")
        out.append("")
        for g in v.blocked:
            numbers = ", ".join(md_escape(t.number) for t in g.tests)
            out.append(f"- **{len(g.tests)} tests could not run** ({numbers}; 0 / {g.points} points): "
                       f"{md_escape(truncate(g.reason, 300))}")
            out.append(f"  - Fix this one problem first, then {md_escape(v.advice.rerun)}: every one of these tests "
                       "runs again once it is fixed.")
        for t in v.failing[:10]:
            line = f"- **{md_escape(t.number)} {md_escape(t.name)}** — {t.status.text}, {t.score} / {t.max_score} points"
            if t.summary:
                line += f". {md_escape(truncate(t.summary, 300))}"
            out.append(line)
            if t.hint:
                out.append(f"  - What this usually means: {md_escape(truncate(t.hint, 400))}")
            if t.diagnosis is not None:
                out.append(f"  - {md_escape(truncate(t.diagnosis.summary, 400))}")
        if len(v.failing) > 10:
            out.append(f"- … and {len(v.failing) - 10} more.")
        out.append("")
        first = next((c for t in v.failing for c in t.cases if c.reproducer), None)
        if first is not None:
            out.append("Reproduce the first failure (paste into Python next to your files):")
            out.append("")
            out.append(md_code(first.reproducer))
            out.append("")

    if v.pending:
        out.append("### Pending tests")
        out.append("")
        for t in v.pending:
            out.append(f"- {md_escape(t.number)} {md_escape(t.name)} ({t.max_score} points, {md_escape(t.release)})")
        out.append("")
    out.append("The full HTML report explains every failing test, the gradient checks and the speed measurements.")
    return "\n".join(out).rstrip() + "\n"
