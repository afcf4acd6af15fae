"""The grading pipeline: discover → sandbox-run → check → (diagnose) → score → (report elsewhere).

:func:`grade_submission` is the one entry point used by ``grade``, ``check``,
batch mode and Gradescope.  It never raises for anything a submission does;
a grader-side failure is caught and recorded in ``GradeResult.internal_error``.

The stages, in order: :func:`grader.discover.discover` finds and vets the files; the checks
(:mod:`grader.checks`) plan their worker calls, which :func:`grader.sandbox.jobs.run_job` runs on
the student's code in sandboxed workers; expected values come from the reference side
(:mod:`grader.expected`: the reference run through the very same worker and job, cached on
disk); the checks judge each test in this process (gradient checks too: the worker only
evaluates points), each bug is charged once (:mod:`grader.checks.charge_once`), a function that
computes nothing earns no gradient-check, stability or speed credit
(:func:`grader.score.withhold_unimplemented`), and :func:`grader.score.scoresheet` gives the
points.  Speed (:mod:`grader.checks.speed_controller`) is timed on the same student worker once
its correctness calls are done, against a reference worker that warmed up meanwhile.  The
student's worker never sees an expected value.

Over 400 lines on purpose: it is the one entry (:func:`grade_submission`) and the order of the
stages, read top to bottom; each stage's work is in its own package.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import traceback
from pathlib import Path
from typing import Callable, ContextManager, Optional

import numpy as np

from grader import __version__
from grader.checks import charge_once, gradient_check, implemented, sgd_checks, speed, speed_controller, values
from grader.checks.base import Outcomes, PlannedTest, error_result
from grader.checks.cases import CASE_BUILDERS, MODULE_OF
from grader.checks.numpy_compat import environment_mismatch, with_explanation
from grader.course_secrets import derived_seed
from grader.discover import Discovery, DiscoveryError, discover
from grader.expected import kit_store
from grader.expected.outcomes import expected_outcomes, timing_baseline
from grader.results import GradeResult, SandboxEvent, Status, StudentInfo, SubmissionFiles, TestResult
from grader.rubric import Rubric, TestSpec, load_rubric
from grader.sandbox import detect_isolation, integrity
from grader.sandbox.jobs import JobRun, run_job, start_worker
from grader.sandbox.session import WorkerSession
from grader.score import scoresheet, withhold_unimplemented


class GraderEnvironmentError(RuntimeError):
    """The grading environment does not satisfy the rubric's ``[environment]`` (an instructor's problem)."""


def grade_submission(path: Path, rubric: Optional[Rubric] = None, *, mode: str = "grade",
                     student: Optional[StudentInfo] = None, deadline: Optional[float] = None,
                     speed_lock: Optional[ContextManager] = None,
                     on_test: Optional[Callable[[TestResult], None]] = None,
                     shared_reference: bool = False) -> GradeResult:
    """Grade the submission folder or .zip at ``path``.

    ``mode``: "grade" runs every rubric test; "check" only the visible ones.
    ``deadline``: a ``time.monotonic()`` value; work not started by then is skipped
    (tests marked SKIPPED) so callers can always report partial results.
    ``speed_lock``: held while speed is measured so parallel gradings never overlap timings.
    ``on_test``: called with each TestResult as soon as it is final (for partial results on timeout).
    ``shared_reference``: time against this process's shared reference worker and series (batch
    mode: one fresh reference block per function per submission) instead of a fresh one.
    """
    started = time.monotonic()
    rubric = rubric or load_rubric()
    specs = [t for t in rubric.tests if mode == "grade" or t.visibility == "visible"]
    not_run = [t for t in rubric.tests if t not in specs]  # check mode: shown as pending, never run
    mismatch = environment_mismatch(rubric.environment.numpy)
    try:
        if mismatch and mode == "grade":
            raise GraderEnvironmentError(mismatch)
        result = _grade(Path(path), rubric, specs, mode, deadline, speed_lock, on_test, shared_reference)
    except Exception as exc:  # noqa: BLE001 - a grader bug must not lose the submission
        result = _empty_result(Path(path), rubric, specs, mode)
        result.internal_error = (f"grader environment: {exc}" if isinstance(exc, GraderEnvironmentError)
                                 else traceback.format_exc(limit=8))
        for test in result.tests:
            test.status = Status.ERROR
            test.summary = "Not graded: the grader failed internally (not your fault). Staff have the details."
    if mismatch and mode == "check":
        result.submission.notes.append(f"This course grades with numpy {rubric.environment.numpy}; your "
                                       f"environment has numpy {np.__version__}, so results here may differ.")
    for spec in not_run:
        pending = error_result(spec, "Not run by the self-check: this test runs only on the course's grader.", [])
        pending.status = Status.SKIPPED
        result.tests.append(pending)
    total = scoresheet(result.tests, rubric).total
    result.score, result.max_score = total.earned, total.possible
    result.student = student or StudentInfo()
    result.execution_time = round(time.monotonic() - started, 3)
    return result


def _grade(path: Path, rubric: Rubric, specs: list[TestSpec], mode: str, deadline: Optional[float],
           speed_lock: Optional[ContextManager], on_test: Optional[Callable[[TestResult], None]],
           shared_reference: bool) -> GradeResult:
    result = _empty_result(path, rubric, specs, mode)
    result.integrity = integrity(detect_isolation())
    result.numpy_version = np.__version__  # the worker imports this same installation (sandbox/import_path)
    try:
        found = discover(path)
    except DiscoveryError as exc:
        event = SandboxEvent("missing_file", str(exc), "Submit a folder or a .zip containing word2vec.py and sgd.py.")
        result.events.append(event)
        result.tests = [error_result(s, str(exc), [event]) for s in specs]
        return result
    try:
        result.submission = found.files
        result.events.extend(found.files.problems)
        result.tests = _run_tests(found, rubric, specs, deadline, speed_lock, result, on_test, shared_reference)
    finally:
        found.cleanup()
    return result


def _run_tests(found: Discovery, rubric: Rubric, specs: list[TestSpec], deadline: Optional[float],
               speed_lock: Optional[ContextManager], result: GradeResult,
               on_test: Optional[Callable[[TestResult], None]] = None, shared_reference: bool = False
               ) -> list[TestResult]:
    arrays: dict[str, np.ndarray] = {}
    planned: list[PlannedTest] = []
    blocked: dict[str, TestResult] = {}
    digest = _submission_digest(found)
    for spec in specs:
        problem = _unavailable(spec, found)
        if problem:
            blocked[spec.id] = error_result(spec, problem[0], problem[1])
        elif spec.check != "speed":
            planned.append(_plan(spec, arrays, rubric, digest))
    student_files = {name: p for name, p in found.paths.items() if found.reports[name].usable}
    modules = [name.removesuffix(".py") for name in student_files]
    prefixes = sorted({p for r in found.reports.values() for p in r.utils_prefixes})
    job = {"modules": modules, "utils_prefixes": prefixes, "calls": [c for p in planned for c in p.calls]}
    timeable = [s for s in specs if s.check == "speed" and s.id not in blocked]
    timer = _reference_timer(rubric, shared_reference, [s.function for s in timeable]) if timeable else None
    student_run = JobRun()
    extra_sessions: list[WorkerSession] = []
    try:
        if job["calls"]:
            student_run = run_job(student_files, job, arrays, rubric.limits, deadline=deadline, serve=bool(timeable))
        by_id = _judge(planned, blocked, student_run, arrays, rubric, deadline, student_files, prefixes, digest,
                       result)
        _diagnose(planned, by_id, student_run, arrays, rubric, result)
        charged = charge_once.charged_by_correctness(list(by_id.values()))
        speed_specs = _timeable(timeable, student_run, by_id)
        scoresheet(list(by_id.values()), rubric)  # points now: streamed tests are final
        if on_test is not None:
            for spec in specs:
                if spec.id in by_id:
                    on_test(by_id[spec.id])
        if speed_specs and timer is not None:
            sample = _measure_speed([s.function for s in speed_specs], timer, student_run, extra_sessions,
                                    student_files, prefixes, rubric, deadline, speed_lock, shared_reference)
            speed_results = _speed_verdicts(speed_specs, sample, rubric, charged)
            withhold_unimplemented(list(speed_results.values()), _nothing(by_id))
            scoresheet(list(speed_results.values()), rubric)
            by_id.update(speed_results)
            for test in speed_results.values():
                if on_test is not None:
                    on_test(test)
    finally:
        student_run.close_session()
        for session in extra_sessions:
            session.close()
            session.cleanup()
        if timer is not None and not shared_reference:
            timer.close()
    result.isolation_layers = list(student_run.isolation_layers)
    result.events.extend(student_run.events)
    return [by_id[s.id] for s in specs]


def _judge(planned: list[PlannedTest], blocked: dict[str, TestResult], student_run: JobRun,
           arrays: dict[str, np.ndarray], rubric: Rubric, deadline: Optional[float],
           student_files: dict[str, Path], prefixes: list[str], digest: bytes,
           result: GradeResult) -> dict[str, TestResult]:
    """Every non-speed test judged: expected values, checks, the replay of gradient checks, charge-once, and
    no gradient-check or stability credit for a function that computes nothing."""
    expected = expected_outcomes([c for p in planned if p.needs_expected for c in p.calls], arrays, rubric)
    _note_imports(student_run, result)
    outcomes = Outcomes(student_run, expected)
    by_id: dict[str, TestResult] = dict(blocked)
    for plan in planned:
        import_failure = _import_failure(plan, student_run)
        by_id[plan.spec.id] = import_failure or _skipped_or_evaluated(plan, outcomes, rubric, deadline)
    charged = charge_once.charged_by_correctness(list(by_id.values()))
    _replay_gradient_checks(planned, by_id, charged, student_run, arrays, rubric, student_files, prefixes, digest,
                            deadline)
    for test_id, test in by_id.items():
        if test.check == "stability":
            by_id[test_id] = charge_once.forgive_stability(test, charged.get(test.function))
    nothing = implemented.computes_nothing(planned, by_id, student_run)
    for function, reason in nothing.items():
        for test in by_id.values():
            if test.function == function and test.check == "correctness":
                test.computes_nothing = reason
    withhold_unimplemented(list(by_id.values()), nothing)
    return by_id


def _diagnose(planned: list[PlannedTest], by_id: dict[str, TestResult], student_run: JobRun,
              arrays: dict[str, np.ndarray], rubric: Rubric, result: GradeResult) -> None:
    """Stage 4: the likely cause of each failing function (:mod:`grader.diagnose`, from the outputs already held).

    Absent from a self-check kit (its mutants are variants of the solution); a failure here is recorded as a
    note and never affects a verdict.
    """
    if kit_store.manifest() is not None:
        return
    try:
        from grader import diagnose
    except ImportError:
        return
    try:
        diagnose.diagnose({p.spec.id: p.calls for p in planned}, by_id, student_run.outcomes, arrays,
                          rubric.tolerances)
    except Exception:  # noqa: BLE001 - a grader bug in the diagnosis must not cost the grade
        result.events.append(SandboxEvent("note", "The likely-cause diagnosis failed internally (not your fault).",
                                          traceback.format_exc(limit=6)))


def _nothing(by_id: dict[str, TestResult]) -> dict[str, str]:
    """function -> why it computes nothing (as recorded on its correctness tests)."""
    return {t.function: t.computes_nothing for t in by_id.values() if t.computes_nothing}


def _replay_gradient_checks(planned: list[PlannedTest], by_id: dict[str, TestResult],
                            charged: dict[str, charge_once.Charged], student_run: JobRun,
                            arrays: dict[str, np.ndarray], rubric: Rubric, student_files: dict[str, Path],
                            prefixes: list[str], digest: bytes, deadline: Optional[float]) -> None:
    """A gradient check that passed for a function whose values are wrong is replayed in a fresh worker.

    An honest function with a consistent bug (a sign flipped in both loss and gradient) passes
    again; one that fakes its losses from memory of earlier calls does not.
    """
    replays = {}
    for plan in planned:
        test = by_id.get(plan.spec.id)
        fn_charged = charged.get(plan.spec.function)
        if plan.spec.check == "gradcheck" and test is not None and test.status == Status.PASSED \
                and fn_charged is not None and fn_charged.any_failure:
            replays[plan.spec.id] = gradient_check.replay_calls(plan, derived_seed(digest, plan.spec.id, "replay"))
    calls = [c for group in replays.values() for c in group]
    if not calls:
        return
    run = run_job(student_files, {"modules": ["word2vec"], "utils_prefixes": prefixes, "calls": calls}, arrays,
                  rubric.limits, deadline=deadline)
    for test_id, group in replays.items():
        by_id[test_id] = gradient_check.apply_replay(by_id[test_id], group, student_run.outcomes, run.outcomes)


def _timeable(timeable: list[TestSpec], student_run: JobRun, by_id: dict[str, TestResult]) -> list[TestSpec]:
    """The speed tests whose function imported and did not get stuck in the correctness job."""
    speed_specs = []
    for spec in timeable:
        import_failure = _import_failure_for_module("word2vec", student_run, spec)
        stuck = _stuck_event(spec.function, student_run)
        if import_failure is not None:
            by_id[spec.id] = import_failure
        elif stuck is not None:
            by_id[spec.id] = error_result(spec, "Not timed: this function did not finish in the correctness "
                                          f"tests ({stuck.message})", [stuck])
        else:
            speed_specs.append(spec)
    return speed_specs


def _submission_digest(found: Discovery) -> bytes:
    """SHA-256 of the submission's graded files (names and bytes): what seeds its gradient-check points."""
    digest = hashlib.sha256()
    for name, path in sorted(found.paths.items()):
        digest.update(name.encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(Path(path).read_bytes())
    return digest.digest()


def _plan(spec: TestSpec, arrays: dict[str, np.ndarray], rubric: Rubric, digest: bytes) -> PlannedTest:
    if spec.id in CASE_BUILDERS:
        return values.plan(spec, CASE_BUILDERS[spec.id](), arrays)
    if spec.check == "gradcheck":
        return gradient_check.plan(spec, arrays, rubric.tolerances.gradcheck_step, derived_seed(digest, spec.id))
    return sgd_checks.plan(spec, arrays)


def _reference_timer(rubric: Rubric, shared: bool, functions: list[str]) -> speed_controller.ReferenceTimer:
    """The reference side of the speed check, started now and warming up (loop costs, repetition counts) on a
    thread of its own while the student's correctness job runs."""
    files, manifest = timing_baseline()
    if shared and manifest is None:
        timer = speed_controller.shared_reference_timer(files, rubric)
    else:
        timer = speed_controller.ReferenceTimer(files, rubric, scale=manifest.speed_scale if manifest else None)
    timer.start()
    threading.Thread(target=_warm_up, args=(timer, functions), daemon=True, name="w2v-reference-warm-up").start()
    return timer


def _warm_up(timer: speed_controller.ReferenceTimer, functions: list[str]) -> None:
    with contextlib.suppress(Exception), timer.lock:  # a failure here shows again, reported, in measure()
        timer.loop_costs()
        for function in functions:
            timer.prepare(function, timer.functions[function].call)
            timer.calibrate(function)


def _measure_speed(functions: list[str], timer: speed_controller.ReferenceTimer, student_run: JobRun,
                   extra_sessions: list[WorkerSession], student_files: dict[str, Path], prefixes: list[str],
                   rubric: Rubric, deadline: Optional[float], speed_lock: Optional[ContextManager],
                   shared: bool) -> speed_controller.SpeedSample | str:
    """Time ``functions`` (under ``speed_lock``); the traceback text if the grader failed twice."""
    functions = [f for f in speed_controller.SPEED_ORDER if f in functions]

    def student_session() -> WorkerSession:
        if student_run.session is not None and not student_run.session.finished:
            return student_run.session
        if extra_sessions and not extra_sessions[-1].finished:
            return extra_sessions[-1]
        session = start_worker(student_files, {"modules": ["word2vec"], "utils_prefixes": prefixes, "calls": []},
                               {}, rubric.limits, deadline=deadline, serve=True)
        extra_sessions.append(session)
        return session

    failure = ""
    for _attempt in range(2):  # a grader-side failure is retried once, then reported as ours
        try:
            with speed_lock or contextlib.nullcontext():
                return speed_controller.measure(functions, student_session, timer, rubric,
                                                fresh_reference_blocks=1 if shared else None,
                                                verify=timer.scale is None, deadline=deadline)
        except speed_controller.SpeedGraderError as exc:
            failure = str(exc)
            timer.close()  # a fresh reference worker for the retry
    return failure


def _empty_result(path: Path, rubric: Rubric, specs: list[TestSpec], mode: str) -> GradeResult:
    tests = [error_result(s, "Not graded.", []) for s in specs]
    return GradeResult(submission=SubmissionFiles(root=str(path)), tests=tests, score=0.0,
                       max_score=sum(s.points for s in specs), execution_time=0.0, grader_version=__version__,
                       rubric_name=rubric.name, rubric_hash=rubric.source_hash, mode=mode)


def _stuck_event(function: str, run: JobRun) -> Optional[SandboxEvent]:
    """A timeout/kill event of ``function`` in the correctness run (no point timing it again)."""
    for call_id, outcome in run.outcomes.items():
        if call_id.startswith(f"{function}.") and ".integration" not in call_id and outcome.event is not None \
                and outcome.event.kind in {
                "timeout", "exit", "crash", "memory_limit", "cpu_limit", "process_limit"} and not outcome.finished:
            return outcome.event
    return None


def _unavailable(spec: TestSpec, found: Discovery) -> Optional[tuple[str, list[SandboxEvent]]]:
    """Why a test cannot run at all (missing/unusable file or function), with the events to show."""
    needed = {spec.function}
    if spec.id == "skipgram.integration":
        needed |= {"naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient"}
    if spec.id == "sgd.integration":
        needed |= {"skipgram", "negSamplingLossAndGradient"}
    for function in sorted(needed):
        filename = f"{MODULE_OF[function]}.py"
        report = found.reports.get(filename)
        events = [e for e in found.files.problems if filename in e.message or e.function == function]
        if report is None or not report.usable:
            return (f"{filename} could not be graded: {events[0].message if events else 'missing'}", events)
        if function not in report.available_functions:
            return (f"{function} could not be graded: {events[0].message if events else 'missing'}", events)
    return None


def _import_failure(plan: PlannedTest, run: JobRun) -> Optional[TestResult]:
    """The test's own module, or for sgd's integration test also word2vec.py, failed to import."""
    module = plan.calls[0]["module"] if plan.calls else "word2vec"
    modules = [module] + (["word2vec"] if plan.spec.id == "sgd.integration" and module != "word2vec" else [])
    return next(filter(None, (_import_failure_for_module(m, run, plan.spec) for m in modules)), None)


def _import_failure_for_module(module: str, run: JobRun, spec: TestSpec) -> Optional[TestResult]:
    outcome = run.outcomes.get(f"import.{module}")
    if outcome is None or not outcome.raised:
        return None
    exc = outcome.raised
    event = outcome.event or SandboxEvent("import_error", f"Importing {module}.py failed: {exc.get('type')}: "
                                          f"{exc.get('message')}", exc.get("traceback", ""))
    return error_result(spec, with_explanation(exc.get("type"), f"{module}.py could not be imported: "
                                               f"{exc.get('type')}: {exc.get('message')}"),
                        [event])


def _skipped_or_evaluated(plan: PlannedTest, outcomes: Outcomes, rubric: Rubric,
                          deadline: Optional[float]) -> TestResult:
    if plan.calls and all(c["id"] not in outcomes.student.outcomes for c in plan.calls) and deadline is not None \
            and time.monotonic() > deadline:
        skipped = error_result(plan.spec, "Skipped: the grading time budget ran out before this test ran.", [])
        skipped.status = Status.SKIPPED
        return skipped
    try:
        return plan.evaluate(plan, outcomes, rubric)
    except Exception:  # noqa: BLE001 - a grader bug in one test must not take the others down
        failed = error_result(plan.spec, "Not graded: the grader failed internally on this test (not your fault).",
                              [])
        failed.events.append(SandboxEvent("note", "internal grader error", traceback.format_exc(limit=6)))
        return failed


def _note_imports(run: JobRun, result: GradeResult) -> None:
    for module in ("word2vec", "sgd"):
        outcome = run.outcomes.get(f"import.{module}")
        if outcome and outcome.meta and outcome.meta.get("aliased_imports"):
            names = ", ".join(outcome.meta["aliased_imports"])
            result.submission.notes.append(f"{module}.py imports the support package under a folder prefix ({names}); "
                                           "it was resolved to the provided utils package.")
        if outcome and outcome.raised:
            exc = outcome.raised
            result.events.append(outcome.event or SandboxEvent(
                "import_error", f"{module}.py raised {exc.get('type')} while being imported: {exc.get('message')}",
                exc.get("traceback", "")))


def _speed_verdicts(specs: list[TestSpec], sample: speed_controller.SpeedSample | str, rubric: Rubric,
                    charged: Optional[dict[str, charge_once.Charged]] = None) -> dict[str, TestResult]:
    """One speed TestResult per spec from a measurement (or the grader's failure text)."""
    out = {}
    if isinstance(sample, str):
        for spec in specs:
            out[spec.id] = error_result(spec, "Not timed: the grader failed internally while measuring speed "
                                        "(not your fault). Staff have the details.", [])
            out[spec.id].events.append(SandboxEvent("note", "internal grader error", sample))
        return out
    in_kit = kit_store.manifest() is not None
    for spec in specs:
        verdict = speed.verdict(spec.function, sample, rubric, (charged or {}).get(spec.function))
        if in_kit and verdict.verdict != "not_measured":
            verdict.explanation += (" (Estimated by the self-check kit from a calibration workload timed on your "
                                    "machine; the course's grader times the reference itself.)")
        events = [e for e in sample.events if e.function == spec.function or spec.function in e.message]
        out[spec.id] = speed.evaluate(spec, verdict, events, rubric)
    return out
