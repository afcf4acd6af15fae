"""Reports and the dashboard opened in headless Chromium (phone and desktop widths).

Screenshots land in ``test-artifacts/screenshots/`` (and the pages in
``test-artifacts/reports/``) so a person can look at what students see.
"""

from __future__ import annotations

import shutil

import pytest
from browser import REPO, SCREENSHOTS, launch_or_skip, open_checked
from report_fixtures.factory import SCENARIOS, XSS_IMG, XSS_SCRIPT

from grader.report import DashboardEntry, render_dashboard, write_report

PAGES = REPO / "test-artifacts" / "reports"

REPORT_SELECTORS = ("h1", "#score-value", "#headline", "#summary table", "#all-tests")
EXTRA_SELECTORS = {
    "all_passed": ("#pending-note", "#pending .test", "#speed figure img", "#gradcheck .gradcheck"),
    "failing": ("#fix article.test", "#fix pre.reproducer", "#fix .values pre.got", "#fix figure img",
                "#speed figure img", "#t-negSamplingLossAndGradient-correctness-repeats"),
    "crash": ("#problems .event", ".event[data-kind=crash] pre", ".event[data-kind=timeout]", "#fix .blocked",
              "#fix .blocked .blocked-tests"),
    "xss": ("#fix .case",),
    "huge_output": ("#problems .event[data-kind=output_truncated] pre",),
    "internal_error": ("#internal-error", "#no-tests"),
    "check_mode": (),
}
DASHBOARD_SELECTORS = ("h1", "#stats", "#scores figure img", "#rates-table", "#causes-table", "#speed figure img",
                       "#flagged-table", "#students-table", "#students-controls")


@pytest.fixture(scope="module")
def browser():
    b = launch_or_skip()
    yield b
    b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Every scenario's student report, the failing one's instructor report, and a dashboard linking them."""
    root = tmp_path_factory.mktemp("site")
    entries = []
    for name, make in SCENARIOS.items():
        result = make()
        write_report(result, root / name / "report.html")
        entries.append(DashboardEntry(result, f"{name}/report.html", name))
    write_report(SCENARIOS["failing"](), root / "failing" / "instructor.html", audience="instructor")
    (root / "index.html").write_text(render_dashboard(entries, title="Fixture class"), encoding="utf-8")
    shutil.rmtree(PAGES, ignore_errors=True)
    shutil.copytree(root, PAGES)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return root


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_student_report_in_browser(browser, site, name, viewport):
    page = open_checked(browser, site / name / "report.html", viewport,
                        selectors=REPORT_SELECTORS + EXTRA_SELECTORS[name], screenshot=f"report-{name}")
    try:
        headings = page.evaluate("Array.from(document.querySelectorAll('h1')).length")
        assert headings == 1
        # every table has header cells; every status badge carries words, not just colour
        assert page.evaluate("Array.from(document.querySelectorAll('table')).every(t => t.querySelector('th'))")
        assert page.evaluate("Array.from(document.querySelectorAll('.badge')).every(b => b.textContent.trim().length > 1)")
    finally:
        page.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_instructor_report_in_browser(browser, site, viewport):
    page = open_checked(browser, site / "failing" / "instructor.html", viewport,
                        selectors=REPORT_SELECTORS + ("#all-tests table", "tr[data-test-id$=edge] .hidden-tag"),
                        screenshot="report-failing-instructor")
    page.close()


def test_payloads_in_submission_output_stay_text(browser, site):
    page = open_checked(browser, site / "xss" / "report.html", "desktop")
    try:
        assert page.evaluate("document.scripts.length") == 1  # ours only
        assert page.evaluate("document.querySelectorAll('img:not([src^=\"data:\"]), b, [onerror]').length") == 0
        text = page.evaluate("document.body.innerText")
        assert XSS_SCRIPT in text and XSS_IMG in text
        page.evaluate("new Promise(r => setTimeout(r, 200))", await_promise=True)
        assert page.dialogs == [] and page.network_requests == []
    finally:
        page.close()


def test_report_prints_cleanly(browser, site):
    page = open_checked(browser, site / "failing" / "report.html", "desktop")
    try:
        page.emulate_media("print")
        assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
        assert page.evaluate("getComputedStyle(document.querySelector('pre')).whiteSpace") == "pre-wrap"
        page.screenshot(SCREENSHOTS / "report-failing-print.png")
        pdf = page.pdf(SCREENSHOTS.parent / "report-failing.pdf")
        assert pdf.read_bytes().startswith(b"%PDF")
        assert page.console_errors == [] and page.network_requests == []
    finally:
        page.close()


def test_report_readable_without_javascript(browser, site):
    page = browser.new_page(375, 800)
    try:
        page.disable_scripts()
        page.goto(site / "failing" / "report.html")
        for selector in ("#score-value", "#fix article.test", "#speed figure img", "#all-tests table"):
            assert page.visibility(selector)["visible"], selector
    finally:
        page.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_dashboard_in_browser(browser, site, viewport):
    page = open_checked(browser, site / "index.html", viewport, selectors=DASHBOARD_SELECTORS,
                        screenshot="dashboard")
    page.close()


def test_dashboard_sorts_and_filters(browser, site):
    page = open_checked(browser, site / "index.html", "desktop")
    try:
        rows = "Array.from(document.querySelectorAll('#students-table tbody tr')).filter(r => !r.hidden)"
        labels = f"{rows}.map(r => r.cells[0].textContent.trim())"
        assert page.evaluate(labels) == sorted(SCENARIOS)  # by name without interaction
        click_score = "document.querySelectorAll('#students-table th button.sort')[1].click()"
        page.evaluate(click_score)
        scores = page.evaluate(f"{rows}.map(r => parseFloat(r.cells[1].dataset.sort))")
        assert scores == sorted(scores)
        assert page.evaluate("document.querySelectorAll('#students-table th')[1].getAttribute('aria-sort')") == "ascending"
        page.evaluate(click_score)
        scores = page.evaluate(f"{rows}.map(r => parseFloat(r.cells[1].dataset.sort))")
        assert scores == sorted(scores, reverse=True)

        page.evaluate("(() => { const s = document.getElementById('filter-text'); s.value = 'huge';"
                      " s.dispatchEvent(new Event('input')); })()")
        assert page.evaluate(labels) == ["huge_output"]
        assert page.evaluate("document.getElementById('filter-count').textContent") == "Showing 1 of 7 submissions"
        page.evaluate("(() => { const s = document.getElementById('filter-text'); s.value = '';"
                      " s.dispatchEvent(new Event('input'));"
                      " const f = document.getElementById('filter-flag'); f.value = '__any';"
                      " f.dispatchEvent(new Event('change')); })()")
        assert sorted(page.evaluate(labels)) == ["crash", "huge_output", "internal_error", "xss"]
        page.screenshot(SCREENSHOTS / "dashboard-filtered-desktop.png", full_page=False)
        # the link goes to the student's report
        href = page.evaluate("document.querySelector('#students-table a').getAttribute('href')")
        assert (site / href).exists()
        assert page.console_errors == []
    finally:
        page.close()


def test_dashboard_without_javascript_shows_every_row(browser, site):
    page = browser.new_page(1280, 900)
    try:
        page.disable_scripts()
        page.goto(site / "index.html")
        assert page.evaluate("document.querySelectorAll('#students-table tbody tr:not([hidden])').length") == len(SCENARIOS)
        assert not page.visibility("#students-controls")["visible"]  # controls need JS: hidden without it
    finally:
        page.close()
