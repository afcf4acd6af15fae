"""What Gradescope's ``run_autograder`` does for each submission (``w2v-grader run-autograder``): :func:`run`.

Runs as root inside the Gradescope container (or as any user against a
simulated tree: ``--root DIR`` or ``W2V_AUTOGRADER_ROOT``)::

    ROOT/submission/                 the student's files, any nesting (read by the engine)
    ROOT/submission_metadata.json    who submitted (optional, tolerated missing/malformed)
    ROOT/source/                     the extracted autograder zip (rubric.toml)
    ROOT/results/results.json        written here, always, and only by this process

Steps:

1. load the rubric (``--rubric``, else ``ROOT/source/rubric.toml``, else the
   installed default) and the submission metadata;
2. make ``ROOT/source``, ``ROOT/results``, the metadata file, the
   expected-value cache and the installed reference solution unreadable to
   the sandbox user (:func:`grader.sandbox.ensure_unreadable`, root only) -
   student code runs as that user, started by the engine;
3. run the grading engine (:func:`grader.pipeline.grade_submission`) in a
   child process (:mod:`grader.gradescope.engine`) with ``deadline`` = start + ``[limits] budget_seconds``:
   the engine stops starting work near the deadline and returns partial
   results.  Each test the engine finishes is also streamed to a private
   progress file (its ``on_test`` hook);
4. hard watchdog: if the child is still running ``--grace`` seconds (60)
   after the deadline, it is killed; the tests it had finished keep their
   results and every other test is reported as not graded because time ran
   out (Gradescope's own timeout would give 0 points and no feedback at all).
   The engine child raises its ``oom_score_adj`` to 500 (no privilege
   needed; the student workers it starts inherit it), and this process
   lowers its own to -1000 where it may (``CAP_SYS_RESOURCE``, which Docker
   does not grant by default): when a submission exhausts the container's
   memory, the kernel's OOM killer picks a worker or the engine, never the
   process that writes results.json;
5. turn the result into results.json (:func:`grader.gradescope.results_json.to_results_json`),
   validate it against the schema and write it atomically.  Any failure of
   steps 1-5 still writes a valid results.json
   (:func:`grader.gradescope.results_json.internal_error_results`).

The log on stdout is for instructors (Gradescope keeps it in
``results/stdout``, hidden from students).  Exit status 0 whenever
results.json was written.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from grader.gradescope.engine import DEFAULT_ENGINE, OOM_ENGINE, OOM_PROTECTED, log, run_engine, set_oom_score_adj

ROOT_ENV = "W2V_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
DEFAULT_GRACE = 60.0


@dataclass(frozen=True)
class AutograderOptions:
    """How to run (the ``run-autograder`` command's options)."""

    root: Optional[Path] = None
    """The autograder root (default: ``$W2V_AUTOGRADER_ROOT``, else ``/autograder``)."""
    rubric: Optional[Path] = None
    """The rubric (default: ROOT/source/rubric.toml if present, else the installed default)."""
    budget: Optional[float] = None
    """Grading budget in seconds (default: the rubric's ``[limits] budget_seconds``)."""
    grace: float = DEFAULT_GRACE
    """Seconds after the budget before the engine is killed."""
    output_format: str = "md"
    """Format of the report shown to students (``md`` or ``html``)."""
    engine: str = DEFAULT_ENGINE
    """``module:function`` of the grading engine (tests use stand-ins)."""


def autograder_root(explicit: Optional[Path] = None) -> Path:
    """``explicit``, else ``$W2V_AUTOGRADER_ROOT``, else ``/autograder``."""
    return Path(explicit or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def run(options: AutograderOptions) -> int:
    """Grade and write results.json; 0 if it was written, 1 if even that failed."""
    start = time.monotonic()
    root = autograder_root(options.root)
    results_path = root / "results" / "results.json"
    log(start, f"w2v-grader run-autograder, root {root}, uid {os.geteuid()}")
    if set_oom_score_adj(OOM_PROTECTED):
        log(start, f"oom_score_adj {OOM_PROTECTED}: this process is never chosen by the OOM killer")
    else:
        log(start, f"oom_score_adj unchanged (no CAP_SYS_RESOURCE); the engine and the workers get {OOM_ENGINE}")
    try:
        data = _grade(options, root, start)
    except BaseException as exc:  # noqa: BLE001 - whatever happened, Gradescope needs a results.json
        if isinstance(exc, KeyboardInterrupt):
            log(start, "interrupted")
        from grader.gradescope.results_json import internal_error_results

        log(start, "internal error:\n" + traceback.format_exc())
        data = internal_error_results(f"run-autograder failed: {traceback.format_exc()}",
                                      execution_time=time.monotonic() - start)
    return _write(data, results_path, start)


def _write(data: dict[str, Any], results_path: Path, start: float) -> int:
    from grader.gradescope.results_json import ResultsValidationError, internal_error_results, write_results_json

    try:
        write_results_json(results_path, data)
    except ResultsValidationError as exc:
        log(start, f"generated results are invalid, writing an error result instead: {exc}")
        data = internal_error_results(f"invalid results.json generated: {exc}",
                                      execution_time=time.monotonic() - start)
        try:
            write_results_json(results_path, data)
        except OSError:
            log(start, "cannot write results.json:\n" + traceback.format_exc())
            return 1
    except OSError:  # e.g. the results folder is not writable
        log(start, "cannot write results.json:\n" + traceback.format_exc())
        return 1
    from grader.score import tally

    tests = data.get("tests", [])
    log(start, f"wrote {results_path}: score {data.get('score')} / {tally(tests).possible:g} in {len(tests)} tests")
    return 0


def _grade(options: AutograderOptions, root: Path, start: float) -> dict[str, Any]:
    from grader.gradescope.results_json import internal_error_results, timeout_results, to_results_json
    from grader.results import GradeResult
    from grader.rubric import RubricError, load_rubric

    (root / "results").mkdir(parents=True, exist_ok=True)
    rubric_path = options.rubric
    if rubric_path is None and (root / "source" / "rubric.toml").is_file():
        rubric_path = root / "source" / "rubric.toml"
    try:
        rubric = load_rubric(rubric_path)
    except RubricError as exc:
        log(start, f"rubric error: {exc}")
        return internal_error_results(f"rubric error: {exc}", execution_time=time.monotonic() - start)
    log(start, f"rubric {rubric.name!r} from {rubric.source_path} ({rubric.max_score:g} points, "
                f"{len(rubric.tests)} tests, leaderboard {'on' if rubric.leaderboard else 'off'})")

    student, note = read_metadata(root / "submission_metadata.json")
    log(start, f"submission {student.submission_id or '(no id)'}: {note}")
    protect(root, start)

    budget = float(options.budget if options.budget is not None else rubric.limits.budget_seconds)
    deadline = start + budget
    hard_limit = budget + max(float(options.grace), 0.0)
    log(start, f"budget {budget:g} s (engine deadline), watchdog at {hard_limit:g} s")

    outcome = run_engine(options.engine, root / "submission", rubric_path, student, deadline,
                          start + hard_limit, start)
    elapsed = time.monotonic() - start
    if outcome.get("timeout"):
        finished = _finished_tests(outcome.get("finished", []), rubric)
        log(start, f"engine still running after {elapsed:.1f} s: killed; reporting a timeout "
                    f"({len(finished)} finished tests kept)")
        return timeout_results(rubric, elapsed=elapsed, limit=hard_limit, detail=outcome.get("detail", ""),
                               finished=finished, output_format=options.output_format)
    if "error" in outcome:
        log(start, "engine failed:\n" + outcome["error"])
        return internal_error_results(f"grading engine failed: {outcome['error']}", execution_time=elapsed)
    result = GradeResult.from_dict(outcome["result"])
    if result.internal_error:
        log(start, f"engine reported an internal error: {result.internal_error}")
    skipped = sum(1 for t in result.tests if t.status.value == "skipped")
    log(start, f"graded: {result.score:g} / {result.max_score:g}, {len(result.tests)} tests ({skipped} skipped), "
                f"isolation {', '.join(result.isolation_layers) or 'none'}")
    return to_results_json(result, rubric, output_format=options.output_format)


def _finished_tests(records: list, rubric) -> list:
    """TestResults from the engine's progress records (rubric tests only; unreadable records are skipped)."""
    from grader.results import TestResult, _from_dict

    known = {spec.id for spec in rubric.tests}
    finished = {}
    for record in records:
        try:
            test = _from_dict(TestResult, record)
        except (TypeError, ValueError, KeyError, AttributeError):  # a damaged record costs that test only
            continue
        if isinstance(test, TestResult) and test.test_id in known:
            finished[test.test_id] = test
    return list(finished.values())


def read_metadata(path: Path):
    """``StudentInfo`` from Gradescope's submission_metadata.json, and a note for the log.

    Tolerates a missing, unreadable or malformed file (an empty StudentInfo).
    """
    from grader.results import StudentInfo

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return StudentInfo(), "no submission_metadata.json"
    except (OSError, ValueError) as exc:
        return StudentInfo(), f"unreadable submission_metadata.json ({type(exc).__name__})"
    if not isinstance(data, dict):
        return StudentInfo(), "submission_metadata.json is not an object"
    users = data.get("users")
    users = [u for u in users if isinstance(u, dict)] if isinstance(users, list) else []

    def field(key: str) -> list[str]:
        return [str(u[key]) for u in users if u.get(key) not in (None, "")]

    submission_id = data.get("id")
    info = StudentInfo(submission_id="" if submission_id is None else str(submission_id),
                       names=field("name"), emails=field("email"), student_ids=field("id"))
    return info, f"{len(info.names) or len(users)} user(s)"


def protect(root: Path, start: float) -> None:
    """Make the autograder source, results, metadata, cache and installed reference unreadable to student code.

    The expected-value cache holds the reference's outputs for every test,
    hidden ones included; it is created (mode 0700) if it does not exist yet.
    """
    if os.geteuid() != 0:
        log(start, "not root: cannot hide the autograder files from student code (fine for local runs)")
        return
    from grader.expected.cache import cache_root  # light: no numpy in this process

    cache = cache_root()
    if not cache.exists():
        cache.mkdir(parents=True, exist_ok=True)
        cache.chmod(0o700)
    paths = [root / "source", root / "results", root / "submission_metadata.json", cache]
    reference = _installed_reference()
    if reference is not None:
        paths.append(reference)
    paths = [p for p in paths if p.exists()]
    from grader.sandbox import ensure_unreadable

    changed = ensure_unreadable(paths, recursive=True)
    log(start, f"made unreadable to others: {', '.join(str(p) for p in paths)} ({len(changed)} modes changed)")


def _installed_reference() -> Optional[Path]:
    """The reference package folder if it is installed inside this interpreter's prefix (the autograder venv)."""
    try:
        import reference
    except ImportError:
        return None
    paths = list(getattr(reference, "__path__", []))  # also a namespace package if __init__.py is unreadable
    if not paths:
        return None
    folder = Path(paths[0]).resolve()
    prefix = Path(sys.prefix).resolve()
    return folder if prefix in folder.parents else None
