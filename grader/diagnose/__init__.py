"""Stage 4 — diagnose: the likely cause of a function's failures, by mutant matching.

Between the checks and the score stage.  When a graded function loses a value test (correctness
or stability of sigmoid, the two losses and skip-gram; sgd's trajectory, postprocessing, anneal,
progress and resume tests), every mutant of that function in the catalogue
(:mod:`.catalogue`, :mod:`.mutants`) runs, in this trusted process, on exactly the inputs of the
function's failing and passing cases (:mod:`.run`; outcomes cached per rubric, :mod:`.cache`).
Each mutant's outputs are compared with the student's outputs — the ones the correctness run
already holds; the student's process is never asked again — output by output at the test's
tolerance.  A mutant that reproduces every output on every case is a match; otherwise each wrong
output may be reproduced by some mistake (a partial match); else "none".  The stage sets
``TestResult.diagnosis`` and never changes a status or a point.  Entry point: :func:`diagnose`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from grader.results import CauseEvidence, Diagnosis, Status, TestResult
from grader.rubric import Tolerances

from . import cache
from .catalogue import Mistake, combination, for_function
from .run import Observed, output_names, run_mutant, same_output, student_observed

VALUE_FUNCTIONS = ("sigmoid", "naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient", "skipgram")
INPUTS = "inputs"
"""The pseudo-output "which array arguments were modified in place"."""
OUTPUT_LABELS = {"points": "the points f was evaluated at", "result": "the x returned",
                 "post_calls": "the number of postprocessing calls", "post_out": "what postprocessing returned",
                 "steps": "the step sizes", "calls": "the number of f evaluations", "printed": "the printed progress",
                 "draws": "the random numbers drawn after resuming", INPUTS: "which inputs were modified in place"}
"""Student-facing words for the outputs that are not return values (sgd's recordings)."""


def label(name: str) -> str:
    """An output as the student reads it: `loss` for a return value, words for a recording."""
    return OUTPUT_LABELS.get(name, f"`{name}`")


BASELINE = "baseline"
"""Label of the mutant with no mistake (what a correct function computes)."""


@dataclass
class GradedCall:
    """One call of a diagnosable test: what was sent, whether its case passed, what the student did."""

    test_id: str
    call: dict[str, Any]
    passed: bool
    student: Optional[Observed]


def diagnosable(test_id: str) -> bool:
    """Tests whose cases are compared: value tests of the word2vec functions and sgd's probes."""
    function = test_id.split(".")[0]
    if function in VALUE_FUNCTIONS:
        return ".correctness." in test_id or test_id.endswith((".correctness", ".stability"))
    return test_id.startswith("sgd.correctness.")


def diagnose(calls_by_test: dict[str, list[dict[str, Any]]], tests: dict[str, TestResult],
             student_outcomes: dict[str, Any], arrays: dict[str, np.ndarray], tol: Tolerances,
             use_cache: bool = True) -> dict[str, Diagnosis]:
    """Diagnose every function that lost a diagnosable test; attach the result to its failing tests.

    ``calls_by_test``: each test's worker calls (as planned); ``tests``: the judged results by id;
    ``student_outcomes``: call id -> the student's CallOutcome (meta + arrays) from the correctness run.
    Returns function -> Diagnosis (functions with nothing to diagnose are absent).
    """
    out: dict[str, Diagnosis] = {}
    functions = sorted({t.function for tid, t in tests.items() if diagnosable(tid)})
    for function in functions:
        ids = [tid for tid, t in tests.items() if t.function == function and diagnosable(tid) and tid in calls_by_test]
        failing = [tid for tid in ids if tests[tid].status != Status.PASSED]
        if not failing:
            continue
        graded = _graded_calls(ids, calls_by_test, tests, student_outcomes)
        result = diagnose_function(function, graded, arrays, tol, use_cache)
        nothing = any(tests[tid].computes_nothing for tid in ids)
        if result is None or (nothing and result.status != "match"):
            continue  # "computes nothing yet" says it all unless a known mistake reproduces every output
        result.tests = ids
        out[function] = result
        for tid in failing:
            tests[tid].diagnosis = result
    return out


def _graded_calls(ids: list[str], calls_by_test: dict[str, list[dict[str, Any]]], tests: dict[str, TestResult],
                  student_outcomes: dict[str, Any]) -> list[GradedCall]:
    graded = []
    for tid in ids:
        # a stability case "not charged again" (charge_once) is marked passed but keeps its wrong outputs
        passed = {c.case_id: c.passed and not c.wrong_outputs and not c.mutated_inputs for c in tests[tid].cases}
        for call in calls_by_test[tid]:
            outcome = student_outcomes.get(call["id"])
            observed = student_observed(call, outcome.meta, outcome.arrays) if outcome is not None else None
            graded.append(GradedCall(tid, call, passed.get(call["id"], tests[tid].status == Status.PASSED), observed))
    return graded


def diagnose_function(function: str, graded: list[GradedCall], arrays: dict[str, np.ndarray], tol: Tolerances,
                      use_cache: bool = True) -> Optional[Diagnosis]:
    """Match one function's observed outputs against its catalogue; None when there is nothing to judge."""
    compared = [g for g in graded if g.student is not None]
    if not any(not g.passed for g in compared):
        return None  # every failing case timed out or crashed the worker: the events explain it
    calls = [g.call for g in compared]
    singles = for_function(function)
    outcomes = _outcomes(function, [frozenset()] + [m.flags for m in singles], [BASELINE] + [m.id for m in singles],
                         calls, arrays, use_cache)
    names = _names(function, calls)
    baseline = _agreement(compared, outcomes, BASELINE, names, tol)
    if function != "sgd" and not all(all(row.values()) for g, row in zip(compared, baseline) if g.passed):
        return None  # our correct computation does not reproduce a passing case: never guess
    # (sgd's tests judge properties, several sign-agnostic: a passing sgd case may differ from the baseline)
    wrong = [n for n in names if not all(row[n] for row in baseline)]
    if not wrong:
        return None
    agreements = {m.id: _explained(compared, outcomes, m.id, names, tol) for m in singles}
    full = [m for m in singles if all(agreements[m.id].values())]
    explains = {m.id: [n for n in wrong if agreements[m.id][n]] for m in singles}
    mistakes: dict[str, Mistake] = {m.id: m for m in singles}
    if not full:
        pairs = _pairs(function, singles, explains)
        if pairs:
            labels = [p.id for p in pairs]
            outcomes.update(_outcomes(function, [p.flags for p in pairs], labels, calls, arrays, use_cache))
            for pair in pairs:
                mistakes[pair.id] = pair
                agreements[pair.id] = _explained(compared, outcomes, pair.id, names, tol)
                explains[pair.id] = [n for n in wrong if agreements[pair.id][n]]
            full = [p for p in pairs if all(agreements[p.id].values())]
    failing_count = sum(not g.passed for g in compared)
    if full:
        best = full[0]
        cause = _evidence(best, [n for n in names if n != INPUTS or INPUTS in wrong], compared, baseline)
        return Diagnosis(function, "match", cause_id=best.id, causes=[cause],
                         alternatives=[m.id for m in full[1:]],
                         summary=_match_summary(best, cause, failing_count))
    causes: dict[str, CauseEvidence] = {}
    unexplained = []
    for name in wrong:
        who = next((mid for mid in mistakes if name in explains.get(mid, [])), None)
        if who is None:
            unexplained.append(name)
            continue
        if who not in causes:
            causes[who] = _evidence(mistakes[who], [], compared, baseline)
        causes[who].outputs.append(name)
        causes[who].output_labels.append(label(name))
    if not causes:
        if all(g.student.raised for g in compared if not g.passed and g.student is not None):
            return None  # it only raised: the traceback is the diagnosis
        return Diagnosis(function, "none", unexplained=wrong, summary=NO_MATCH)
    listed = list(causes.values())
    return Diagnosis(function, "partial", causes=listed, unexplained=unexplained,
                     summary=_partial_summary(listed, unexplained))


NO_MATCH = ("No known mistake in the grader's catalogue reproduces your outputs, so no cause is named; the "
            "messages above show where your values differ.")


def _outcomes(function: str, flag_sets: list[frozenset[str]], labels: list[str], calls: list[dict[str, Any]],
              arrays: dict[str, np.ndarray], use_cache: bool) -> dict[tuple[str, str], Observed]:
    """Each mutant's outcome on each call.  Only sgd's are cached: its replays (20,000 iterations for the anneal
    probe) cost ~0.1 s per mutant and their recordings are small, while the value functions' mutants take
    milliseconds but return (V, d) gradients that would make the cache hundreds of megabytes."""
    use_cache = use_cache and function == "sgd"
    key = cache.key_for(function, flag_sets, calls, arrays) if use_cache else ""
    cached = cache.load(key) if use_cache else None
    if cached is not None and all((label, c["id"]) in cached for label in labels for c in calls):
        return cached
    outcomes = {(label, call["id"]): run_mutant(call, arrays, flags)
                for label, flags in zip(labels, flag_sets) for call in calls}
    if use_cache:
        cache.store(key, outcomes)
    return outcomes


def _names(function: str, calls: list[dict[str, Any]]) -> list[str]:
    names = list(dict.fromkeys(n for c in calls for n in output_names(c)))
    return names + ([INPUTS] if function in VALUE_FUNCTIONS else [])


def _agreement(compared: list[GradedCall], outcomes: dict[tuple[str, str], Observed], label: str,
               names: list[str], tol: Tolerances) -> list[dict[str, bool]]:
    """Per compared call: output name -> the student's output equals this mutant's."""
    return [{name: _agrees(g, outcomes[(label, g.call["id"])], name, tol) for name in names} for g in compared]


def _agrees(g: GradedCall, mine: Observed, name: str, tol: Tolerances) -> bool:
    """One output of one call: the student's equals the mutant's (an output this call lacks agrees)."""
    theirs = g.student
    assert theirs is not None
    if name != INPUTS and name not in output_names(g.call):
        return True
    if name == INPUTS:
        return bool(theirs.raised or mine.raised) or set(theirs.mutated) == set(mine.mutated)
    if theirs.raised or mine.raised:
        return theirs.raised == mine.raised
    single = name in theirs.float32
    rtol, atol = (tol.float32_rtol, tol.float32_atol) if single else (tol.rtol, tol.atol)
    return same_output(theirs.outputs.get(name), mine.outputs.get(name), rtol, atol)


def _explained(compared: list[GradedCall], outcomes: dict[tuple[str, str], Observed], label: str,
               names: list[str], tol: Tolerances) -> dict[str, bool]:
    """Output name -> the student's output equals this mutant's on every compared call (stops at the first
    call that differs, output by output)."""
    out = {}
    for name in names:
        out[name] = all(_agrees(g, outcomes[(label, g.call["id"])], name, tol) for g in compared)
    return out


def _pairs(function: str, singles: list[Mistake], explains: dict[str, list[str]]) -> list[Mistake]:
    """Two mistakes made together, tried when no single one matches.

    Only pairs with a member that already reproduces some wrong output on every case (a sign error and a
    transpose: the sign error alone reproduces gradCenterVec), so an unknown mistake costs no pairs at all.
    """
    known = {m.flags for m in singles}
    useful = {m.id for m in singles if explains.get(m.id)}
    pairs = []
    for i, first in enumerate(singles):
        for second in singles[i + 1:]:
            if not ({first.id, second.id} & useful):
                continue
            pair = combination((first, second))
            if pair.flags not in known:
                pairs.append(pair)
    return pairs


def _evidence(mistake: Mistake, outputs: list[str], compared: list[GradedCall],
              baseline: list[dict[str, bool]]) -> CauseEvidence:
    failing = sum(1 for g in compared if not g.passed)
    return CauseEvidence(mistake.id, mistake.title, mistake.explanation, outputs=list(outputs),
                         output_labels=[label(n) for n in outputs], cases=len(compared), failing_cases=failing)


def _match_summary(mistake: Mistake, cause: CauseEvidence, failing: int) -> str:
    shown = [n for n in cause.outputs if n != INPUTS]
    if mistake.function == "sgd":
        what = "everything the tests record (iterates, step sizes, printed progress, resume)"
    else:
        what = ", ".join(label(n) for n in shown) if shown else "your outputs"
    return (f"Your outputs match a known mistake ({mistake.title}): {what} equal what that mistake computes on "
            f"all {cause.cases} cases where your function ran, the {failing} failing ones included.")


def _partial_summary(causes: list[CauseEvidence], unexplained: list[str]) -> str:
    parts = [f"{', '.join(label(n) for n in c.outputs)} match{'es' if len(c.outputs) == 1 else ''} a known mistake "
             f"({c.title})" for c in causes]
    text = "Part of your outputs match known mistakes: " + "; ".join(parts) + "."
    if unexplained:
        text += f" No known mistake reproduces {', '.join(label(n) for n in unexplained)}."
    return text
