"""Gradescope ``results.json``: build it from a :class:`~grader.results.GradeResult`, validate it, write it.

What students see is the audience policy's decision for the ``student`` reader
(:func:`grader.report.policy.decide`); this module formats it (Gradescope shows every test to
instructors regardless):

* the top-level ``score`` is always present and equals the sum of the test
  scores (:mod:`grader.score`), as Gradescope needs it once every test is released;
* the top-level ``output`` is the report summary from
  :func:`grader.report.render_markdown_summary`: Markdown by default, or, with
  ``output_format="html"``, the same Markdown rendered by ``markdown-it-py`` and reduced by
  ``nh3`` to the attribute-free structural elements of :data:`HTML_TAGS`, which pass
  Gradescope's sanitiser unchanged.  It states the totals in the policy's words ("12.75 of
  14.5 visible points; 1.5 points in hidden tests, results when grades are published");
* each test's ``output`` is plain text (``test_output_format: "text"``, shown
  in a ``<pre>``), worded by :mod:`grader.gradescope.student_text`.  For a test whose details the student may see it holds the one-line summary,
  the hint, sandbox events and the first failing case (inputs, expected and
  received values, reproducer).  For any other it holds only a
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
import io
import json
import math
import os
import tempfile
import unittest
from pathlib import Path
from typing import Any, Iterable, Optional

from grader.gradescope.student_text import (
    HTML_TAGS,
    cut,
    entries_totals,
    hidden_output,
    markdown_to_html,
    summary,
    visible_output,
)
from grader.report.policy import Decision, ShownTest, decide, show
from grader.report.text import function_label
from grader.results import (
    GradeResult,
    Status,
    TestResult,
)
from grader.rubric import Rubric, TestSpec
from grader.score import tally

SCHEMA_PATH = Path(__file__).parents[1] / "schemas" / "results.schema.json"
OUTPUT_FORMATS: tuple[str, ...] = ("md", "html")
MAX_TEST_OUTPUT = 8000
"""Characters of one test's ``output`` (the rest is cut with a visible marker)."""
CONTACT_STAFF = (
    "The autograder could not grade this submission because of a problem on the grader's side, "
    "not in your code. Please contact the course staff (mention the time of your submission); "
    "your submission is kept and can be regraded."
)


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
    decision = decide(result, "student")
    tests = [_test_entry(shown, result.isolation_layers) for shown in _in_result_order(result, decision)]
    if result.mode == "grade":  # a "check" run grades the visible tests only, on purpose
        present = {t.test_id for t in result.tests}
        tests += [_missing_entry(spec) for spec in rubric.tests if spec.id not in present]
    if result.internal_error:
        tests.append(_error_entry())
    data: dict[str, Any] = {
        "score": _round(tally(tests).earned),
        "execution_time": _round(max(float(result.execution_time or 0.0), 0.0), 2),
        "output": summary(result, output_format),
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
            tests.append(_test_entry(show(done[spec.id], "student"), layers))
            continue
        entry = _gsu_entry(name=spec.name, number=spec.number, score=0.0, max_score=spec.points,
                           visibility=spec.visibility, tags=_tags(spec.function, spec.check, ()),
                           output=message, failed=True)
        entry["extra_data"] = {"test_id": spec.id, "status": "timeout"}
        tests.append(entry)
    completed = sum(1 for spec in rubric.tests if spec.id in done)
    summary = f"**Score: {entries_totals(tests).sentence}.**\n\n**Grading ran out of time.** "
    if completed:
        summary += (f"{completed} of {len(rubric.tests)} tests finished before the limit and keep their points; "
                    "the others were stopped. ")
    summary += message
    if output_format == "html":
        summary = markdown_to_html(summary)
    return {
        "score": _round(tally(tests).earned),
        "execution_time": _round(max(float(elapsed), 0.0), 2),
        "output": summary,
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
        columns.append({"name": f"{function_label(test.function)} speed (× reference)",
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


def _in_result_order(result: GradeResult, decision: Decision) -> list[ShownTest]:
    """The decision's tests in the order of ``result.tests`` (the order results.json has always had)."""
    by_id = {s.test.test_id: s for s in decision.tests}
    return [by_id[t.test_id] for t in result.tests]


def _test_entry(shown: ShownTest, isolation_layers: Iterable[str]) -> dict[str, Any]:
    test = shown.test
    output = visible_output(shown) if shown.details else hidden_output(shown)
    entry = _gsu_entry(name=test.name or test.test_id, number=str(test.number or "0"), score=test.score,
                       max_score=test.max_score, visibility=test.visibility if test.visibility else "visible",
                       tags=_tags(test.function, test.check, test.tags), output=cut(output, MAX_TEST_OUTPUT),
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


__all__ = ["HTML_TAGS", "ResultsValidationError", "internal_error_results", "leaderboard_entries", "load_schema",
           "markdown_to_html", "timeout_results", "to_results_json", "validate_results", "write_results_json"]
