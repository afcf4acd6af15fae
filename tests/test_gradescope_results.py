"""results.json: the schema, validate_results, to_results_json content rules, atomic writing."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import math
import os
import unittest

import pytest

from grader.gradescope.results_json import (
    ResultsValidationError,
    internal_error_results,
    leaderboard_entries,
    load_schema,
    timeout_results,
    to_results_json,
    validate_results,
    write_results_json,
)
from grader.results import (
    ArraySummary,
    CaseResult,
    GradcheckDetail,
    GradeResult,
    SandboxEvent,
    SpeedMeasurement,
    SpeedVerdict,
    Status,
    StudentInfo,
    SubmissionFiles,
    to_jsonable,
)
from grader.results import TestResult as GTestResult  # alias: pytest must not collect it
from grader.rubric import load_rubric

RUBRIC = load_rubric()

# Distinctive values that only ever appear in the details of one test.
SECRET_FLOAT = 0.918273645546372
SECRET_DIGITS = "918273645"
SECRET_TEXT = "SECRET-zq7Kx"


def _speed(function: str, ratio: float) -> SpeedVerdict:
    m = SpeedMeasurement(function=function, size_label="V=20000, d=50", student_seconds=0.02 * ratio,
                         reference_seconds=0.02, ratio=ratio, samples=5)
    return SpeedVerdict(function=function, measurements=[m], ratio=ratio, growth_student=4.0,
                        growth_reference=4.0, loops_over_vocabulary=False, verdict="fast",
                        explanation="As fast as the reference.")


def _secret_case(tag: str) -> CaseResult:
    return CaseResult(
        case_id=f"{tag}-case", description=f"{SECRET_TEXT} description {tag}", passed=False,
        message=f"{SECRET_TEXT} message: expected {SECRET_FLOAT!r}", reproducer=f"f({SECRET_FLOAT!r})  # {SECRET_TEXT}",
        output_name="gradCenterVec", expected=ArraySummary([2], "float64", [SECRET_FLOAT, 1.0]),
        got=ArraySummary([2], "float64", [SECRET_FLOAT * 2, 1.0]), first_mismatch=[0], max_abs_error=SECRET_FLOAT,
        notes=[f"{SECRET_TEXT} note"],
    )


def make_result(statuses: dict[str, Status] | None = None, *, secret_everywhere: bool = False,
                speed_ratio: float = 2.0, internal_error: str | None = None, mode: str = "grade",
                drop: tuple[str, ...] = ()) -> GradeResult:
    """A GradeResult with one TestResult per rubric test (all passed unless told otherwise)."""
    statuses = statuses or {}
    tests = []
    for spec in RUBRIC.tests:
        if spec.id in drop:
            continue
        status = statuses.get(spec.id, Status.PASSED)
        score = {Status.PASSED: spec.points, Status.PARTIAL: spec.points / 2}.get(status, 0.0)
        test = GTestResult(test_id=spec.id, name=spec.name, number=spec.number, function=spec.function,
                          check=spec.check, score=score, max_score=spec.points, status=status,
                          visibility=spec.visibility, summary=f"summary of {spec.id}",
                          hint=f"hint for {spec.id}", tags=["extra-tag"])
        if spec.visibility != "visible" or secret_everywhere:
            test.summary = f"{SECRET_TEXT} summary {SECRET_FLOAT!r}"
            test.hint = f"{SECRET_TEXT} hint"
            test.cases = [_secret_case(spec.id)]
            test.events = [SandboxEvent(kind="timeout", message=f"{SECRET_TEXT} timeout",
                                        detail=f"{SECRET_TEXT} traceback", function=spec.function)]
            test.gradcheck = GradcheckDetail(parameter="centerWordVec", worst_index=[3], analytic=SECRET_FLOAT,
                                             numerical=SECRET_FLOAT, relative_error=SECRET_FLOAT, threshold=1e-5)
        elif status is not Status.PASSED:
            test.cases = [CaseResult(case_id="c1", description="the starter's dummy vectors", passed=False,
                                     message="gradOutsideVecs differs from the reference", output_name="gradOutsideVecs",
                                     reproducer="naiveSoftmaxLossAndGradient(...)",
                                     expected=ArraySummary([2, 2], "float64", [[0.25, 0.5], [1.0, 2.0]]),
                                     got=ArraySummary([2, 2], "float64", [[0.5, 0.5], [1.0, 2.0]]),
                                     first_mismatch=[0, 0], max_abs_error=0.25)]
        if spec.check == "speed":
            test.speed = _speed(spec.function, speed_ratio)
        tests.append(test)
    return GradeResult(
        submission=SubmissionFiles(root="/autograder/submission", word2vec="word2vec.py", sgd="sgd.py"),
        tests=tests, score=sum(t.score for t in tests), max_score=sum(t.max_score for t in tests),
        execution_time=12.3456, grader_version="0.1.0", rubric_name=RUBRIC.name, rubric_hash=RUBRIC.source_hash,
        isolation_layers=["rlimits", "process_group", "uid:w2vsandbox"],
        student=StudentInfo(submission_id="123", names=["Ada"], emails=["ada@example.edu"]),
        internal_error=internal_error, mode=mode,
    )


def _by_id(data: dict) -> dict[str, dict]:
    return {t["extra_data"]["test_id"]: t for t in data["tests"]}


# --------------------------------------------------------------------------- schema


def test_schema_is_valid_draft_2020_12() -> None:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["visibility"]["enum"] == ["hidden", "after_due_date", "after_published", "visible"]
    assert set(schema["$defs"]["format"]["enum"]) == {"text", "html", "simple_format", "md", "ansi"}
    assert schema["$defs"]["test"]["properties"]["status"]["enum"] == ["passed", "failed"]
    documented = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
    assert set(schema["properties"]) == documented
    assert set(schema["$defs"]["test"]["properties"]) == {
        "score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
        "visibility", "extra_data"}


def test_minimal_documents_validate() -> None:
    validate_results({"score": 3})
    validate_results({"tests": []})
    validate_results({"tests": [{"name": "a", "score": 1, "max_score": 1}], "leaderboard": [
        {"name": "time", "value": 1.5, "order": "asc"}, {"name": "hidden", "value": "*****"}]})
    validate_results(internal_error_results("boom"))
    validate_results(timeout_results(RUBRIC, elapsed=481.2, limit=480))


BROKEN = [
    ({}, "needs a 'score' or a 'tests' list"),
    ({"score": 1, "scores": 2}, "'scores' was unexpected"),
    ({"score": "1"}, "is not of type 'number'"),
    ({"score": 1, "output_format": "markdown"}, "output_format"),
    ({"score": 1, "visibility": "sometimes"}, "visibility"),
    ({"score": 1, "stdout_visibility": "public"}, "stdout_visibility"),
    ({"tests": [{"name": "a", "status": "partial"}]}, "tests/0/status"),
    ({"tests": [{"name": "a", "visibility": "later"}]}, "tests/0/visibility"),
    ({"tests": [{"name": "a", "number": 1.1}]}, "tests/0/number"),
    ({"tests": [{"name": "a", "tags": "x"}]}, "tests/0/tags"),
    ({"tests": [{"name": "a", "max_score": -1}]}, "tests/0/max_score"),
    ({"tests": [{"name": "a", "weight": 1}]}, "'weight' was unexpected"),
    ({"tests": [{"name": "a", "output_format": "rtf"}]}, "tests/0/output_format"),
    ({"score": 1, "leaderboard": [{"name": "t", "value": 1, "order": "up"}]}, "leaderboard/0/order"),
    ({"score": 1, "leaderboard": [{"name": "t"}]}, "'value' is a required property"),
    ({"score": 1, "execution_time": "fast"}, "execution_time"),
    ({"score": float("nan")}, "not a finite number"),
    ({"tests": [{"name": "a", "score": float("inf")}]}, "tests/0/score"),
    ({"score": 1, "extra_data": {"x": object()}}, "not a JSON type"),
    ({"score": 1, "extra_data": {1: "x"}}, "is not a string"),
]


@pytest.mark.parametrize("data,needle", BROKEN, ids=[str(i) for i in range(len(BROKEN))])
def test_broken_documents_are_rejected_with_a_clear_message(data: dict, needle: str) -> None:
    with pytest.raises(ResultsValidationError) as info:
        validate_results(data)
    assert needle in str(info.value)


def test_gradescope_utils_runner_output_validates() -> None:
    """A results.json produced by gradescope-utils' own JSONTestRunner passes our schema."""
    from gradescope_utils.autograder_utils.decorators import number, partial_credit, visibility, weight
    from gradescope_utils.autograder_utils.json_test_runner import JSONTestRunner

    class Demo(unittest.TestCase):
        @weight(1)
        @number("1.1")
        def test_pass(self):
            """passes"""

        @weight(2)
        @visibility("after_published")
        def test_fail(self):
            """fails"""
            self.assertEqual(1, 2)

        @partial_credit(3)
        def test_partial(self, set_score=None):
            """partial"""
            set_score(1.5)

    stream = io.StringIO()
    JSONTestRunner(stream=stream, visibility="visible").run(unittest.TestLoader().loadTestsFromTestCase(Demo))
    data = json.loads(stream.getvalue())
    validate_results(data)
    assert isinstance(data["execution_time"], str)


# --------------------------------------------------------------------------- to_results_json


def test_all_passed_result_validates_and_sums_scores() -> None:
    result = make_result()
    data = to_results_json(result, RUBRIC)
    validate_results(data)
    assert math.isclose(data["score"], RUBRIC.max_score)
    assert data["output_format"] == "md" and data["test_output_format"] == "text"
    assert data["stdout_visibility"] == "hidden"
    assert data["execution_time"] == 12.35
    assert "leaderboard" not in data  # the default rubric has it switched off
    assert len(data["tests"]) == len(RUBRIC.tests)
    assert all(t["status"] == "passed" for t in data["tests"])
    assert isinstance(data["output"], str) and data["output"].strip()


def test_test_entries_follow_the_rubric_and_gradescope_utils_conventions() -> None:
    data = to_results_json(make_result(), RUBRIC)
    tests = _by_id(data)
    for spec in RUBRIC.tests:
        entry = tests[spec.id]
        assert entry["name"] == spec.name
        assert entry["number"] == spec.number and isinstance(entry["number"], str)
        assert entry["max_score"] == spec.points
        assert entry["visibility"] == spec.visibility
        assert entry["tags"][:2] == [f"function:{spec.function}", f"check:{spec.check}"]
        assert "extra-tag" in entry["tags"]
        assert entry["extra_data"]["isolation_layers"] == ["rlimits", "process_group", "uid:w2vsandbox"]
        assert entry["extra_data"]["status"] == "passed"


def test_score_is_present_and_total_even_with_after_published_tests() -> None:
    hidden = [s.id for s in RUBRIC.tests if s.visibility != "visible"]
    assert hidden, "the default rubric has after_published tests"
    statuses = {hidden[0]: Status.FAILED, "sigmoid.correctness": Status.PARTIAL}
    data = to_results_json(make_result(statuses), RUBRIC)
    expected = RUBRIC.max_score - RUBRIC.test(hidden[0]).points - RUBRIC.test("sigmoid.correctness").points / 2
    assert math.isclose(data["score"], expected)
    assert math.isclose(data["score"], sum(t["score"] for t in data["tests"]))


@pytest.mark.parametrize("status", [Status.FAILED, Status.PARTIAL, Status.ERROR, Status.SKIPPED])
def test_non_passed_statuses_are_failed(status: Status) -> None:
    data = to_results_json(make_result({"skipgram.gradcheck": status}), RUBRIC)
    entry = _by_id(data)["skipgram.gradcheck"]
    assert entry["status"] == "failed"
    assert entry["extra_data"]["status"] == status.value


def test_visible_failure_shows_details() -> None:
    data = to_results_json(make_result({"naiveSoftmaxLossAndGradient.correctness.starter": Status.FAILED}), RUBRIC)
    output = _by_id(data)["naiveSoftmaxLossAndGradient.correctness.starter"]["output"]
    for needle in ("summary of naiveSoftmaxLossAndGradient.correctness.starter", "Hint: hint for",
                   "the starter's dummy vectors", "gradOutsideVecs differs", "Expected (shape (2, 2), float64)",
                   "[[0.25, 0.5], [1.0, 2.0]]", "Got (shape (2, 2), float64)", "First mismatch at index [0, 0]",
                   "naiveSoftmaxLossAndGradient(...)"):
        assert needle in output, needle


def test_non_visible_tests_never_leak_inputs_or_values() -> None:
    """Expected values, inputs, messages of after_published/hidden tests appear nowhere in the JSON."""
    rubric = dataclasses.replace(RUBRIC, tests=tuple(
        dataclasses.replace(s, visibility={"sigmoid.correctness": "hidden",
                                           "sgd.correctness.trajectory": "after_due_date"}.get(s.id, s.visibility))
        for s in RUBRIC.tests), leaderboard=True)
    result = make_result({s.id: Status.FAILED for s in rubric.tests})
    for test in result.tests:  # apply the modified visibilities
        test.visibility = rubric.test(test.test_id).visibility
        if test.visibility != "visible":
            test.summary = f"{SECRET_TEXT} summary"
            test.hint = f"{SECRET_TEXT} hint"
            test.cases = [_secret_case(test.test_id)]
            test.events = [SandboxEvent(kind="crash", message=f"{SECRET_TEXT} m", detail=f"{SECRET_TEXT} d")]
    for fmt in ("md", "html"):
        data = to_results_json(result, rubric, output_format=fmt)
        validate_results(data)
        text = json.dumps(data)
        assert SECRET_TEXT not in text
        assert SECRET_DIGITS not in text
        hidden = [t for t in data["tests"] if t["visibility"] != "visible"]
        assert {t["visibility"] for t in hidden} == {"hidden", "after_due_date", "after_published"}
        for entry in hidden:
            assert "not shown" in entry["output"]
            assert "What it checks:" in entry["output"]
            assert entry["status"] == "failed"


def test_hidden_output_mentions_event_titles_only() -> None:
    result = make_result({"skipgram.correctness.repeats": Status.ERROR})
    data = to_results_json(result, RUBRIC)
    output = _by_id(data)["skipgram.correctness.repeats"]["output"]
    assert "timed out" in output
    assert SECRET_TEXT not in json.dumps(data)


def test_missing_rubric_tests_are_reported_as_not_run() -> None:
    result = make_result(drop=("sgd.integration", "sgd.correctness.anneal"))
    data = to_results_json(result, RUBRIC)
    validate_results(data)
    tests = _by_id(data)
    assert tests["sgd.correctness.anneal"]["status"] == "failed"
    assert tests["sgd.correctness.anneal"]["score"] == 0
    assert "not run" in tests["sgd.correctness.anneal"]["output"]
    assert len(data["tests"]) == len(RUBRIC.tests)
    check = to_results_json(make_result(mode="check", drop=("sgd.integration",)), RUBRIC)
    assert "sgd.integration" not in _by_id(check)


def test_internal_error_adds_an_autograder_error_test() -> None:
    data = to_results_json(make_result(internal_error="Traceback: KeyError"), RUBRIC)
    validate_results(data)
    error = [t for t in data["tests"] if t["name"] == "Autograder error"]
    assert len(error) == 1 and error[0]["status"] == "failed" and "contact the course staff" in error[0]["output"]
    assert data["extra_data"]["internal_error"] == "Traceback: KeyError"


def test_internal_error_results() -> None:
    data = internal_error_results("engine exploded: /secret/path")
    validate_results(data)
    assert data["score"] == 0
    assert [t["name"] for t in data["tests"]] == ["Autograder error"]
    assert "contact the course staff" in data["tests"][0]["output"]
    assert "contact the course staff" in data["output"]
    assert "/secret/path" not in data["output"] + data["tests"][0]["output"]
    assert data["extra_data"]["internal_error"] == "engine exploded: /secret/path"


def test_timeout_results_list_every_rubric_test() -> None:
    data = timeout_results(RUBRIC, elapsed=481.0, limit=480.0)
    validate_results(data)
    assert data["score"] == 0
    assert [t["extra_data"]["test_id"] for t in data["tests"]] == RUBRIC.ids()
    assert all(t["status"] == "failed" and "480 s" in t["output"] for t in data["tests"])
    assert sum(t["max_score"] for t in data["tests"]) == RUBRIC.max_score


def test_leaderboard_switch_and_values() -> None:
    result = make_result(speed_ratio=2.0)
    assert "leaderboard" not in to_results_json(result, RUBRIC)
    data = to_results_json(result, dataclasses.replace(RUBRIC, leaderboard=True))
    validate_results(data)
    board = data["leaderboard"]
    assert board[0]["name"].startswith("Speed") and board[0]["value"] == 2.0 and board[0]["order"] == "asc"
    speed_tests = [s for s in RUBRIC.tests if s.check == "speed"]
    assert len(board) == 1 + len(speed_tests)
    assert all(entry["order"] == "asc" for entry in board)
    assert "leaderboard" in to_results_json(result, RUBRIC, leaderboard=True)
    assert "leaderboard" not in to_results_json(result, dataclasses.replace(RUBRIC, leaderboard=True),
                                                leaderboard=False)


def test_leaderboard_overall_needs_every_speed_measurement() -> None:
    result = make_result(speed_ratio=3.0)
    speed_tests = [t for t in result.tests if t.check == "speed"]
    speed_tests[0].speed = _speed(speed_tests[0].function, 12.0)
    speed_tests[1].speed.verdict = "not_measured"
    speed_tests[2].speed.ratio = float("nan")
    board = leaderboard_entries(result)
    assert board[0]["value"] == "n/a"
    assert board[1]["value"] == 12.0 and board[2]["value"] == "n/a" and board[3]["value"] == "n/a"
    for test in speed_tests:
        test.speed = _speed(test.function, 4.0)
    speed_tests[0].speed = _speed(speed_tests[0].function, 1.0)
    overall = leaderboard_entries(result)[0]["value"]
    n = len(speed_tests)
    assert math.isclose(overall, round(4.0 ** ((n - 1) / n), 3))
    validate_results({"score": 1, "leaderboard": leaderboard_entries(result)})


def test_html_output_format_and_bad_format() -> None:
    data = to_results_json(make_result(), RUBRIC, output_format="html")
    validate_results(data)
    assert data["output_format"] == "html"
    with pytest.raises(ValueError):
        to_results_json(make_result(), RUBRIC, output_format="pdf")


def test_non_finite_numbers_in_the_result_still_give_valid_json() -> None:
    result = make_result()
    result.tests[0].score = float("nan")
    result.execution_time = float("inf")
    data = to_results_json(result, RUBRIC)
    validate_results(data)


def test_round_trip_through_json_gives_the_same_results() -> None:
    result = make_result({"sigmoid.speed": Status.PARTIAL, "sgd.correctness.saved_params": Status.FAILED})
    rebuilt = GradeResult.from_dict(json.loads(json.dumps(to_jsonable(result))))
    first, second = to_results_json(result, RUBRIC), to_results_json(rebuilt, RUBRIC)
    assert first == second


# --------------------------------------------------------------------------- writing


def test_write_results_json_is_atomic_and_strict(tmp_path) -> None:
    path = tmp_path / "results" / "results.json"
    data = to_results_json(make_result(), RUBRIC)
    write_results_json(path, data)
    raw = path.read_bytes()
    assert b"\r\n" not in raw and raw.endswith(b"\n")
    assert json.loads(raw) == json.loads(json.dumps(data))
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert os.listdir(path.parent) == ["results.json"]

    broken = copy.deepcopy(data)
    broken["tests"][0]["status"] = "partial"
    with pytest.raises(ResultsValidationError):
        write_results_json(path, broken)
    assert path.read_bytes() == raw  # untouched
    assert os.listdir(path.parent) == ["results.json"]

    with pytest.raises(ValueError):
        write_results_json(path, {"score": float("nan")}, validate=False)
    assert path.read_bytes() == raw
    assert os.listdir(path.parent) == ["results.json"]


def test_missing_numbers_in_details_do_not_break_the_output() -> None:
    """Engine data with None where a number is expected (an untimed run) still gives valid results."""
    result = make_result({"sigmoid.speed": Status.ERROR, "skipgram.gradcheck": Status.FAILED})
    speed_test = next(t for t in result.tests if t.test_id == "sigmoid.speed")
    speed_test.speed = SpeedVerdict(
        function="sigmoid", measurements=[SpeedMeasurement("sigmoid", "n=1000000", None, 0.01, None, 0)],
        ratio=None, growth_student=None, growth_reference=None, loops_over_vocabulary=False,
        verdict="not_measured", explanation="Your function could not be timed.")
    grad_test = next(t for t in result.tests if t.test_id == "skipgram.gradcheck")
    grad_test.gradcheck = GradcheckDetail(parameter="wordVectors", worst_index=None, analytic=None,
                                          numerical=float("nan"), relative_error=None, threshold=1e-5)
    grad_test.cases = [CaseResult(case_id="c", description="d", passed=False, max_abs_error=None,
                                  expected=ArraySummary(None, "NoneType", None), got=None)]
    data = to_results_json(result, dataclasses.replace(RUBRIC, leaderboard=True))
    validate_results(data)
    tests = _by_id(data)
    assert "n/a" in tests["sigmoid.speed"]["output"] and "could not be timed" in tests["sigmoid.speed"]["output"]
    assert "Gradient check" in tests["skipgram.gradcheck"]["output"]
    assert data["leaderboard"][1]["value"] == "n/a"


# --------------------------------------------------------------------------- total score, sanitiser, timeouts

HOSTILE_TEXT = '<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) **bold** `tick'
"""Student-controlled text (exception messages, file problems) that must never become markup."""

# Elements and attributes a conservative HTML sanitiser keeps (Gradescope: "html: sanitised HTML, so not
# every element is allowed"). What markdown_to_html writes must fit without any attribute at all.
SANITISER_TAGS = {"p", "br", "pre", "code", "strong", "em", "b", "i", "h1", "h2", "h3", "h4", "h5", "h6",
                  "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "blockquote", "hr"}


def _html_elements(text: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

        def handle_startendtag(self, tag, attrs):
            found.append((tag, attrs))

    parser = Collect(convert_charrefs=True)
    parser.feed(text)
    parser.close()
    return found


def _hostile_result() -> GradeResult:
    """Visible failures whose summaries, events and file problems carry HOSTILE_TEXT."""
    result = make_result({"sigmoid.correctness": Status.FAILED, "skipgram.correctness.starter": Status.ERROR})
    for test in result.tests:
        if test.test_id in ("sigmoid.correctness", "skipgram.correctness.starter"):
            test.summary = f"your function raised {HOSTILE_TEXT}"
            test.events = [SandboxEvent(kind="crash", message=HOSTILE_TEXT, detail=HOSTILE_TEXT)]
            test.cases[0].reproducer = f"sigmoid(1)  # {HOSTILE_TEXT}"
    result.events.append(SandboxEvent(kind="syntax_error", message=HOSTILE_TEXT, detail=HOSTILE_TEXT))
    return result


def test_totals_are_stated_in_the_policy_words_when_tests_are_delayed() -> None:
    """The always-shown output states the visible points and the points still to come, as every report does."""
    delayed = [s for s in RUBRIC.tests if s.visibility != "visible" and s.points > 0]
    assert delayed, "the default rubric has after_published tests with points"
    statuses = {delayed[0].id: Status.FAILED, "sigmoid.correctness": Status.PARTIAL}
    for fmt in ("md", "html"):
        result = make_result(statuses)
        data = to_results_json(result, RUBRIC, output_format=fmt)
        validate_results(data)
        visible = [t for t in data["tests"] if t.get("visibility", "visible") == "visible"]
        earned, possible = sum(t["score"] for t in visible), sum(t["max_score"] for t in visible)
        pending = sum(s.points for s in delayed)
        sentence = (f"{earned:g} of {possible:g} visible points; {pending:g} points in hidden tests, "
                    "results when grades are published")
        assert sentence in data["output"], data["output"][:400]
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))  # Gradescope's total: every test
        assert "Total score" not in data["output"]  # the hidden tests' points are not revealed through a total


def test_no_total_line_when_every_test_is_visible() -> None:
    rubric = dataclasses.replace(RUBRIC, tests=tuple(dataclasses.replace(s, visibility="visible")
                                                     for s in RUBRIC.tests))
    result = make_result()
    for test in result.tests:
        test.visibility = "visible"
    data = to_results_json(result, rubric)
    assert "visible points" not in data["output"] and "hidden tests" not in data["output"]
    assert f"of {RUBRIC.max_score:g} points" in data["output"]  # the report's own score line is the total


def test_markdown_output_renders_to_sanitiser_safe_html() -> None:
    """Rendered as Gradescope renders md: no raw HTML, no links, student text stays text."""
    markdown_it = pytest.importorskip("markdown_it")
    data = to_results_json(_hostile_result(), RUBRIC, output_format="md")
    validate_results(data)
    assert data["output_format"] == "md"
    rendered = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(data["output"])
    elements = _html_elements(rendered)
    assert {tag for tag, _ in elements} <= SANITISER_TAGS, sorted({t for t, _ in elements})
    for tag, attrs in elements:
        for name, value in attrs:
            # markdown-it's own decorations only: column alignment, a code block's language
            assert (name, tag) in {("style", "th"), ("style", "td"), ("class", "code")}, (tag, name, value)
    assert "<script" not in rendered and "<img" not in rendered and "&lt;script&gt;" in rendered


def test_html_output_is_structural_markup_only() -> None:
    data = to_results_json(_hostile_result(), RUBRIC, output_format="html")
    validate_results(data)
    output = data["output"]
    elements = _html_elements(output)
    tags = {tag for tag, _ in elements}
    assert tags <= SANITISER_TAGS, sorted(tags - SANITISER_TAGS)
    assert all(not attrs for _, attrs in elements), [e for e in elements if e[1]]
    assert {"h2", "table", "td", "ul", "li", "strong"} <= tags  # the report's structure, not a <pre> dump
    assert "| --- |" not in output and "\n## " not in output and "**Score" not in output
    assert "&lt;script&gt;" in output and "**bold**" in output  # the student's text is there, as text


def test_test_outputs_are_plain_text() -> None:
    """Per-test output is never interpreted as HTML or Markdown by Gradescope."""
    for fmt in ("md", "html"):
        data = to_results_json(_hostile_result(), RUBRIC, output_format=fmt)
        assert data["test_output_format"] == "text" and data["test_name_format"] == "text"
        assert all("output_format" not in t and "name_format" not in t for t in data["tests"])


def test_timeout_results_keep_the_finished_tests() -> None:
    finished = [t for t in make_result({"sigmoid.stability": Status.FAILED}).tests if t.check != "speed"]
    data = timeout_results(RUBRIC, elapsed=481.0, limit=480.0, finished=finished, isolation_layers=["uid:x"])
    validate_results(data)
    tests = _by_id(data)
    assert [t["extra_data"]["test_id"] for t in data["tests"]] == RUBRIC.ids()
    for test in finished:
        assert tests[test.test_id]["score"] == test.score
        assert tests[test.test_id]["extra_data"]["status"] == test.status.value
    speed = [s.id for s in RUBRIC.tests if s.check == "speed"]
    assert all(tests[i]["score"] == 0 and "Grading was stopped" in tests[i]["output"] for i in speed)
    assert math.isclose(data["score"], sum(t.score for t in finished))
    assert data["extra_data"]["finished_tests"] == len(finished)
    assert f"{len(finished)} of {len(RUBRIC.tests)} tests finished" in data["output"]
    assert "visible points;" in data["output"].splitlines()[0]  # the default rubric has delayed tests
    html_data = timeout_results(RUBRIC, elapsed=481.0, limit=480.0, finished=finished, output_format="html")
    validate_results(html_data)
    assert all(not attrs for _, attrs in _html_elements(html_data["output"]))


def test_markdown_to_html_escapes_everything() -> None:
    from grader.gradescope.results_json import markdown_to_html

    text = ("## Title <b>\n\nSome \\<i\\> **bold** and `a<b` and ``x ` y``.\n\n- one\n  - two <u>\n- three\n\n"
            "| a | b |\n| --- | ---: |\n| 1 \\| 2 | <td> |\n\n````text\n<script>\n```\n````\n")
    html_text = markdown_to_html(text)
    assert "<h2>Title &lt;b&gt;</h2>" in html_text
    assert "Some &lt;i&gt; <strong>bold</strong> and <code>a&lt;b</code> and <code>x ` y</code>." in html_text
    assert "<ul>\n<li>one\n<ul>\n<li>two &lt;u&gt;</li>\n</ul>\n</li>\n<li>three</li>\n</ul>" in html_text
    assert "<td>1 | 2</td>\n<td>&lt;td&gt;</td>" in html_text
    assert "<pre><code>&lt;script&gt;\n```\n</code></pre>" in html_text
    assert {tag for tag, _ in _html_elements(html_text)} <= SANITISER_TAGS
    assert all(not attrs for _, attrs in _html_elements(html_text))  # no alignment style, no code class
    assert markdown_to_html("**unclosed") == "<p>**unclosed</p>"  # CommonMark: not emphasis
    assert markdown_to_html("[x](https://example.org)") == "<p>x</p>"  # a link keeps its text only
    assert "<a" not in markdown_to_html("[x](javascript:alert(1))")


# --------------------------------------------------------------------------- every writer validates


def test_batch_student_files_are_schema_validated(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch's per-student results.json goes through write_results_json (schema-checked)."""
    from grader.batch.outputs import write_student_files

    write_student_files(tmp_path, "student-a", make_result(), RUBRIC)
    validate_results(json.loads((tmp_path / "student-a" / "results.json").read_text()))

    import grader.gradescope.results_json as gs

    original = gs.to_results_json

    def broken(result, rubric, **kwargs):
        data = original(result, rubric, **kwargs)
        data["tests"][0]["status"] = "partial"  # not a Gradescope status
        return data

    monkeypatch.setattr(gs, "to_results_json", broken)
    problems = write_student_files(tmp_path, "student-b", make_result(), RUBRIC)
    assert any("results.json" in p and "invalid results.json" in p for p in problems), problems
    assert not (tmp_path / "student-b" / "results.json").exists()


def test_every_results_json_writer_uses_the_validating_writer() -> None:
    """Code that names results.json writes it with write_results_json, never validate=False."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "grader"
    writers = []
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) \
                    == "write_results_json":
                writers.append(path.name)
                assert not any(k.arg == "validate" for k in node.keywords), f"{path}: validate= given"
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("write_text", "write_bytes", "dump"):
                assert "results.json" not in ast.unparse(node), f"{path}: results.json written directly"
    assert {"outputs.py", "grade.py", "run_autograder.py"} <= set(writers), writers
