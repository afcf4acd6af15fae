"""HTML reports, dashboard and Markdown summary rendered from hand-built results (no browser, no grading)."""

from __future__ import annotations

import base64
import html
import json
import re
from html.parser import HTMLParser

import pytest
from report_fixtures.factory import (
    SCENARIOS,
    SECRET_EXPECTED,
    SECRET_HINT,
    SECRET_INPUT,
    XSS_IMG,
    XSS_SCRIPT,
    scenario_all_passed,
    scenario_crash,
    scenario_failing,
)

from grader.report import (
    DashboardEntry,
    content_security_policy,
    render_dashboard,
    render_markdown_summary,
    render_report,
    write_report,
)
from grader.report.dashboard import safe_href
from grader.report.text import fmt_ratio, trim_traceback, truncate
from grader.results import GradeResult, Status, to_jsonable


class _Collector(HTMLParser):
    """Collects tags, attributes and the visible text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(page: str) -> _Collector:
    c = _Collector()
    c.feed(page)
    c.close()
    return c


def visible_text(page: str) -> str:
    return " ".join(" ".join(parse(page).text).split())


@pytest.fixture(scope="module")
def results() -> dict[str, GradeResult]:
    return {name: make() for name, make in SCENARIOS.items()}


@pytest.fixture(scope="module")
def pages(results) -> dict[tuple[str, str], str]:
    return {(name, audience): render_report(r, audience=audience)
            for name, r in results.items() for audience in ("student", "instructor")}


# -- self-contained and safe ---------------------------------------------------------------------------


def test_every_page_is_self_contained(pages, results):
    dashboard = render_dashboard([DashboardEntry(r, f"{n}/report.html", n) for n, r in results.items()])
    for key, page in [*pages.items(), (("dashboard", ""), dashboard)]:
        tags = parse(page).tags
        assert not [t for t, _ in tags if t in ("link", "iframe", "object", "embed", "base", "form")], key
        for tag, attrs in tags:
            if tag == "script":
                assert "src" not in attrs, key
            for name in ("src", "srcset"):
                if name in attrs:
                    assert attrs[name].startswith("data:image/"), (key, tag, attrs[name][:60])
            if "href" in attrs:
                href = attrs["href"]
                assert href.startswith("#") or (key[0] == "dashboard" and safe_href(href) == href), (key, href)
        assert not re.search(r"""(?:src|href|url\()\s*=?\s*["']?(?:https?:)?//""", page, re.I), key
        assert "@import" not in page, key


def test_csp_forbids_network_and_foreign_scripts(pages):
    page = pages[("failing", "student")]
    match = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert match, "CSP meta tag missing"
    csp = html.unescape(match.group(1))
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp and "img-src data:" in csp
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    assert csp == content_security_policy(script)  # the hash covers exactly our inline script


def test_student_controlled_text_is_escaped(pages):
    for audience in ("student", "instructor"):
        page = pages[("xss", audience)]
        assert XSS_SCRIPT not in page and XSS_IMG not in page
        assert "<b>bold</b>" not in page
        assert html.escape(XSS_SCRIPT, quote=False) in page
        assert "onerror=alert(1)" in visible_text(page)  # shown as text
        assert page.count("<script>") == 1  # only our own script
        assert "\x1b" not in page  # terminal colour codes stripped


def test_huge_output_is_truncated_with_marker(results):
    page = render_report(results["huge_output"])
    assert len(page) < 400_000
    assert "more characters not shown" in page
    assert "HUGE-START" in page and "HUGE-END" in page  # head and tail both kept


# -- audience rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["all_passed", "failing", "crash", "xss"])
def test_hidden_tests_reveal_nothing_to_students(pages, name):
    student = pages[(name, "student")]
    for secret in (SECRET_INPUT, SECRET_HINT, str(SECRET_EXPECTED)):
        assert secret not in student
    text = visible_text(student)
    assert "2.3 naive softmax: edge cases" in text  # name still shown
    assert "released when grades are published" in text
    instructor = pages[(name, "instructor")]
    assert SECRET_INPUT in instructor and "hidden from students" in visible_text(instructor)


def test_markdown_follows_student_rules(results):
    for name, result in results.items():
        md = render_markdown_summary(result)
        for secret in (SECRET_INPUT, SECRET_HINT, str(SECRET_EXPECTED)):
            assert secret not in md, name
        outside_code = re.sub(r"(`{3,})text\n.*?\n\1", "", md, flags=re.S)
        assert not re.search(r"(?<!\\)<[a-zA-Z/!]", outside_code), (name, outside_code)
    md = render_markdown_summary(results["failing"])
    assert "**Score: 12.18 / 14.5 points (visible tests only).**" in md
    assert "| naive softmax |" in md and "```text\nfrom word2vec import naiveSoftmaxLossAndGradient" in md
    assert "### Pending tests" in md


def test_markdown_code_fence_cannot_be_closed_by_content(results):
    result = results["xss"]
    result.tests[0].cases[0].reproducer = "x = 1\n```\n<script>alert(1)</script>"
    md = render_markdown_summary(result)
    assert "````text\nx = 1\n```\n<script>alert(1)</script>\n````" in md


# -- honest totals -------------------------------------------------------------------------------------


def test_all_passed_with_pending_never_claims_everything_passed(pages):
    text = visible_text(pages[("all_passed", "student")])
    assert not re.search(r"all (\d+ )?tests passed", text, re.I)
    assert "All 24 visible tests that ran passed; 3 more tests are pending." in text
    assert "1.5 points pending." in text
    assert "14.5 / 14.5 points (visible tests only)" in text
    md = render_markdown_summary(scenario_all_passed())
    assert not re.search(r"all (\d+ )?tests passed", md, re.I) and "pending" in md


def test_instructor_sees_full_total(pages):
    text = visible_text(pages[("all_passed", "instructor")])
    assert "16 / 16 points" in text and "All 27 tests passed." in text
    assert "hidden from students until released" in text


def test_student_total_excludes_hidden_scores(results):
    r = scenario_failing()
    for t in r.tests:  # a hidden test that failed must not change what the student sees
        if t.hidden_from_student:
            t.status, t.score = Status.FAILED, 0.0
    text = visible_text(render_report(r))
    assert "12.18 / 14.5 points" in text


def test_check_mode_counts_only_visible_tests(pages):
    text = visible_text(pages[("check_mode", "student")])
    assert "14.5 / 14.5 points" in text
    assert "tests are pending" in text or "more tests are pending" in text
    text = visible_text(pages[("check_mode", "instructor")])
    assert "did not run" in text and "a `check` run runs the visible tests only" in text


def test_internal_error_is_not_blamed_on_the_student(pages):
    student = visible_text(pages[("internal_error", "student")])
    assert "The grader could not finish grading this submission." in student
    assert "this is not a problem with your code" in student
    assert "What to fix" not in student
    assert "worker protocol violated" in student


def test_internal_error_with_errored_tests_lists_nothing_to_fix():
    r = scenario_failing()
    r.internal_error = "Traceback (most recent call last):\n  File \"/grader/x.py\", line 1\nTypeError: boom"
    for t in r.tests:
        t.status, t.score = Status.ERROR, 0.0
    student = render_report(r)
    assert 'id="fix"' not in student
    assert "TypeError: boom" in student and "/grader/x.py" not in student  # last line only
    assert "/grader/x.py" in render_report(r, audience="instructor")


# -- what a failing test explains ------------------------------------------------------------------------


def test_failing_test_shows_reproducer_values_heatmap_and_hint(pages):
    page = pages[("failing", "student")]
    text = visible_text(page)
    assert "What to fix" in text
    assert "from word2vec import negSamplingLossAndGradient" in text  # reproducer
    assert "first mismatch [2, 0]" in text
    assert "(8, 5)" in text and "float64" in text
    assert "Only rows 2, 6 differ (2 of 8); the other rows match." in text
    assert "np.add.at" in text  # the grader's hint
    assert "Heatmap of the absolute error of gradOutsideVecs" in page  # alt text of the heatmap
    assert "1 case of this test passed" in text


def test_gradcheck_shows_worst_coordinate(pages):
    text = visible_text(pages[("failing", "student")])
    assert "At centerWordVec[2] your gradient says 0.83121 but changing that entry changes your loss at a rate of -0.8312" in text
    assert "relative error 1.00e+00 > threshold 1.00e-05" in text


def test_speed_chart_is_matplotlib_svg_with_numbers_in_a_table(pages):
    page = pages[("failing", "student")]
    uris = re.findall(r'(?:src|srcset)="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) >= 3  # speed chart (wide + narrow) and the heatmap
    svg = base64.b64decode(uris[0]).decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "Matplotlib" in svg
    assert "<script" not in svg
    text = visible_text(page)
    assert "When the vocabulary grew 4×, your time grew 4.1× (reference: 1.3×)." in text
    assert "a Python loop over the vocabulary" in text
    assert "8.4 ms" in text and "7.0×" in text


def test_crash_traceback_is_trimmed_to_student_frames(pages):
    page = pages[("crash", "student")]
    text = visible_text(page)
    assert 'File "/tmp/sub/word2vec.py", line 201, in skipgram' in text
    assert "runner.py" not in page and "fromnumeric.py" not in page
    assert "1 frame outside your files hidden" in text
    assert "IndexError: too many indices for array" in text
    for title in ("Timed out", "Crashed", "Output truncated", "Memory limit hit"):
        assert title in text
    assert "rlimits, process_group, netns" in text  # isolation layers


def test_errored_tests_do_not_get_a_wrong_values_hint(pages):
    text = visible_text(pages[("crash", "student")])
    assert "Your function could not be run for this test" in text


def test_status_is_written_in_words_not_only_colour(pages):
    page = pages[("failing", "student")]
    for words in ("✓</span>passed", "✗</span>failed", "◐</span>partial credit", "○</span>pending"):
        assert words in page


def test_round_trip_through_json_renders_the_same(results):
    for result in results.values():
        again = GradeResult.from_dict(json.loads(json.dumps(to_jsonable(result))))
        assert render_report(again) == render_report(result)


def test_write_report_creates_file(tmp_path):
    out = tmp_path / "deep" / "report.html"
    write_report(scenario_crash(), out, audience="instructor")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_unknown_audience_is_rejected():
    with pytest.raises(ValueError):
        render_report(scenario_all_passed(), audience="public")


# -- dashboard -----------------------------------------------------------------------------------------


def test_dashboard_summarises_the_class(results):
    entries = [DashboardEntry(r, f"{n}/report.html", n) for n, r in results.items()]
    entries.append(DashboardEntry(None, "javascript:alert(1)", f"ghost {XSS_SCRIPT}"))
    page = render_dashboard(entries, title="CS224n — test run")
    text = visible_text(page)
    assert "CS224n — test run" in text
    assert "Score distribution" in text and "Histogram of" in page
    assert "Pass rate per test" in text and "3.3 negative sampling: repeated negative samples are counted" in text
    assert "Most common failure causes" in text and "np.add.at" in text
    assert "Speed ratios" in text and "Dot plot of speed ratios" in page
    for flag in ("crashed", "timed out", "sandbox limit", "grader error", "output truncated"):
        assert flag in text
    assert 'href="crash/report.html"' in page
    assert "javascript:" not in page and XSS_SCRIPT not in page
    assert 'id="students-table"' in page and 'data-type="number"' in page
    assert "All submissions" in text


def test_dashboard_with_no_entries_renders():
    page = render_dashboard([])
    assert "No scored submissions." in page and "No tests were run." in page


def test_safe_href():
    assert safe_href("alice/report.html") == "alice/report.html"
    assert safe_href("reports/a%20b.html") == "reports/a%20b.html"
    for bad in ("javascript:alert(1)", "JAVASCRIPT:x", "https://evil.example/", "//evil.example/x", "a\"b", ""):
        assert safe_href(bad) == ""


# -- helpers -------------------------------------------------------------------------------------------


def test_trim_traceback_keeps_only_student_frames():
    tb = ('Traceback (most recent call last):\n'
          '  File "/grader/grader/worker/runner.py", line 1, in run\n    fn()\n'
          '  File "/sub/word2vec.py", line 9, in sigmoid\n    return 1 / (1 + np.exp(-x))\n'
          '    ~~~~^~~~\n'
          'ValueError: nope')
    out = trim_traceback(tb, ["word2vec.py", "sgd.py"])
    assert "runner.py" not in out and "/sub/word2vec.py" in out and "~~~~^~~~" in out
    assert out.splitlines()[1].strip() == "… 1 frame outside your files hidden …"
    assert trim_traceback("Traceback (your code only):\nX", ["word2vec.py"]) == "Traceback (your code only):\nX"


def test_truncate_and_formatting():
    assert truncate("abc", 10) == "abc"
    cut = truncate("a" * 1000 + "TAIL", 100)
    assert len(cut) < 200 and cut.endswith("TAIL") and "more characters not shown" in cut
    assert truncate("\x1b[31mred\x1b[0m\x00") == "red\ufffd"
    assert fmt_ratio(7.0) == "7.0×" and fmt_ratio(22.4) == "22×" and fmt_ratio(0.85) == "0.85×"
    assert fmt_ratio(None) == "–"


def test_browser_tests_fail_under_ci_without_chromium(monkeypatch):
    import browser

    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Chromium is not installed"):
        browser.launch_or_skip()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        browser.launch_or_skip()
