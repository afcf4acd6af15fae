"""The audience policy: what one reader may see of a graded submission, decided once.

Three readers read the grader's output:

* ``kit``: a student before submitting (``w2v-grader check``, the self-check kit; a ``check``
  run grades the visible tests only);
* ``student``: a student after grading (Gradescope's results, ``w2v-grader grade``);
* ``instructor``: course staff (``batch``, ``grade --audience instructor``).

:func:`decide` turns a :class:`~grader.results.GradeResult` into a :class:`Decision`: for every
test whether its details are shown, its status as displayed, its hint and when its results are
released; for every function its points and status; the totals and the one sentence that states
them; and the advice that fits the reader's context (re-run the self-check, resubmit, or the
instructor's wording).  This module is the only place that knows the hidden-test rules and the
hint tables (:mod:`grader.report.hints`, :mod:`grader.checks.hints`).  Every renderer (the
terminal summary, the HTML report, the Markdown summary, the Gradescope ``results.json``, the
class dashboard and the CSV) formats a decision and decides nothing.

Points come from :mod:`grader.score` only: the totals here are tallies of the tests the reader is
shown, and a test's points are its ``score``, set by the score stage.

Rules:

* a test that is not ``visible`` is *pending* for students (``kit`` and ``student``): its name,
  points and a category-level hint only (:func:`grader.report.hints.category_hint`, which depends
  on the function and the kind of check alone), and its points are not in the total shown; the
  instructor sees everything;
* an informational test (0 points) never looks like a failure: its status is ``info`` when it did
  not pass, and it never decides a function's status;
* a function's status is decided by the scored tests the reader sees: ``passed``, ``partial``
  (some points, not all), ``failed``, ``error`` (nothing earned and a test could not run),
  ``skipped`` or ``pending``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from grader.report.hints import category_hint
from grader.report.text import fmt_points, function_label
from grader.results import FUNCTIONS, GradeResult, Status, TestResult
from grader.score import tally

READERS: tuple[str, ...] = ("kit", "student", "instructor")
AUDIENCES: tuple[str, ...] = ("student", "instructor")
"""What a caller asks for; a ``check`` run's ``student`` audience is the ``kit`` reader."""

FAILING_STATUSES = ("failed", "partial", "error")

RELEASE: dict[str, str] = {
    "after_due_date": "results after the deadline",
    "after_published": "results when grades are published",
    "hidden": "results not shown to students",
}
"""When a student sees the results of a test of each visibility (the words used everywhere)."""

ERROR_HINT = ("Your function could not be run for this test: it crashed, timed out, was missing or could not be "
              "imported. The message here or under “Problems found” says which; fix that first, and the other "
              "tests of this function usually recover with it.")


@dataclass(frozen=True)
class Advice:
    """What the reader can do next, in the words of their context."""

    rerun: str
    """How to see the effect of a fix: "run `w2v-grader check` again", "resubmit on Gradescope"."""
    check_one: str = ""
    """How to re-check one function (kit only), with ``{function}`` to fill in."""
    staff: str = ""
    """How a grader-side failure is handled, for this reader."""


ADVICE: dict[str, Advice] = {
    "kit": Advice("run `w2v-grader check` again", "w2v-grader check -q {function}",
                  "This is the grader's fault, not your code's: tell the course staff."),
    "student": Advice("resubmit", "",
                      "This is the grader's fault, not your code's: the course staff have the details; "
                      "you can resubmit or ask on the course forum."),
    "instructor": Advice("regrade the submission once the student has fixed it", "",
                         "A grader-side failure: the traceback is below; regrade once it is fixed."),
}

_CONTEXT_PHRASES: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    "kit": (
        (re.compile(r"\s*\(run collect_submission\.sh\)"), ""),
        (re.compile(r"\bInclude (\S+)\."), r"Put \1 in this folder."),
        (re.compile(r",? (?:fix it )?and resubmit\b"), r" and run `w2v-grader check` again"),
        (re.compile(r"\bresubmit\b"), "run `w2v-grader check` again"),
    ),
    "instructor": (
        (re.compile(r"\s*\(run collect_submission\.sh\)"), ""),
        (re.compile(r",? (?:fix it )?and resubmit\b"), ""),
    ),
}


def in_context(text: str, reader: str) -> str:
    """``text`` (a message written for a student who submits) in the words of ``reader``'s context.

    The discovery and grading stages write their advice for Gradescope ("… and resubmit",
    "run collect_submission.sh"); the kit's student has not submitted anything, and the
    instructor does not resubmit.
    """
    for pattern, replacement in _CONTEXT_PHRASES.get(reader, ()):
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class ShownTest:
    """One test as a reader sees it."""

    test: TestResult
    details: bool
    """Its cases, values, reproducers, gradient check, speed numbers and events are shown."""
    status: str
    """passed | failed | partial | error | skipped | pending | info"""
    informational: bool
    hint: str
    release: str
    """When its results are released ("" when the reader sees them now)."""

    @property
    def failing(self) -> bool:
        return self.status in FAILING_STATUSES

    @property
    def points(self) -> Optional[float]:
        """Its points, or None when the reader does not see them yet."""
        return self.test.score if self.details else None


@dataclass(frozen=True)
class ShownFunction:
    """One graded function: the points the reader sees and its status."""

    name: str
    label: str
    earned: float
    possible: float
    pending: float
    """Points of its tests whose results the reader does not see yet."""
    status: str
    tests: tuple[ShownTest, ...]


@dataclass(frozen=True)
class Totals:
    """The totals as the reader is told them (all tallies of :mod:`grader.score` results)."""

    earned: float
    possible: float
    pending: float
    """Points in tests whose results the reader does not see yet."""
    pending_tests: int
    release: str
    """When those results come ("results when grades are published"); "" without pending tests."""
    hidden_earned: float = 0.0
    """Instructor only: what the tests hidden from students earned."""
    reader: str = "student"

    @property
    def percent(self) -> float:
        return max(0.0, min(100.0, 100.0 * self.earned / self.possible)) if self.possible > 0 else 0.0

    @property
    def sentence(self) -> str:
        """The one way every renderer states the totals.

        "12.75 of 14.5 visible points; 1.5 points in hidden tests, results when grades are published"
        """
        earned, possible = fmt_points(self.earned), fmt_points(self.possible)
        if not self.pending:
            return f"{earned} of {possible} points"
        pending = fmt_points(self.pending)
        word = "point" if pending == "1" else "points"
        if self.reader == "instructor":
            return (f"{earned} of {possible} points, including {fmt_points(self.hidden_earned)} of {pending} {word} "
                    f"in tests hidden from students ({self.release})")
        return f"{earned} of {possible} visible points; {pending} {word} in hidden tests, {self.release}"


@dataclass(frozen=True)
class Decision:
    """Everything a renderer may show one reader about one graded submission."""

    reader: str
    tests: tuple[ShownTest, ...]
    """In rubric (Gradescope number) order."""
    functions: tuple[ShownFunction, ...]
    totals: Totals
    advice: Advice

    def shown(self, test_id: str) -> ShownTest:
        return next(s for s in self.tests if s.test.test_id == test_id)

    @property
    def failing(self) -> tuple[ShownTest, ...]:
        return tuple(s for s in self.tests if s.details and s.failing)

    @property
    def pending(self) -> tuple[ShownTest, ...]:
        return tuple(s for s in self.tests if not s.details)

    def message(self, text: str) -> str:
        """A stage's message in this reader's words (:func:`in_context`)."""
        return in_context(text, self.reader)


def release_words(visibilities: Iterable[str]) -> str:
    """When the results of tests of these visibilities come, in one phrase ("" for none)."""
    releases = sorted({RELEASE.get(v, "results later") for v in visibilities})
    return releases[0] if len(releases) == 1 else ("results later (each test says when)" if releases else "")


def reader_for(result: GradeResult, audience: str) -> str:
    """The reader behind an ``audience``: a ``check`` run's student is the kit's."""
    if audience in READERS and audience != "student":
        return audience
    if audience == "student":
        return "kit" if result.mode == "check" else "student"
    raise ValueError(f"audience must be one of {AUDIENCES + ('kit',)}, not {audience!r}")


def sees_details(test: TestResult, reader: str) -> bool:
    """Whether ``reader`` may see a test's inputs, values and messages now."""
    return reader == "instructor" or not test.hidden_from_student


def number_key(number: str) -> tuple:
    """Sort key of a Gradescope test number ("2.10" after "2.9")."""
    parts = []
    for piece in str(number).split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def test_hint(test: TestResult, reader: str) -> str:
    """The hint a reader gets for one test.

    Pending tests: the category hint (function and kind of check only).  A test that could not run:
    what to do first (:data:`ERROR_HINT`).  A failing test: the hint its check recorded
    (``TestResult.hint``, from :mod:`grader.checks.hints`), or the category's when there is none.
    """
    if not sees_details(test, reader):
        return category_hint(test.function, test.check)
    if test.status == Status.ERROR:
        return ERROR_HINT
    if test.status in (Status.FAILED, Status.PARTIAL):
        return test.hint.strip() or category_hint(test.function, test.check)
    return ""


def what_it_checks(test: TestResult) -> str:
    """For a test that could not run: what it checks once it runs (its check's hint, or the category's)."""
    return test.hint.strip() or category_hint(test.function, test.check)


def _status(test: TestResult, details: bool) -> str:
    if not details:
        return "pending"
    if test.max_score <= 0 and test.status in (Status.FAILED, Status.PARTIAL, Status.ERROR):
        return "info"
    return test.status.value


def _function(name: str, shown: list[ShownTest]) -> ShownFunction:
    seen = [s for s in shown if s.details]
    sums = tally(s.test for s in seen)
    pending = tally(s.test for s in shown if not s.details).possible
    scored = [s.status for s in seen if not s.informational]
    if not seen:
        status = "pending" if shown else "skipped"
    elif not scored:
        status = "passed" if all(s.status in ("passed", "info") for s in seen) else "skipped"
    elif any(k in FAILING_STATUSES for k in scored):
        status = "partial" if sums.earned > 0 else ("error" if "error" in scored else "failed")
    elif all(k == "skipped" for k in scored):
        status = "skipped"
    else:
        status = "passed"
    return ShownFunction(name, function_label(name), sums.earned, sums.possible, pending, status, tuple(shown))


def show(test: TestResult, reader: str) -> ShownTest:
    """One test as ``reader`` sees it."""
    details = sees_details(test, reader)
    return ShownTest(test=test, details=details, status=_status(test, details), informational=test.max_score <= 0,
                     hint=test_hint(test, reader), release="" if details else RELEASE.get(test.visibility, "results later"))


def decide(result: GradeResult, audience: str = "student") -> Decision:
    """What ``audience`` ("student", "instructor", or "kit") sees of ``result``."""
    reader = reader_for(result, audience)
    shown = [show(test, reader) for test in sorted(result.tests, key=lambda t: number_key(t.number))]
    names = list(FUNCTIONS) + sorted({t.function for t in result.tests} - set(FUNCTIONS))
    functions = tuple(_function(name, [s for s in shown if s.test.function == name]) for name in names)
    hidden = [t for t in result.tests if t.hidden_from_student and t.max_score > 0]
    release = release_words(t.visibility for t in hidden)
    if reader == "instructor":
        totals = Totals(result.score, result.max_score, tally(hidden).possible, len(hidden), release,
                        hidden_earned=tally(hidden).earned, reader=reader)
    else:
        seen = tally(s.test for s in shown if s.details)
        totals = Totals(round(seen.earned, 4), round(seen.possible, 4), tally(hidden).possible, len(hidden),
                        release, reader=reader)
    return Decision(reader, tuple(shown), functions, totals, ADVICE[reader])


# -- what scripts are told: one exit-code scheme for grade, check and batch ---------------------------

EXIT_OK = 0
"""grade: graded, every required file usable (whatever the score); check: every visible test passed."""
EXIT_FIX = 1
"""The submission needs fixing: a required file is missing or unreadable (every command; a batch row
says so in grades.csv's ``exit`` column); for ``check`` also any visible test that did not pass."""
EXIT_USAGE = 2
"""A usage error: bad options, a missing path, an invalid rubric."""
EXIT_FAULT = 3
"""The grader failed (not the submission's fault)."""

UNUSABLE_KINDS = frozenset({"missing_file", "syntax_error", "import_error"})
"""Submission problems that leave a required file ungradable as submitted."""


def unusable(result: GradeResult) -> list[str]:
    """Why the submission is unusable as submitted (messages of its file problems), or []."""
    return [e.message for e in result.submission.problems if e.kind in UNUSABLE_KINDS]


def exit_code(result: GradeResult) -> int:
    """The process exit code for a graded ``result`` (see :data:`EXIT_OK` … :data:`EXIT_FAULT`)."""
    if result.internal_error:
        return EXIT_FAULT
    if unusable(result):
        return EXIT_FIX
    if result.mode == "check":
        failing = any(t.status not in (Status.PASSED, Status.SKIPPED) and t.max_score > 0 for t in result.tests)
        problems = any(e.kind != "suspicious" for e in result.events)
        return EXIT_FIX if failing or problems else EXIT_OK
    return EXIT_OK
