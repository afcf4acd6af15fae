"""Reports of the written-answer checker: JSON (tool contract), CSV (batch) and HTML.

JSON contract (one answer sheet)::

    {"parts": [{"part": ID, "verdict": V, "latex": ..., "reason": ..., "source": ...,
                "mapping": ..., "text": ...}, ...],       # every ID of PART_IDS, in order
     "extra_parts": [{"part": "plot", ...}], "student": ..., "file": ..., "numbering": ...,
     "summary": {...}, "notes": [...]}

Batch JSON is ``{"students": [<one sheet as above>, ...]}``.  The HTML page
uses the shared report stylesheet (``grader.report``) and template base:
self-contained, escaped, status in words plus a symbol.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Iterable

from grader.written.grade import StudentReport
from grader.written.verdict import AUTOMATIC, PART_TITLES, Verdict

TEMPLATES = Path(__file__).with_name("templates")

_STATUS = {
    Verdict.CORRECT: ("status-passed", "✓", "correct"),
    Verdict.SIGN_ERROR: ("status-failed", "✗", "sign error"),
    Verdict.TRANSPOSED: ("status-failed", "✗", "transposed"),
    Verdict.ROW_CONVENTION: ("status-failed", "✗", "row convention"),
    Verdict.SHAPE_ERROR: ("status-failed", "✗", "shape error"),
    Verdict.INCORRECT: ("status-failed", "✗", "incorrect"),
    Verdict.NEEDS_HUMAN: ("status-pending", "?", "needs a human"),
    Verdict.UNANSWERED: ("status-skipped", "–", "unanswered"),
}

CSV_FIELDS = ("student", "file", "part", "verdict", "reason", "source", "mapping", "latex")


def to_json(reports: list[StudentReport], batch: bool = False) -> dict:
    """The JSON document: one sheet's object, or ``{"students": [...]}`` in batch mode."""
    if not batch and len(reports) == 1:
        return reports[0].to_json()
    return {"students": [r.to_json() for r in reports]}


def write_json(reports: list[StudentReport], path: Path, batch: bool = False) -> None:
    Path(path).write_text(json.dumps(to_json(reports, batch), indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")


def csv_rows(reports: Iterable[StudentReport]) -> list[dict]:
    """One row per student per part (the 18 handout parts, then the plot discussion)."""
    rows = []
    for r in reports:
        for p in list(r.parts) + list(r.extra):
            rows.append({"student": r.student, "file": r.path, "part": p.part, "verdict": p.verdict.value,
                         "reason": p.reason, "source": p.source, "mapping": p.mapping, "latex": p.latex})
    return rows


def to_csv(reports: Iterable[StudentReport]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(reports):
        writer.writerow(row)
    return buf.getvalue()


def _counts(r: StudentReport) -> dict:
    s = r.summary()
    c = s["counts"]
    wrong = sum(c[v.value] for v in AUTOMATIC if v != Verdict.CORRECT)
    return {"correct": c["CORRECT"], "wrong": wrong, "human": c["NEEDS_HUMAN"], "unanswered": c["UNANSWERED"],
            "automatic": s["expression_automatic"], "answered": s["expression_answered"]}


def _part_view(p) -> dict:
    css, symbol, label = _STATUS[p.verdict]
    return {
        "css": css, "symbol": symbol, "label": label, "anchor": re.sub(r"\W", "-", p.part),
        "title": PART_TITLES.get(p.part, "2(c) plot discussion" if p.part == "plot" else p.part),
        "text": p.text, "reason": p.reason, "source": p.source, "mapping": p.mapping, "latex": p.latex,
    }


def build_view(reports: list[StudentReport]) -> list[dict]:
    views = []
    for k, r in enumerate(reports):
        views.append({
            "name": r.student, "file": r.path, "anchor": f"s{k + 1}", "numbering": r.summary()["numbering"],
            "counts": _counts(r), "notes": r.notes, "parts": [_part_view(p) for p in list(r.parts) + list(r.extra)],
        })
    return views


def _environment():
    import jinja2

    folders = [str(TEMPLATES)]
    try:
        from grader.report import TEMPLATES as SHARED

        folders.append(str(SHARED))
    except ImportError:  # the code-report package is absent: use the minimal base below
        pass
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(folders), jinja2.DictLoader({"_base.html.j2": _FALLBACK})])
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)


def _css_and_csp() -> tuple[str, str]:
    try:
        from grader.report import content_security_policy, stylesheet

        return stylesheet(), content_security_policy("")
    except ImportError:
        return _FALLBACK_CSS, "default-src 'none'; style-src 'unsafe-inline'"


def render_html(reports: list[StudentReport], handout: str = "2024", title: str = "") -> str:
    """One self-contained HTML page for one or more students."""
    from markupsafe import Markup

    css, csp = _css_and_csp()
    if not title:
        title = (f"Written answers — {reports[0].student}" if len(reports) == 1
                 else f"Written answers — {len(reports)} students")
    template = _environment().get_template("written_report.html.j2")
    return template.render(css=Markup(css), csp=csp, script="", title=title, handout=handout,
                           students=build_view(reports))


def write_html(reports: list[StudentReport], path: Path, handout: str = "2024") -> None:
    Path(path).write_text(render_html(reports, handout), encoding="utf-8")


def terminal_summary(r: StudentReport) -> str:
    """Plain-text table for the terminal."""
    lines = [f"{r.student}: {r.summary()['numbering']}"] + [f"  note: {n}" for n in r.notes]
    for p in list(r.parts) + list(r.extra):
        shown = (p.text[:60] + "…") if len(p.text) > 61 else p.text
        lines.append(f"  {p.part:8s} {p.verdict.value:14s} {shown}")
        if p.reason and p.verdict != Verdict.UNANSWERED:
            lines.append(f"  {'':8s} {'':14s} ↳ {p.reason[:140]}")
        if p.mapping and p.verdict != Verdict.UNANSWERED:
            lines.append(f"  {'':8s} {'':14s} placed {p.mapping[:140]}")
    c = _counts(r)
    lines.append(f"  → {c['correct']} correct, {c['wrong']} wrong, {c['human']} need a human, "
                 f"{c['unanswered']} unanswered; {c['automatic']}/{c['answered']} answered expression parts automatic")
    return "\n".join(lines)


_FALLBACK_CSS = """body{font:16px/1.5 system-ui,sans-serif;max-width:64rem;margin:0 auto;padding:1rem;color:#1f2937}
.badge{border:1px solid currentColor;border-radius:999px;padding:0 .5em;font-weight:600;font-size:.8rem}
.status-passed{color:#166534;background:#dcfce7}.status-failed{color:#991b1b;background:#fee2e2}
.status-pending{color:#1e40af;background:#dbeafe}.status-skipped{color:#374151;background:#e5e7eb}
.card{border:1px solid #d1d5db;border-radius:6px;padding:.75rem 1rem;margin:.75rem 0}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f9fafb;padding:.5em}
.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.15em 1em}
.facts dd{margin:0;overflow-wrap:anywhere}table{border-collapse:collapse;width:100%}"""

_FALLBACK = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{% block title %}{% endblock %}</title>
<style>{{ css }}</style></head><body><div class="page">{% block body %}{% endblock %}</div></body></html>"""
