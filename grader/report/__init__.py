"""HTML feedback reports, the class dashboard and the Markdown summary.

Public API (used by the CLI, batch mode and the Gradescope adapter)::

    render_report(result, audience="student") -> str       # one self-contained HTML page
    write_report(result, path, audience="student") -> None
    render_dashboard(entries, title=...) -> str            # batch index.html
    DashboardEntry(result, report_href, label)
    render_markdown_summary(result) -> str                 # Gradescope top-level output (md)

Pages are self-contained: CSS and JavaScript are inlined, figures are SVG
data URIs (plain SVG in a report, matplotlib in the dashboard), and a Content-Security-Policy in the page
forbids loading anything else (``default-src 'none'``) and running any
script but our own (by hash).  Templates autoescape everything; nothing
from a submission is ever inserted as markup.

The shared stylesheet ``templates/style.css`` is available to other pages
through :func:`stylesheet` and :func:`page_environment`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path
from typing import Optional

from markupsafe import Markup, escape

from grader.report.dashboard import DashboardEntry, build_dashboard_view
from grader.report.markdown import render_markdown_summary
from grader.report.view import AUDIENCES, build_report_view
from grader.results import GradeResult

__all__ = [
    "AUDIENCES",
    "TEMPLATES",
    "DashboardEntry",
    "content_security_policy",
    "page_environment",
    "render_dashboard",
    "render_markdown_summary",
    "render_report",
    "stylesheet",
    "write_report",
]

TEMPLATES = Path(__file__).with_name("templates")


@functools.cache
def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def stylesheet() -> str:
    """The shared CSS (plain text, to be placed inside ``<style>``)."""
    return _asset("style.css")


def content_security_policy(script: str = "") -> str:
    """CSP for a self-contained page: inline styles, data: images, and only ``script`` (by hash)."""
    script_src = "'none'"
    if script:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        script_src = f"'sha256-{digest}'"
    return ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; "
            f"script-src {script_src}; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'")


@functools.cache
def page_environment():
    """The jinja2 environment for report templates (autoescape on, strict undefined)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=_template_cache(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ticks"] = inline_code
    env.filters["points"] = points_word
    return env


def _template_cache():
    """Compiled templates kept on disk beside the expected values (``cache_root()/templates``):
    compiling the report's templates costs ~0.15 s a command.  None where that folder cannot be
    made; a write that fails is skipped.  Trust: the same as the expected values beside it (both
    are written by the grader and hidden from the sandbox); jinja checks each entry's source
    checksum and recompiles a stale or unreadable one."""
    import jinja2

    from grader.course_secrets import cache_root

    class _Cache(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass  # a read-only or full disk: the next command compiles again

    folder = cache_root() / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return _Cache(str(folder))


def points_word(points: object) -> str:
    """"1 point", "0.5 points", "2 points" for a formatted number of points."""
    return f"{points} point" if str(points) == "1" else f"{points} points"


_TICKS = re.compile(r"`([^`\n]{1,200})`")


def inline_code(text: object) -> Markup:
    """Escape ``text``, then show `backticked` spans as ``<code>`` (the only markup added)."""
    escaped = str(escape(text))
    return Markup(_TICKS.sub(lambda m: f"<code>{m.group(1)}</code>", escaped))


def _render_page(template: str, script_name: Optional[str], **context) -> str:
    script = _asset(script_name) if script_name else ""
    html = page_environment().get_template(template).render(
        css=Markup(stylesheet()),
        script=Markup(script) if script else "",
        csp=content_security_policy(script),
        **context,
    )
    return html


def render_report(result: GradeResult, *, audience: str = "student") -> str:
    """One self-contained HTML report for ``result``.

    ``audience="student"``: tests that are not ``visible`` show name, points
    and a category hint only, and do not count in the score shown.
    ``audience="instructor"``: everything, marked where students see less.
    """
    view = build_report_view(result, audience)
    return _render_page("report.html.j2", "report.js", v=view)


def write_report(result: GradeResult, path: Path, *, audience: str = "student") -> None:
    """Render the report and write it to ``path`` (UTF-8), creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result, audience=audience), encoding="utf-8", errors="backslashreplace")


def render_dashboard(entries: list[DashboardEntry], *, title: str = "word2vec grading — class dashboard") -> str:
    """The batch ``index.html``: distributions, pass rates, failure causes, flags and a table of students."""
    view = build_dashboard_view(list(entries), title)
    return _render_page("dashboard.html.j2", "dashboard.js", d=view)
