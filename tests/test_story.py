"""One story everywhere (issue #17): the same graded submissions, told by every renderer.

A few samples are graded once with the default rubric (real sandbox, real reference); the terminal
summary, the HTML report, the Markdown summary, Gradescope's results.json and the class dashboard
must then state the same totals, in the same words, and the same statuses.  Then the report's
length and layout in headless Chromium, and the CLI: grouped help, one exit-code scheme,
``check -q``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.gradescope.results_json import to_results_json, validate_results
from grader.pipeline import grade_submission
from grader.report import DashboardEntry, render_dashboard, render_markdown_summary, render_report
from grader.report.dashboard import build_dashboard_view
from grader.report.policy import decide
from grader.report.terminal import MARK, render_summary
from grader.report.text import fmt_points
from grader.rubric import load_rubric

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "submissions"
RUBRIC = load_rubric()
STATUS_WORDS = {"passed": "passed", "partial": "partial credit", "failed": "failed", "error": "error",
                "skipped": "not run", "pending": "pending"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> dict[str, Path]:
    """A one-function bug, a submission failing in two functions, and a zip holding only a notebook."""
    root = tmp_path_factory.mktemp("story")
    two = root / "two_failing"
    two.mkdir()
    shutil.copyfile(SAMPLES / "bug_sign_error" / "word2vec.py", two / "word2vec.py")
    shutil.copyfile(SAMPLES / "bug_sgd_ascent" / "sgd.py", two / "sgd.py")
    notebook = root / "notebook_only.zip"
    with zipfile.ZipFile(notebook, "w") as archive:
        archive.write(next((SAMPLES / "notebook_instead").glob("*.ipynb")), "word2vec.ipynb")
    return {"bug_sign_error": SAMPLES / "bug_sign_error", "two_failing": two, "notebook_only": notebook}


@pytest.fixture(scope="module")
def graded(submissions):
    return {name: grade_submission(path, RUBRIC) for name, path in submissions.items()}


@pytest.mark.parametrize("name", ["bug_sign_error", "two_failing", "notebook_only"])
def test_every_renderer_states_the_same_totals_and_statuses(graded, name):
    result = graded[name]
    decision = decide(result, "student")
    totals = decision.totals
    sentence = totals.sentence
    assert sentence == (f"{fmt_points(totals.earned)} of {fmt_points(totals.possible)} visible points; "
                        "1.5 points in hidden tests, results when grades are published")

    terminal = render_summary(result)
    html = visible_text(render_report(result))
    markdown = render_markdown_summary(result)
    data = to_results_json(result, RUBRIC)
    validate_results(data)

    assert f"Total: {sentence}\n" in terminal
    assert sentence in html and f"{fmt_points(totals.earned)} / {fmt_points(totals.possible)} visible points" in html
    assert f"**Score: {sentence}.**" in markdown
    assert sentence in data["output"]
    visible = [t for t in data["tests"] if t.get("visibility", "visible") == "visible"]
    assert sum(t["score"] for t in visible) == pytest.approx(totals.earned)
    assert data["score"] == pytest.approx(result.score)  # Gradescope's total: every test, from the score stage

    for function in decision.functions:
        if not function.tests:
            continue
        points = f"{fmt_points(function.earned)} / {fmt_points(function.possible)}"
        assert re.search(rf"\[{re.escape(MARK[function.status])}\] {function.name} +{re.escape(points)}", terminal)
        label = re.escape(function.label)
        assert re.search(rf"\| {label} \| {re.escape(points)}[^|]*\| \S+ {STATUS_WORDS[function.status]} \|",
                         markdown), (function.name, markdown)
        assert re.search(rf"{label} \S+ ?{STATUS_WORDS[function.status]} {re.escape(points)}", html), function.name

    # The instructor: the dashboard row and the instructor report state the score stage's total.
    staff = decide(result, "instructor").totals
    row = build_dashboard_view([DashboardEntry(result, "r.html", name)], "t").rows[0]
    assert row.score_text == f"{fmt_points(result.score)} / {fmt_points(result.max_score)}"
    assert (staff.earned, staff.possible) == (result.score, result.max_score)
    assert staff.sentence in visible_text(render_report(result, audience="instructor"))


def test_informational_tests_never_look_like_failures(graded):
    result = graded["bug_sign_error"]
    integration = next(t for t in result.tests if t.test_id == "skipgram.integration")
    assert integration.max_score == 0 and integration.status.value in ("failed", "partial")  # the sample's bug
    decision = decide(result, "student")
    skipgram = next(f for f in decision.functions if f.name == "skipgram")
    assert skipgram.status == "passed" and decision.shown("skipgram.integration").status == "info"
    assert "[PASS] skipgram" in render_summary(result)
    assert "| skip-gram | 2.5 / 2.5 (+0.5 pending) | ✓ passed |" in render_markdown_summary(result)
    page = render_report(result)
    row = re.search(r'<tr data-function="skipgram">.*?</tr>', page, re.S).group(0)
    assert "status-partial" not in row and "status-failed" not in row and 'status-info' in row
    assert "skipgram.integration" not in {s.test.test_id for s in decision.failing}


def test_a_reason_appears_once_and_advice_fits_the_reader(graded, submissions):
    result = graded["notebook_only"]
    reason = "word2vec.py is missing: you submitted the notebook word2vec.ipynb instead."
    assert visible_text(render_report(result)).count(reason) == 1
    kit = grade_submission(submissions["notebook_only"], RUBRIC, mode="check")
    kit_text = visible_text(render_report(kit)) + render_summary(kit)
    assert "resubmit" not in kit_text and "collect_submission" not in kit_text
    assert "run `w2v-grader check` again" in render_summary(kit)
    assert "resubmit" in render_summary(graded["two_failing"])  # after grading: Gradescope's words


def test_dashboard_tells_a_sign_error_from_a_transposed_gradient(graded):
    sign = graded["bug_sign_error"]
    transposed = grade_submission(SAMPLES / "bug_transposed_grad", RUBRIC)
    view = build_dashboard_view([DashboardEntry(sign, "a.html", "sign"), DashboardEntry(transposed, "b.html", "t")],
                                "class")
    causes = {c.cause: c.labels for c in view.causes if c.test.startswith("naive softmax")}
    flipped = [cause for cause, labels in causes.items() if "sign is flipped" in cause]
    shaped = [cause for cause, labels in causes.items() if "transposed" in cause]
    assert flipped and shaped and not set(flipped) & set(shaped)
    assert all(causes[c] == ["sign"] for c in flipped) and all(causes[c] == ["t"] for c in shaped)
    assert "sign is flipped" in render_dashboard([DashboardEntry(sign, "a.html", "sign")])


# -- the report in a browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    from browser import launch_or_skip

    b = launch_or_skip()
    yield b
    b.close()


def test_a_report_with_two_failing_functions_is_short_and_fits_a_phone(graded, browser, tmp_path):
    page_path = tmp_path / "two.html"
    page_path.write_text(render_report(graded["two_failing"]), encoding="utf-8")
    failing = [f for f in decide(graded["two_failing"]).functions if f.status in ("partial", "failed")]
    assert len(failing) == 2
    for width, limit in ((1280, 4000), (375, 7500)):
        page = browser.new_page(width, 900)
        try:
            page.goto(page_path)
            height = page.evaluate("document.documentElement.scrollHeight")
            assert height <= limit, (width, height)
            assert page.horizontal_overflow() == 0, width
            reproducers = page.evaluate("""Array.from(document.querySelectorAll('#fix pre.reproducer')).map(p => {
              const s = getComputedStyle(p);
              return {ws: s.whiteSpace, ox: s.overflowX, cut: p.scrollHeight > p.clientHeight + 1,
                      visible: p.getClientRects().length > 0};
            })""")
            shown = [r for r in reproducers if r["visible"]]
            assert shown, "the first failing case shows its reproducer"
            for r in shown:  # never wrapped inside an identifier, never cut off in height; scrolls sideways
                assert r["ws"] == "pre" and r["ox"] == "auto" and not r["cut"], (width, r)
        finally:
            page.close()


# -- the CLI ------------------------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_help_groups_commands_by_reader_with_examples():
    out = run_cli("--help").stdout
    groups = ["For students", "For instructors and TAs", "For course staff", "Internal"]
    assert [out.index(g) for g in groups] == sorted(out.index(g) for g in groups)
    students = out[out.index("For students"):out.index("For instructors")]
    internal = out[out.index("Internal"):]
    assert "check" in students and "batch" not in students and "e.g. w2v-grader check" in students
    assert "warm-cache" in internal and "run-autograder" in internal
    assert out.count("e.g. w2v-grader") >= 8 and "Exit codes: 0" in out
    for command in ("check", "grade", "warm-cache", "written"):
        text = run_cli(command, "--help").stdout
        assert "``" not in text and ":func:" not in text and ":mod:" not in text, command


def test_grade_and_check_agree_on_a_zip_holding_only_a_notebook(submissions, tmp_path):
    notebook = submissions["notebook_only"]
    graded = run_cli("grade", str(notebook), "--json", str(tmp_path / "r.json"))
    checked = run_cli("check", str(notebook), "--html", str(tmp_path / "r.html"))
    assert graded.returncode == checked.returncode == 1, (graded.stdout[-500:], checked.stdout[-500:])
    validate_results(json.loads((tmp_path / "r.json").read_text()))
    assert run_cli("check", str(tmp_path / "missing")).returncode == 2


def test_check_q_rechecks_only_the_named_functions(tmp_path):
    folder = tmp_path / "sub"
    shutil.copytree(SAMPLES / "bug_sign_error", folder)
    proc = run_cli("check", str(folder), "-q", "sigmoid", "--json", str(tmp_path / "s.json"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "[PASS] sigmoid" in proc.stdout and "naiveSoftmax" not in proc.stdout
    summary = json.loads((tmp_path / "s.json").read_text())
    assert {t["test_id"].split(".")[0] for t in summary["tests"]} == {"sigmoid"} and summary["exit_code"] == 0
    proc = run_cli("check", str(folder), "-q", "naive-softmax")
    assert proc.returncode == 1 and "[PART] naiveSoftmaxLossAndGradient" in proc.stdout
    assert "w2v-grader check -q naiveSoftmaxLossAndGradient" in proc.stdout
    assert run_cli("check", str(folder), "-q", "softmaxx").returncode == 2
