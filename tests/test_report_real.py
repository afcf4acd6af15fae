"""Reports for real sample submissions, graded by the real engine and opened in headless Chromium.

A small rubric (tests/report_fixtures/rubric_report.toml) keeps grading to about half a
minute on two cores while keeping every kind of check, hidden tests and a speed test.
"""

from __future__ import annotations

import copy
import html
import json
import multiprocessing
import re
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from browser import REPO, launch_or_skip, open_checked

from grader.report import DashboardEntry, render_dashboard, render_markdown_summary, render_report, write_report

SUBMISSIONS = REPO / "submissions"
RUBRIC = Path(__file__).parent / "report_fixtures" / "rubric_report.toml"
SAMPLES = ("bug_dup_overwrite", "crash_in_function", "hangs_forever")


def _available() -> bool:
    try:
        import grader.pipeline  # noqa: F401
    except ImportError:
        return False
    return all((SUBMISSIONS / name / "word2vec.py").exists() for name in SAMPLES)


pytestmark = pytest.mark.skipif(not _available(), reason="needs grader.pipeline and the sample submissions")


def _grade(path: Path, rubric_path: Path, lock) -> GradeResult:  # noqa: F821 - runs in a worker process
    from grader.pipeline import grade_submission
    from grader.rubric import load_rubric

    return grade_submission(path, load_rubric(rubric_path), speed_lock=lock)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The reference solution and three buggy samples, graded two at a time (speed timings never overlap).

    Separate processes, not threads: ``ast.parse`` is not thread-safe on some CPython 3.11 releases.
    """
    root = tmp_path_factory.mktemp("real")
    reference = root / "reference"
    reference.mkdir()
    for name in ("word2vec.py", "sgd.py"):
        shutil.copy(REPO / "reference" / name, reference / name)
    # the slowest (a hang) first, so the other three run beside it
    paths = {"hangs_forever": SUBMISSIONS / "hangs_forever", "reference": reference,
             **{name: SUBMISSIONS / name for name in SAMPLES}}
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        lock = manager.Lock()
        futures = {name: pool.submit(_grade, path, RUBRIC, lock) for name, path in paths.items()}
        results = {name: future.result(timeout=240) for name, future in futures.items()}
    for name, result in results.items():
        assert result.internal_error is None, f"{name}: {result.internal_error}"
    return results


@pytest.fixture(scope="module")
def site(graded, tmp_path_factory):
    root = tmp_path_factory.mktemp("real-site")
    entries = []
    for name, result in graded.items():
        write_report(result, root / name / "report.html")
        entries.append(DashboardEntry(result, f"{name}/report.html", name))
    (root / "index.html").write_text(render_dashboard(entries, title="Sample submissions"), encoding="utf-8")
    pages = REPO / "test-artifacts" / "reports-real"  # not under reports/, which test_report_browser replaces
    shutil.rmtree(pages, ignore_errors=True)
    shutil.copytree(root, pages)
    return root


@pytest.fixture(scope="module")
def browser():
    b = launch_or_skip()
    yield b
    b.close()


def text_of(page: str) -> str:
    stripped = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)>.*?</\1>", "", page, flags=re.S))
    return " ".join(html.unescape(stripped).split())


def test_reference_report_is_all_green_but_honest(graded):
    page = render_report(graded["reference"])
    text = text_of(page)
    assert "All 9 visible tests that ran passed; 4 more tests are pending." in text
    assert "2.75 points pending." in text
    assert 'id="fix"' not in page
    assert not re.search(r"all (\d+ )?tests passed", text, re.I)
    instructor = text_of(render_report(graded["reference"], audience="instructor"))
    assert "All 13 tests passed." in instructor


def test_duplicate_overwrite_report_explains_the_bug(graded):
    page = render_report(graded["bug_dup_overwrite"])
    text = text_of(page)
    assert "3.2 negative sampling: repeated negative samples are counted" in text
    assert "from word2vec import negSamplingLossAndGradient" in text  # reproducer
    assert "Heatmap of the absolute error of gradOutsideVecs" in page
    assert "np.add.at" in text
    md = render_markdown_summary(graded["bug_dup_overwrite"])
    assert "### What to fix" in md and "negative sampling" in md


def test_crash_report_shows_the_students_traceback(graded):
    text = text_of(render_report(graded["crash_in_function"]))
    assert "IndexError" in text and 'File "word2vec.py"' in text
    assert "runner.py" not in text


def test_hang_report_says_timed_out(graded):
    page = render_report(graded["hangs_forever"])
    assert "Timed out" in text_of(page)
    assert 'data-kind="timeout"' in page


def _student_texts(result) -> str:
    page = render_report(result)
    return page + "\n" + text_of(page) + "\n" + render_markdown_summary(result)


def _hidden_details(result) -> set[str]:
    """Everything the grader recorded about the hidden tests' inputs, values and messages."""
    found: set[str] = set()
    for test in (t for t in result.tests if t.hidden_from_student):
        found |= {test.summary, test.hint}
        found |= {x for e in test.events for x in (e.message, e.detail)}
        for case in test.cases:
            found |= {case.case_id, case.description, case.message, case.reproducer, *case.notes}
            found |= {line.strip() for line in case.reproducer.splitlines() if len(line.strip()) > 12}
            for value in (case.expected, case.got):
                if value is not None and value.preview is not None:
                    found.add(json.dumps(value.preview)[:40])
        if test.gradcheck is not None:
            found |= {f"{test.gradcheck.analytic:.6g}", f"{test.gradcheck.relative_error:.2e}"}
        if test.speed is not None:
            found.add(test.speed.explanation)
    return {x for x in found if x and len(x) > 5}


def test_hidden_tests_stay_hidden(graded):
    """Differential check on real results: whatever the page shows beyond the same result with its hidden tests
    removed must not come from those hidden tests (their inputs, expected values, messages, call ids)."""
    failing_hidden = 0
    for name, result in graded.items():
        hidden = [t for t in result.tests if t.hidden_from_student]
        assert hidden, name
        failing_hidden += sum(t.status.value != "passed" for t in hidden)
        full = _student_texts(result)
        without = copy.deepcopy(result)
        without.tests = [t for t in without.tests if not t.hidden_from_student]
        baseline = _student_texts(without)
        leaked = sorted(x for x in _hidden_details(result) if x in full and x not in baseline)
        assert not leaked, f"{name}: {leaked[:5]}"
        for case in (c for t in hidden for c in t.cases):
            assert case.case_id not in full, (name, case.case_id)
        page = render_report(result)
        assert all(f'id="t-{t.test_id.replace(".", "-")}"' in page for t in hidden)
    assert failing_hidden >= 3  # the check above is only meaningful when hidden tests fail


def test_hang_in_a_hidden_test_is_not_quoted_by_visible_ones(graded):
    result = graded["hangs_forever"]
    hidden = next(t for t in result.tests if t.test_id == "skipgram.correctness.random")
    assert hidden.status.value == "error" and hidden.cases
    visible = next(t for t in result.tests if t.test_id == "skipgram.correctness.starter")
    quoted = [c.case_id for c in hidden.cases if c.case_id in visible.summary + " ".join(e.message for e in visible.events)]
    assert quoted, "expected the visible test to quote the hidden test's call (the case this test is about)"
    text = text_of(render_report(result))
    assert not any(q in text for q in quoted)
    assert "a call of a hidden test" in text


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("name", ["reference", *SAMPLES])
def test_real_report_in_browser(browser, site, name, viewport):
    extra = {"reference": ("#speed figure img",), "bug_dup_overwrite": ("#fix figure img", "#fix pre.reproducer"),
             "crash_in_function": ("#fix .event[data-kind=crash] pre.output",), "hangs_forever": (".event[data-kind=timeout]",)}[name]
    page = open_checked(browser, site / name / "report.html", viewport,
                        selectors=("#score-value", "#headline", "#summary table", "#pending .test", *extra),
                        screenshot=f"real-{name}")
    page.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_real_dashboard_in_browser(browser, site, viewport):
    page = open_checked(browser, site / "index.html", viewport,
                        selectors=("#stats", "#scores figure img", "#flagged-table", "#students-table"),
                        screenshot="real-dashboard")
    try:
        flagged = page.evaluate("Array.from(document.querySelectorAll('#flagged-table tbody tr'))"
                                ".map(r => r.cells[0].textContent.trim())")
        assert "hangs_forever" in flagged and "crash_in_function" in flagged and "reference" not in flagged
    finally:
        page.close()
