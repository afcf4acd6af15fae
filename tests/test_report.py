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
from grader.report.text import fmt_ratio, strip_sandbox_paths, trim_traceback, truncate
from grader.report.view_parts import with_print
from grader.results import (
    CaseResult,
    GradeResult,
    SandboxEvent,
    SpeedMeasurement,
    SpeedVerdict,
    Status,
    to_jsonable,
)


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
    assert "results when grades are published" in text
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
    assert ("**Score: 12.18 of 14.5 visible points; 1.5 points in hidden tests, results when grades are "
            "published.**") in md
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
    assert "14.5 / 14.5 visible points" in text
    md = render_markdown_summary(scenario_all_passed())
    assert not re.search(r"all (\d+ )?tests passed", md, re.I) and "pending" in md


def test_instructor_sees_full_total(pages):
    text = visible_text(pages[("all_passed", "instructor")])
    assert "16 / 16 points" in text and "All 27 tests passed." in text
    assert "16 of 16 points, including 1.5 of 1.5 points in tests hidden from students" in text


def test_student_total_excludes_hidden_scores(results):
    r = scenario_failing()
    for t in r.tests:  # a hidden test that failed must not change what the student sees
        if t.hidden_from_student:
            t.status, t.score = Status.FAILED, 0.0
    text = visible_text(render_report(r))
    assert "12.18 / 14.5 visible points" in text


def test_check_mode_counts_only_visible_tests(pages):
    text = visible_text(pages[("check_mode", "student")])
    assert "14.5 / 14.5 visible points" in text
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
    assert "first mismatch at [2, 0]" in text
    assert "(8, 5)" in text and "float64" in text
    assert "Only rows 2, 6 differ (2 of 8); the other rows match." in text
    assert "np.add.at" in text  # the grader's hint
    assert "Heatmap of the absolute error of gradOutsideVecs" in page  # alt text of the heatmap
    assert "1 case of this test passed" in text


def test_gradcheck_shows_worst_coordinate(pages):
    text = visible_text(pages[("failing", "student")])
    assert "At centerWordVec[2] your gradient says 0.83121 but changing that entry changes your loss at a rate of -0.8312" in text
    assert "relative error 1.00e+00 > threshold 1.00e-05" in text


def test_speed_chart_is_plain_svg_with_numbers_in_a_table(pages):
    page = pages[("failing", "student")]
    uris = re.findall(r'(?:src|srcset)="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) >= 3  # speed chart (wide + narrow) and the heatmap
    svg = base64.b64decode(uris[0]).decode()
    assert svg.lstrip().startswith("<svg") and "Matplotlib" not in svg  # plain SVG: no 3 s of matplotlib a report
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


def _fix_section(page: str) -> str:
    match = re.search(r'<section id="fix".*?</section>\s*(?=<section id="(?!fix))', page, re.S)
    assert match, "no What to fix section"
    return visible_text(match.group(0))


def test_errored_tests_do_not_get_a_wrong_values_hint():
    r = scenario_failing()
    t = next(t for t in r.tests if t.test_id == "negSamplingLossAndGradient.correctness.repeats")
    t.status, t.score = Status.ERROR, 0.0
    t.hint = "Repeated negative samples must each add to the gradient; use np.add.at."
    t.events = [SandboxEvent("crash", "Your code raised IndexError: list index out of range",
                             'Traceback (your code only):\n  File "word2vec.py", line 103, in neg\nIndexError: x',
                             "negSamplingLossAndGradient")]
    for c in t.cases:
        c.notes = [t.events[0].detail]
    fix = _fix_section(render_report(r))
    card = fix[fix.index("3.3 negative sampling"):]
    assert "What this usually means: Your function could not be run for this test" in card
    assert "What this test checks once it runs: Repeated negative samples must each add" in card
    assert card.count("IndexError: x") == 1  # the traceback once per test, not once more per case


def test_tests_that_could_not_run_for_one_reason_are_grouped(pages):
    page = pages[("crash", "student")]
    fix = _fix_section(page)
    assert fix.count("4 tests could not run") == 2  # skip-gram's informational test is not a failure
    assert "skipgram raised IndexError." in fix and "sgd did not return within 20 s." in fix
    assert fix.count('File "/tmp/sub/word2vec.py", line 201') == 1  # the traceback once for the whole group
    assert "Sum the loss and both gradients" not in fix  # no wrong-values hint for code that never ran
    assert "What to fix (8)" in visible_text(page)
    rows = re.findall(r'<tr data-test-id="skipgram\.[^"]+" data-status="error">.*?</tr>', page, re.S)
    assert rows and all('href="#blocked-' in row for row in rows)  # the table links to the group card


def test_blocked_tests_in_markdown_and_informational_tests_do_not_set_function_status():
    md = render_markdown_summary(scenario_crash())
    assert "**4 tests could not run** (4.1, 4.2, 4.4, 4.5; 0 / 2.5 points): skipgram raised IndexError." in md
    r = scenario_all_passed()
    t = next(t for t in r.tests if t.test_id == "sgd.integration")  # 0 points, informational
    t.status, t.summary = Status.ERROR, "sgd training crashed."
    md = render_markdown_summary(r)
    assert "| sgd | 3.5 / 3.5 (+0.5 pending) | ✓ passed |" in md


def test_an_event_reported_twice_is_shown_once():
    r = scenario_all_passed()
    problem = SandboxEvent("syntax_error", "word2vec.py has a syntax error on line 96: '(' was never closed.",
                           "Line 96: loss = -np.log(sigmoid(z)")
    r.submission.problems = [problem]
    r.events = [problem]  # the pipeline records discovery problems in both places
    text = visible_text(render_report(r))
    assert text.count("'(' was never closed") == 1
    assert "× 2" not in text


def test_sandbox_paths_and_stderr_are_explained():
    r = scenario_failing()
    t = next(t for t in r.tests if t.test_id == "skipgram.correctness.starter")
    t.status, t.score = Status.ERROR, 0.0
    t.events = [SandboxEvent("timeout", "Time limit exceeded while running skipgram.starter.0.",
                             "/tmp/w2v-run-ty076rmc/student/word2vec.py:21: RuntimeWarning: overflow\n  s = 1",
                             "skipgram")]
    page = render_report(r)
    assert "w2v-run-" not in page and "word2vec.py:21: RuntimeWarning" in page
    assert "The last lines your code wrote to stderr before it stopped" in visible_text(page)


def test_hidden_call_ids_are_not_quoted_to_students():
    r = scenario_failing()
    hidden = next(t for t in r.tests if t.hidden_from_student and t.function == "skipgram")
    hidden.cases[0].case_id = "skipgram.repeats.0"
    quoted = ("Not run: an earlier call of skipgram already failed this way (Time limit exceeded while running "
              "skipgram.repeats.0: the call did not return in time).")
    visible = next(t for t in r.tests if t.test_id == "skipgram.correctness.starter")
    visible.status, visible.score, visible.summary = Status.ERROR, 0.0, "0 of 1 case(s) passed. First failure: " + quoted
    visible.cases = [CaseResult("skipgram.starter.0", "dummy setup", passed=False, message=quoted)]
    visible.events = [SandboxEvent("timeout", quoted, "", "skipgram")]
    student = render_report(r)
    assert "skipgram.repeats.0" not in student and "skipgram.repeats.0" not in render_markdown_summary(r)
    assert "while running a call of a hidden test" in visible_text(student)
    assert "skipgram.repeats.0" in render_report(r, audience="instructor")


def test_gradcheck_verdict_is_in_words(pages):
    text = visible_text(pages[("failing", "student")])
    assert "✗ above the threshold" in text and "✓ within the threshold" in text


def test_reproducer_prints_the_failing_output():
    assert with_print("x = 1\nloss, g, gradOutsideVecs = f(x)", "gradOutsideVecs").endswith(
        "print(gradOutsideVecs)  # compare with the expected values below")
    assert with_print("loss = f(x)\nprint(loss)", "loss") == "loss = f(x)\nprint(loss)"
    assert with_print("loss, g = f(x)", "other") == "loss, g = f(x)"
    assert with_print("f(x) == 1", "x") == "f(x) == 1"


# -- speed wording -------------------------------------------------------------------------------------


def _speed_result(verdict: SpeedVerdict, events=()) -> GradeResult:
    r = scenario_all_passed()
    t = next(t for t in r.tests if t.test_id == f"{verdict.function}.speed")
    t.speed, t.events = verdict, list(events)
    if verdict.verdict != "fast":
        t.status, t.score, t.summary = Status.FAILED, 0.0, verdict.explanation
    return r


def test_growth_text_never_contradicts_the_graders_loop_verdict():
    m = [SpeedMeasurement("naiveSoftmaxLossAndGradient", "V=2,000, d=50", 1.5e-4, 4e-4, 0.36, 2),
         SpeedMeasurement("naiveSoftmaxLossAndGradient", "V=8,000, d=50", 3.3e-3, 1.9e-3, 1.8, 2)]
    fast = SpeedVerdict("naiveSoftmaxLossAndGradient", m, 0.94, 22.5, 4.7, False, "fast",
                        "Your function takes 0.9× the reference's CPU time. Going from V to 4V multiplies your time "
                        "by 22.5 (reference: 4.7). That is vectorised well enough.")
    text = visible_text(render_report(_speed_result(fast)))
    assert "scales worse" not in text and "look for work done once per word" not in text
    assert "which is not the pattern of a Python loop over the vocabulary" in text
    assert text.count("multiplies your time by 22.5") == 0 and text.count("your time grew 22.5×") == 1
    looping = SpeedVerdict("naiveSoftmaxLossAndGradient", m, 7.0, 22.5, 4.7, True, "slow", "7.0× the reference.")
    assert "usually means a Python loop over the vocabulary" in visible_text(render_report(_speed_result(looping)))
    sig = SpeedVerdict("sigmoid", [SpeedMeasurement("sigmoid", "n=1,000,000", 0.01, 0.02, 0.5, 3)], 0.5, 4.0, 4.9,
                       False, "fast", "ok")
    text = visible_text(render_report(_speed_result(sig)))
    assert "When the input grew 4×, your time grew 4.0×" in text
    assert "When the vocabulary grew 4×, your time grew 4.0×" not in text


def test_speed_stopped_early_is_shown_and_not_called_a_crash():
    stopped = SpeedVerdict("naiveSoftmaxLossAndGradient", [], 15.0, None, None, True, "too_slow",
                           "Your function needed more than 15× the reference's CPU time, so the timing was stopped "
                           "early.")
    kill = SandboxEvent("crash", "Not run: an earlier call of naiveSoftmaxLossAndGradient already failed this way "
                        "(The Python process crashed while running speed.naiveSoftmaxLossAndGradient.base "
                        "(signal 9).)", "", "naiveSoftmaxLossAndGradient")
    page = render_report(_speed_result(stopped, [kill]))
    text = visible_text(page)
    assert "ratio more than 15×" in text and "Timing stopped early" in text
    assert "Crashed" not in text and "signal 9" not in text
    assert "timing stopped at more than 15×" in page  # the chart keeps a row for it (alt text)
    wrong = SpeedVerdict("negSamplingLossAndGradient", [], float("nan"), None, None, False, "wrong_output",
                         "Not credited: output 1 of the timed call is not the right answer.")
    assert "not credited: a timed call returned a wrong answer" in visible_text(render_report(_speed_result(wrong)))


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
    sneaky = scenario_all_passed()  # everything passes, but discovery flagged tampering constructs
    sneaky.submission.problems = [SandboxEvent("suspicious", "word2vec.py uses constructs a word2vec solution does "
                                               "not need (3 found).", "line 4: imports socket")]
    entries.append(DashboardEntry(sneaky, "sneaky/report.html", "sneaky"))
    page = render_dashboard(entries, title="CS224n — test run")
    flagged = re.search(r'<table id="flagged-table".*?</table>', page, re.S).group(0)
    assert 'href="sneaky/report.html"' in flagged and "suspicious" in flagged
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


def test_dashboard_causes_separate_crashes_from_wrong_values():
    wrong = scenario_failing()  # 3.3 fails on values
    crashed = scenario_failing()
    t = next(t for t in crashed.tests if t.test_id == "negSamplingLossAndGradient.correctness.repeats")
    t.status, t.cases = Status.ERROR, [CaseResult("c", "d", passed=False, message="Your function raised IndexError: "
                                                  "list index out of range")]
    t.events = [SandboxEvent("crash", "Your code raised IndexError: list index out of range", "", t.function)]
    page = render_dashboard([DashboardEntry(wrong, "a/report.html", "alice"),
                             DashboardEntry(crashed, "b/report.html", "bob")])
    rows = re.findall(r"<tr><td class=\"num\" data-label=\"Submissions\">(\d+)</td><td[^>]*>([^<]*)</td>"
                      r"<td[^>]*>(.*?)</td></tr>", page, re.S)
    by_cause = {html.unescape(re.sub(r"<[^>]+>", " ", cause)).split("  ")[0].strip(): (n, test)
                for n, test, cause in rows}
    crash = next(k for k in by_cause if k.startswith("Could not run: crashed (IndexError)"))
    assert by_cause[crash] == ("1", "negative sampling (3.3)")
    assert any(k.startswith("Repeated negative samples must each add") and v[0] == "1" for k, v in by_cause.items())
    speed = next(k for k in by_cause if k.startswith("Slower than expected"))  # not the generic speed hint
    assert by_cause[speed][0] == "2"


def test_dashboard_flag_details_are_cut_at_the_end():
    r = scenario_crash()
    r.events.append(SandboxEvent("timeout", "Time limit exceeded while running " + "x" * 400 + " END", "", None))
    page = render_dashboard([DashboardEntry(r, "r/report.html", "r")])
    flagged = re.search(r'<table id="flagged-table".*?</table>', page, re.S).group(0)
    assert "more characters not shown" not in flagged and "…" in flagged


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


def test_strip_sandbox_paths():
    assert strip_sandbox_paths('File "/tmp/w2v-run-ab_12/student/word2vec.py", line 3') == 'File "word2vec.py", line 3'
    assert strip_sandbox_paths("/tmp/w2v-run-q/student/sgd.py:4: Warn") == "sgd.py:4: Warn"
    assert strip_sandbox_paths("no paths here /tmp/x.py") == "no paths here /tmp/x.py"
    big = "x" * 300_000 + "/w2v-run-a/student/" + " /a" * 100_000  # student output: must stay linear
    assert strip_sandbox_paths(big).startswith("x" * 1000)


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
