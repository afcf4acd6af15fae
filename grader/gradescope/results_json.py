"""Gradescope ``results.json``: build it from a :class:`~grader.results.GradeResult`, validate it, write it.

(Over 400 lines: moved whole from ``grader/gradescope.py``.  Its test-output renderer and its
Markdown-to-HTML converter are to be replaced by the audience policy and a Markdown library,
issue #18 item 2, which will leave the building, validating and writing of the document here.)

What students see (Gradescope shows every test to instructors regardless):

* the top-level ``score`` is always present and equals the sum of the test
  scores.  Gradescope itself hides the total from students while tests with a
  delayed visibility (``after_due_date``, ``after_published``) are not yet
  released, so when there are such tests the top-level ``output`` starts with
  a "Total score" line (all tests) that students always see;
* the top-level ``output`` is the report summary from
  :func:`grader.report.render_markdown_summary`: Markdown by default, or, with
  ``output_format="html"``, the same content converted by
  :func:`markdown_to_html` into attribute-free structural HTML that passes
  Gradescope's sanitiser unchanged; if the report package cannot be used, a
  short summary written here is used instead;
* each test's ``output`` is plain text (``test_output_format: "text"``, shown
  in a ``<pre>``).  For a **visible** test it holds the one-line summary, the
  hint, sandbox events and the first failing case (inputs, expected and
  received values, reproducer).  For any other visibility it holds only a
  category-level hint that depends on the function and the kind of check,
  plus the titles of sandbox events ("Timed out"): never an input, an
  expected value, a received value or a message derived from them.

Use of gradescope-utils (``gradescope_utils.autograder_utils``, pinned 0.5.0):
each ``tests[]`` entry is produced by its ``JSONTestResult.buildResult``, the
function its ``JSONTestRunner`` uses, fed with a one-method ``unittest``
test case that carries its decorators (``@weight``, ``@number``,
``@visibility``, ``@tags``, plus the ``__score__`` attribute that
``@partial_credit`` sets).  So the name comes from the docstring, ``number``
is a string, ``status`` is ``failed`` when the test errored *or* lost points,
and optional fields are omitted when empty, exactly as gradescope-utils
courses get them.  Its runner itself is not used: it runs tests in the
grader's own process (the grader must never import student code), has no
per-test timeouts or subTests, formats ``execution_time`` as a string and
dumps to a stream instead of writing the file atomically; and its
``@leaderboard`` decorator only works inside a running test, so leaderboard
entries are built here with the same ``{name, value, order}`` shape.  The
fields it does not know (``extra_data``, ``output_format``...) are added
after ``buildResult``.
"""

from __future__ import annotations

import functools
import html
import io
import json
import math
import os
import tempfile
import unittest
from pathlib import Path
from typing import Any, Iterable, Optional

from grader.results import (
    CaseResult,
    GradeResult,
    SandboxEvent,
    Status,
    TestResult,
)
from grader.rubric import Rubric, TestSpec
from grader.score import pending_points, tally

SCHEMA_PATH = Path(__file__).parents[1] / "schemas" / "results.schema.json"
OUTPUT_FORMATS: tuple[str, ...] = ("md", "html")
MAX_TEST_OUTPUT = 8000
"""Characters of one test's ``output`` (the rest is cut with a visible marker)."""
MAX_SUMMARY_OUTPUT = 200_000
MAX_PREVIEW = 1500
CONTACT_STAFF = (
    "The autograder could not grade this submission because of a problem on the grader's side, "
    "not in your code. Please contact the course staff (mention the time of your submission); "
    "your submission is kept and can be regraded."
)
VISIBILITY_PHRASES = {
    "after_due_date": "after the due date",
    "after_published": "once grades are published",
    "hidden": "to course staff only",
}


class ResultsValidationError(ValueError):
    """A results.json document does not follow Gradescope's specification."""


# --------------------------------------------------------------------------- validation


@functools.lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of results.json shipped in ``grader/schemas``."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_results(data: Any) -> None:
    """Raise :class:`ResultsValidationError` unless ``data`` is a valid Gradescope results.json.

    Checks the JSON Schema (``grader/schemas/results.schema.json``) and what a
    schema cannot: that the document serialises as strict JSON (no NaN or
    infinity, only JSON types).  The message lists up to ten problems, each
    with its location (``tests/3/status``).
    """
    problems = list(_json_problems(data, "")) [:10]
    if not problems:
        errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
        problems = [_describe(error) for error in errors[:10]]
        if len(errors) > 10:
            problems.append(f"... and {len(errors) - 10} more")
    if problems:
        raise ResultsValidationError("invalid results.json:\n" + "\n".join(f"  - {p}" for p in problems))


def _json_problems(value: Any, where: str) -> Iterable[str]:
    """Values that json.dumps(allow_nan=False) would reject or silently change."""
    at = where or "(top level)"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield f"at {at}: key {key!r} is not a string"
            yield from _json_problems(item, f"{where}/{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_problems(item, f"{where}/{index}" if where else str(index))
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield f"at {at}: {value!r} is not a finite number (JSON has no NaN or infinity)"
    elif value is not None and not isinstance(value, (str, int, bool)):
        yield f"at {at}: {type(value).__name__} is not a JSON type (use lists, dicts, str, int, float, bool)"


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "anyOf" and not error.absolute_path:
        return "at (top level): needs a 'score' or a 'tests' list"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"at {where}: {error.message}; allowed keys: {', '.join(allowed)}"
    return f"at {where}: {error.message}"


# --------------------------------------------------------------------------- writing


def write_results_json(path: Path | str, data: dict[str, Any], *, validate: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename).

    With ``validate`` (the default) the data is checked first and
    :class:`ResultsValidationError` is raised without touching ``path``.
    Strict JSON, UTF-8, Unix line endings, mode 0644.
    """
    path = Path(path)
    if validate:
        validate_results(data)
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


# --------------------------------------------------------------------------- building


def to_results_json(result: GradeResult, rubric: Rubric, *, output_format: str = "md",
                    leaderboard: Optional[bool] = None) -> dict[str, Any]:
    """Gradescope results.json data for one graded submission.

    ``output_format`` is the format of the top-level report (``md`` or
    ``html``); test outputs are always plain text.  ``leaderboard`` adds
    ``leaderboard[]`` (speed ratios against the reference, lower is better);
    ``None`` means "as the rubric says" (``leaderboard = true``).  Rubric
    tests absent from ``result`` (the engine stopped early) are listed as
    failed with 0 points, so students always see every test of the rubric.
    """
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be one of {', '.join(OUTPUT_FORMATS)}, not {output_format!r}")
    tests = [_test_entry(test, result.isolation_layers) for test in result.tests]
    if result.mode == "grade":  # a "check" run grades the visible tests only, on purpose
        present = {t.test_id for t in result.tests}
        tests += [_missing_entry(spec) for spec in rubric.tests if spec.id not in present]
    if result.internal_error:
        tests.append(_error_entry())
    data: dict[str, Any] = {
        "score": _round(tally(tests).earned),
        "execution_time": _round(max(float(result.execution_time or 0.0), 0.0), 2),
        "output": _total_line(tests, output_format) + _summary(result, output_format),
        "output_format": output_format,
        "test_output_format": "text",
        "test_name_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": _extra_data(result),
    }
    if rubric.leaderboard if leaderboard is None else leaderboard:
        data["leaderboard"] = leaderboard_entries(result)
    return data


def internal_error_results(message: str, *, execution_time: float = 0.0) -> dict[str, Any]:
    """results.json for when grading itself failed: score 0 and one failed "Autograder error" test.

    ``message`` is for the course staff (kept in ``extra_data``); students
    get a fixed text asking them to contact the staff.
    """
    return {
        "score": 0.0,
        "execution_time": _round(max(float(execution_time), 0.0), 2),
        "output": "**Autograder error.** " + CONTACT_STAFF,
        "output_format": "md",
        "test_output_format": "text",
        "stdout_visibility": "hidden",
        "tests": [_error_entry()],
        "extra_data": {"internal_error": str(message)[:20000]},
    }


def timeout_results(rubric: Rubric, *, elapsed: float, limit: float, detail: str = "",
                    finished: Iterable[TestResult] = (), isolation_layers: Iterable[str] = (),
                    output_format: str = "md") -> dict[str, Any]:
    """results.json when the grading engine overran its hard time limit and was stopped.

    ``finished`` are the tests the engine had completed before it was
    stopped (its ``on_test`` reports): they keep their score and feedback.
    Every other rubric test is listed as failed with 0 points and a message
    saying the time ran out, so students see the same tests as usual, the
    points they did earn, and a reason.
    """
    message = (
        f"Grading was stopped after {elapsed:.0f} s (limit {limit:.0f} s) before this test had a result. "
        "This usually means that code runs far too slowly (for example a Python loop over the whole "
        "vocabulary) or never finishes. Make your functions faster and resubmit; if your code is fast "
        "when you run it yourself, contact the course staff."
    )
    done = {test.test_id: test for test in finished}
    layers = list(isolation_layers)
    tests = []
    for spec in rubric.tests:
        if spec.id in done:
            tests.append(_test_entry(done[spec.id], layers))
            continue
        entry = _gsu_entry(name=spec.name, number=spec.number, score=0.0, max_score=spec.points,
                           visibility=spec.visibility, tags=_tags(spec.function, spec.check, ()),
                           output=message, failed=True)
        entry["extra_data"] = {"test_id": spec.id, "status": "timeout"}
        tests.append(entry)
    completed = sum(1 for spec in rubric.tests if spec.id in done)
    summary = "**Grading ran out of time.** "
    if completed:
        summary += (f"{completed} of {len(rubric.tests)} tests finished before the limit and keep their points; "
                    "the others were stopped. ")
    summary += message
    if output_format == "html":
        summary = "<p>" + html.escape(summary.replace("**", "")) + "</p>"
    return {
        "score": _round(tally(tests).earned),
        "execution_time": _round(max(float(elapsed), 0.0), 2),
        "output": _total_line(tests, output_format) + summary,
        "output_format": output_format,
        "test_output_format": "text",
        "test_name_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"timeout": True, "elapsed": _round(elapsed, 2), "limit": limit, "detail": detail[:20000],
                       "finished_tests": completed, "isolation_layers": layers},
    }


def leaderboard_entries(result: GradeResult) -> list[dict[str, Any]]:
    """Leaderboard columns: overall speed ratio to the reference and one per timed function (asc).

    The overall value is the geometric mean of the measured ratios; it is
    ``"n/a"`` unless every speed test of the submission was measured, so a
    submission cannot rank first by failing the slow functions.
    """
    speed_tests = [t for t in result.tests if t.check == "speed"]
    columns: list[dict[str, Any]] = []
    ratios: list[float] = []
    for test in speed_tests:
        ratio = _measured_ratio(test)
        if ratio is not None:
            ratios.append(ratio)
        columns.append({"name": f"{_function_label(test.function)} speed (× reference)",
                        "value": _round(ratio, 3) if ratio is not None else "n/a", "order": "asc"})
    if speed_tests:
        overall: Any = "n/a"
        if ratios and len(ratios) == len(speed_tests):
            overall = _round(math.exp(sum(math.log(r) for r in ratios) / len(ratios)), 3)
        columns.insert(0, {"name": "Speed (× reference, geometric mean)", "value": overall, "order": "asc"})
    return columns


def _measured_ratio(test: TestResult) -> Optional[float]:
    speed = test.speed
    if speed is None or speed.verdict == "not_measured":
        return None
    ratio = speed.ratio
    if ratio is None or not isinstance(ratio, (int, float)) or not math.isfinite(ratio) or ratio <= 0:
        return None
    return float(ratio)


# --------------------------------------------------------------------------- tests[] entries


def _gsu_entry(*, name: str, number: str, score: float, max_score: float, visibility: str,
               tags: list[str], output: str, failed: bool) -> dict[str, Any]:
    """One ``tests[]`` entry built by gradescope-utils' ``JSONTestResult.buildResult``."""
    from gradescope_utils.autograder_utils import decorators as gs
    from gradescope_utils.autograder_utils.json_test_runner import JSONTestResult

    def runTest(self: unittest.TestCase) -> None:  # noqa: N802 - unittest naming
        """placeholder: replaced by the test's name below"""

    runTest.__doc__ = " ".join(str(name).split()) or "unnamed test"
    gs.weight(_round(max_score))(runTest)
    gs.number(number)(runTest)
    gs.visibility(visibility)(runTest)
    gs.tags(*tags)(runTest)
    runTest.__score__ = _round(score)  # what @partial_credit's set_score() stores
    case = type("GradescopeTest", (unittest.TestCase,), {"runTest": runTest})("runTest")

    collector = JSONTestResult(io.StringIO(), True, 0, [], [], "")
    collector.buffer = True
    collector._stdout_buffer = io.StringIO("" if failed else output)
    collector._stderr_buffer = io.StringIO()
    err = (AssertionError, AssertionError(output), None) if failed else None
    entry = collector.buildResult(case, err)
    if "tags" in entry:
        entry["tags"] = list(entry["tags"])
    if "output" in entry:
        entry["output"] = entry["output"].rstrip("\n")
    return entry


def _test_entry(test: TestResult, isolation_layers: Iterable[str]) -> dict[str, Any]:
    visible = test.visibility == "visible"
    try:
        output = _visible_output(test) if visible else _hidden_output(test)
    except Exception:  # noqa: BLE001 - unexpected detail data must not cost the whole results.json
        output = (test.summary or "") if visible else _category_hint(test.function, test.check)
    entry = _gsu_entry(name=test.name or test.test_id, number=str(test.number or "0"), score=test.score,
                       max_score=test.max_score, visibility=test.visibility if test.visibility else "visible",
                       tags=_tags(test.function, test.check, test.tags), output=_cut(output, MAX_TEST_OUTPUT),
                       failed=test.status is not Status.PASSED)
    if test.status is not Status.PASSED:
        entry["status"] = "failed"  # partial / error / skipped are all "failed" for Gradescope
    entry["extra_data"] = {"test_id": test.test_id, "status": test.status.value,
                           "isolation_layers": list(isolation_layers)}
    if test.diagnosis is not None:  # the likely cause, structured (extra_data is not shown to students)
        d = test.diagnosis
        entry["extra_data"]["diagnosis"] = {"status": d.status, "cause_id": d.cause_id,
                                            "causes": [{"cause_id": c.cause_id, "outputs": list(c.outputs),
                                                        "cases": c.cases, "failing_cases": c.failing_cases}
                                                       for c in d.causes],
                                            "unexplained": list(d.unexplained)}
    return entry


def _missing_entry(spec: TestSpec) -> dict[str, Any]:
    text = "This test was not run: the grader stopped before reaching it."
    entry = _gsu_entry(name=spec.name, number=spec.number, score=0.0, max_score=spec.points,
                       visibility=spec.visibility, tags=_tags(spec.function, spec.check, ()),
                       output=text, failed=True)
    entry["extra_data"] = {"test_id": spec.id, "status": "missing"}
    return entry


def _error_entry() -> dict[str, Any]:
    entry = _gsu_entry(name="Autograder error", number="0", score=0.0, max_score=0.0, visibility="visible",
                       tags=["autograder-error"], output=CONTACT_STAFF, failed=True)
    entry["extra_data"] = {"test_id": "autograder.error"}
    return entry


def _tags(function: str, check: str, extra: Iterable[str]) -> list[str]:
    tags = [f"function:{function}", f"check:{check}"]
    tags += [str(t) for t in extra if str(t) not in tags]
    return tags


# --------------------------------------------------------------------------- test output text


def _visible_output(test: TestResult) -> str:
    """Everything a student may see about a visible test, as plain text."""
    parts: list[str] = []
    if test.summary:
        parts.append(test.summary.strip())
    if test.status is not Status.PASSED and test.hint:
        parts.append("Hint: " + test.hint.strip())
    if test.status is not Status.PASSED and test.diagnosis is not None:
        parts.append(test.diagnosis.describe())
    for event in test.events:
        parts.append(_event_text(event, detailed=True))
    failing = next((case for case in test.cases if not case.passed), None)
    if failing is not None:
        parts.append(_case_text(failing))
    if test.gradcheck is not None:
        g = test.gradcheck
        parts.append(
            f"Gradient check, worst coordinate: {g.parameter}{list(g.worst_index or [])}: analytic "
            f"{_num(g.analytic, '.6g')}, numerical {_num(g.numerical, '.6g')}, relative error "
            f"{_num(g.relative_error, '.3g')} (threshold {_num(g.threshold, '.3g')})."
        )
    if test.speed is not None:
        parts.append(_speed_text(test))
    notes = sorted({note for case in test.cases for note in case.notes})
    if notes:
        parts.append("Notes:\n" + "\n".join(f"  - {note}" for note in notes))
    if not parts:
        parts.append("Passed." if test.status is Status.PASSED else "Failed.")
    return "\n\n".join(parts)


def _hidden_output(test: TestResult) -> str:
    """A non-visible test: category-level text only (function and kind of check, event titles)."""
    when = VISIBILITY_PHRASES.get(test.visibility, "later")
    parts = [
        f"The inputs and values of this test are not shown (its details are released {when}).",
        "What it checks: " + _category_hint(test.function, test.check),
    ]
    titles = sorted({_event_title(event.kind) for event in test.events if event.kind != "note"})
    if titles:
        parts.append("During this test your code: " + ", ".join(t.lower() for t in titles) + ".")
    if test.status is Status.SKIPPED:
        parts.append("This test was not run (see the summary above).")
    return "\n\n".join(parts)


def _case_text(case: CaseResult) -> str:
    lines = [f"First failing case: {case.description or case.case_id}"]
    if case.output_name:
        lines.append(f"Output: {case.output_name}")
    if case.message:
        lines.append(case.message.strip())
    if case.first_mismatch is not None:
        lines.append(f"First mismatch at index {list(case.first_mismatch)}.")
    if case.max_abs_error is not None:
        lines.append(f"Largest absolute error: {_num(case.max_abs_error, '.3g')}.")
    for label, summary in (("Expected", case.expected), ("Got", case.got)):
        if summary is not None:
            shape = "scalar" if summary.shape is None else f"shape {tuple(summary.shape)}"
            preview = _cut(json.dumps(summary.preview, allow_nan=True, default=str), MAX_PREVIEW)
            more = " (truncated)" if summary.truncated else ""
            lines.append(f"{label} ({shape}, {summary.dtype}){more}: {preview}")
    if case.reproducer:
        lines.append("Reproduce it with:\n" + case.reproducer.rstrip())
    return "\n".join(lines)


def _speed_text(test: TestResult) -> str:
    speed = test.speed
    assert speed is not None
    lines = []
    if speed.verdict != "not_measured" and _finite(speed.ratio):
        lines.append(f"Speed: {_num(speed.ratio, '.2f')}× the reference's CPU time "
                     f"({str(speed.verdict).replace('_', ' ')}).")
    for m in speed.measurements:
        lines.append(f"  {m.size_label}: you {_num(m.student_seconds, '.4g')} s, reference "
                     f"{_num(m.reference_seconds, '.4g')} s per call (ratio {_num(m.ratio, '.2f')}, {m.samples} samples)")
    if speed.explanation:
        lines.append(speed.explanation.strip())
    return "\n".join(lines)


def _event_text(event: SandboxEvent, *, detailed: bool) -> str:
    text = f"[{_event_title(event.kind)}] {event.message.strip()}"
    if detailed and event.detail:
        text += "\n" + _cut(event.detail.rstrip(), 3000)
    return text


def _category_hint(function: str, check: str) -> str:
    try:
        from grader.report.hints import category_hint
        hint = category_hint(function, check)
    except Exception:  # the report package is optional here
        hint = ""
    return hint or f"the {check} of {function}."


def _event_title(kind: str) -> str:
    try:
        from grader.report.hints import event_title
        return event_title(kind)
    except Exception:
        return kind.replace("_", " ").capitalize()


def _function_label(name: str) -> str:
    try:
        from grader.report.text import function_label
        return function_label(name)
    except Exception:
        return name


# --------------------------------------------------------------------------- top-level output


def _summary(result: GradeResult, output_format: str) -> str:
    """The report summary in ``output_format``; a short built-in summary if the report fails."""
    text = None
    try:
        import grader.report as report

        if output_format == "html" and hasattr(report, "render_html_summary"):
            text = report.render_html_summary(result)
        else:
            text = report.render_markdown_summary(result)
            if output_format == "html":
                text = markdown_to_html(text)
    except Exception:  # report unavailable or broken: never lose the results because of it
        text = None
    if not isinstance(text, str) or not text.strip():
        text = _fallback_summary(result, output_format)
    return _cut(text, MAX_SUMMARY_OUTPUT)


HTML_TAGS = frozenset({"h2", "h3", "h4", "p", "strong", "code", "pre", "ul", "li", "table", "thead", "tbody",
                       "tr", "th", "td", "br"})
"""Every element :func:`markdown_to_html` can produce, all without attributes: plain structural
markup that HTML sanitisers keep (no style, class, links, images, scripts or forms)."""


def markdown_to_html(text: str) -> str:
    """HTML for the Markdown subset of the report summary (``output_format: "html"``).

    Handles what :func:`grader.report.render_markdown_summary` writes: ``#``
    headings, paragraphs, ``-`` lists (two levels), pipe tables, fenced code,
    ``**bold**``, code spans and backslash escapes.  Every piece of text is
    HTML-escaped and only the attribute-free elements of :data:`HTML_TAGS`
    are produced, so nothing student-controlled can become markup and
    Gradescope's sanitiser has nothing to remove.  Anything else is kept as
    escaped text.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    paragraph: list[str] = []
    depth = 0  # open <ul> levels

    def flush() -> None:
        nonlocal depth
        if paragraph:
            out.append("<p>" + _inline_html(" ".join(paragraph)) + "</p>")
            paragraph.clear()
        while depth:
            out.append("</li></ul>")
            depth -= 1

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        fence = len(stripped) - len(stripped.lstrip("`"))
        if fence >= 3:
            flush()
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "`" * fence), len(lines))
            out.append("<pre><code>" + html.escape("\n".join(lines[i + 1:end])) + "</code></pre>")
            i = end + 1
            continue
        if not stripped:
            flush()
        elif stripped.startswith("#") and stripped.lstrip("#").startswith(" "):
            flush()
            level = min(max(len(stripped) - len(stripped.lstrip("#")), 2), 4)
            out.append(f"<h{level}>" + _inline_html(stripped.lstrip("#").strip()) + f"</h{level}>")
        elif stripped.startswith("|") and i + 1 < len(lines) and set(lines[i + 1].strip()) <= set("|-: ") \
                and "-" in lines[i + 1]:
            flush()
            header = _table_cells(stripped)
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_table_cells(lines[i].strip()))
                i += 1
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline_html(c)}</th>" for c in header)
                       + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>" for row in rows)
                       + "</tbody></table>")
            continue
        elif stripped.startswith("- "):
            if paragraph:
                out.append("<p>" + _inline_html(" ".join(paragraph)) + "</p>")
                paragraph.clear()
            level = 2 if line.startswith(("  ", "\t")) and depth >= 1 else 1
            if level > depth:
                out.append("<ul><li>")
                depth += 1
            else:
                while depth > level:
                    out.append("</li></ul>")
                    depth -= 1
                out.append("</li><li>")
            out.append(_inline_html(stripped[2:]))
        elif depth and line.startswith("  "):
            out.append(" " + _inline_html(stripped))  # continuation of a list item
        else:
            if depth:
                flush()
            paragraph.append(stripped)
        i += 1
    flush()
    return "\n".join(out)


def _table_cells(row: str) -> list[str]:
    """Cells of a pipe-table row; ``\\|`` is an escaped pipe inside a cell."""
    cells, current, i = [], "", 0
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            current += body[i:i + 2]
            i += 2
            continue
        if body[i] == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += body[i]
        i += 1
    if current.strip():
        cells.append(current.strip())
    return cells


def _inline_html(text: str) -> str:
    """Inline Markdown (code spans, backslash escapes, ``**bold**``) as escaped HTML."""
    out: list[str] = []
    bold = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and not text[i + 1].isalnum() and not text[i + 1].isspace():
            out.append(html.escape(text[i + 1]))
            i += 2
        elif char == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            close = text.find("`" * run, i + run)
            while close != -1 and text[close + run:close + run + 1] == "`":
                close = text.find("`" * run, close + run + 1)
            if close == -1:
                out.append(html.escape("`" * run))
                i += run
            else:
                out.append("<code>" + html.escape(text[i + run:close].strip()) + "</code>")
                i = close + run
        elif text.startswith("**", i):
            out.append("</strong>" if bold else "<strong>")
            bold = not bold
            i += 2
        else:
            out.append(html.escape(char))
            i += 1
    if bold:
        out.append("</strong>")
    return "".join(out)


def _total_line(tests: list[dict[str, Any]], output_format: str) -> str:
    """The total score of *all* tests, as the first line of the top-level output, when some are not visible.

    Gradescope does not show students their total while tests with a delayed
    visibility (``after_due_date``, ``after_published``) are still hidden
    (docs/specs.md: "If test cases are hidden, students will not be able to see
    their total score"), and the report summary only counts visible tests.  The
    top-level output is always shown, so the total goes there.  It is built from
    the ``tests[]`` entries themselves, so it always equals ``score``.
    """
    delayed = [t for t in tests if t.get("visibility", "visible") != "visible" and t.get("max_score", 0) > 0]
    if not delayed:
        return ""
    score, max_score = _round(tally(tests).earned), _round(tally(tests).possible)
    pending = _round(tally(delayed).possible)
    whens = sorted({VISIBILITY_PHRASES.get(t.get("visibility", ""), "later") for t in delayed})
    head = f"Total score: {_fmt(score)} / {_fmt(max_score)} points"
    tail = (f"(all tests, including the {_fmt(pending)} points of {len(delayed)} test"
            f"{'s' if len(delayed) != 1 else ''} whose details are shown {' or '.join(whens)}).")
    if output_format == "html":
        return f"<p><strong>{html.escape(head)}</strong> {html.escape(tail)}</p>\n"
    return f"**{head}** {tail}\n\n"


def _fallback_summary(result: GradeResult, output_format: str) -> str:
    """Score per function and test, from trusted fields only (names come from the rubric)."""
    total = tally(result.tests)
    lines = [f"Total: {_fmt(total.earned)} / {_fmt(total.possible)} points."]
    pending = pending_points(result.tests)
    if pending:
        lines.append(f"{_fmt(pending)} of these points are in tests whose details are shown later.")
    if result.internal_error:
        lines.append("The autograder had an internal problem; please contact the course staff.")
    for problem in result.submission.problems:
        lines.append(f"Problem with your files: {problem.message}")
    for test in result.tests:
        status = {"passed": "passed", "failed": "failed", "partial": "partial credit",
                  "error": "error", "skipped": "not run"}[test.status.value]
        lines.append(f"{test.number} {test.name}: {_fmt(test.score)}/{_fmt(test.max_score)} ({status})")
    if output_format == "html":
        return "<pre>" + html.escape("\n".join(lines)) + "</pre>"
    return "\n".join("    " + line for line in lines)  # an indented code block: no Markdown interpretation


def _extra_data(result: GradeResult) -> dict[str, Any]:
    files = result.submission
    return {
        "grader_version": result.grader_version,
        "rubric_name": result.rubric_name,
        "rubric_hash": result.rubric_hash,
        "mode": result.mode,
        "isolation_layers": list(result.isolation_layers),
        "integrity": result.integrity,
        "numpy_version": result.numpy_version,
        "submission_id": result.student.submission_id,
        "files": {"word2vec": files.word2vec, "sgd": files.sgd},
        "events": [event.kind for event in result.events],
        "internal_error": result.internal_error,
    }


# --------------------------------------------------------------------------- helpers


def _round(value: Optional[float], digits: int = 6) -> float:
    if value is None or not math.isfinite(float(value)):
        return 0.0
    rounded = round(float(value), digits)
    return 0.0 if rounded == 0 else rounded  # no "-0.0"


def _fmt(value: float) -> str:
    return _num(value, "g")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``, or "n/a" when it is missing or not a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, spec)
    return "n/a"


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f"\n[... {len(text) - limit:,} more characters not shown ...]\n"
    head = int(limit * 0.7)
    return text[:head] + marker + text[-(limit - head - len(marker)):] if limit > head + len(marker) else text[:limit]
