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
    """Match one function's observed outputs against its catalogue; None when there is nothing to judge.

    Mutants run lazily: a mistake is first checked on the wrong outputs only, and on the others (the ones the
    student gets right) only when it reproduces every wrong one, so a slow probe (sgd's anneal) runs only for
    the mistakes that could still match.
    """
    compared = [g for g in graded if g.student is not None]
    if not any(not g.passed for g in compared):
        return None  # every failing case timed out or crashed the worker: the events explain it
    calls = [g.call for g in compared]
    singles = for_function(function)
    outcomes = MutantOutcomes(function, calls, arrays, use_cache)
    outcomes.register(BASELINE, frozenset())
    names = _names(function, calls)
    try:
        baseline = _agreement(compared, outcomes, BASELINE, names, tol)
        if function != "sgd" and not all(all(row.values()) for g, row in zip(compared, baseline) if g.passed):
            return None  # our correct computation does not reproduce a passing case: never guess
        # (sgd's tests judge properties, several sign-agnostic: a passing sgd case may differ from the baseline)
        wrong = [n for n in names if not all(row[n] for row in baseline)]
        if not wrong:
            return None
        mistakes: dict[str, Mistake] = {}
        explains: dict[str, list[str]] = {}
        full: list[Mistake] = []

        def judge(candidates: list[Mistake]) -> None:
            for m in candidates:
                outcomes.register(m.id, m.flags)
                mistakes[m.id] = m
                explains[m.id] = [n for n in wrong if _agree_all(compared, outcomes, m.id, n, tol)]
                if len(explains[m.id]) == len(wrong) and all(
                        _agree_all(compared, outcomes, m.id, n, tol) for n in names if n not in wrong):
                    full.append(m)

        judge(singles)
        if not full:
            judge(_pairs(function, singles, explains))
    finally:
        outcomes.save()
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


class MutantOutcomes:
    """Each mutant's outcome on each call, computed on first use.

    Only sgd's are cached on disk (one entry per function and calls, holding every outcome computed so far):
    its replays (20,000 iterations for the anneal probe) cost ~0.1 s per mutant and their recordings are
    small, while the value functions' mutants take milliseconds but return (V, d) gradients that would make
    the cache hundreds of megabytes.
    """

    def __init__(self, function: str, calls: list[dict[str, Any]], arrays: dict[str, np.ndarray],
                 use_cache: bool) -> None:
        self.calls = {c["id"]: c for c in calls}
        self.arrays = arrays
        self.flags: dict[str, frozenset[str]] = {}
        self.key = cache.key_for(function, [], calls, arrays) if use_cache and function == "sgd" else ""
        self.known: dict[tuple[str, str], Observed] = (cache.load(self.key) or {}) if self.key else {}
        self.computed = False

    def register(self, label: str, flags: frozenset[str]) -> None:
        self.flags[label] = flags

    def get(self, label: str, call_id: str) -> Observed:
        if (label, call_id) not in self.known:
            self.known[(label, call_id)] = run_mutant(self.calls[call_id], self.arrays, self.flags[label])
            self.computed = True
        return self.known[(label, call_id)]

    def save(self) -> None:
        if self.key and self.computed:
            cache.store(self.key, self.known)


def _names(function: str, calls: list[dict[str, Any]]) -> list[str]:
    names = list(dict.fromkeys(n for c in calls for n in output_names(c)))
    return names + ([INPUTS] if function in VALUE_FUNCTIONS else [])


def _agreement(compared: list[GradedCall], outcomes: MutantOutcomes, label: str, names: list[str],
               tol: Tolerances) -> list[dict[str, bool]]:
    """Per compared call: output name -> the student's output equals this mutant's."""
    return [{name: _agrees(g, outcomes, label, name, tol) for name in names} for g in compared]


def _agree_all(compared: list[GradedCall], outcomes: MutantOutcomes, label: str, name: str,
               tol: Tolerances) -> bool:
    """The student's output ``name`` equals this mutant's on every compared call (stops at the first that differs)."""
    return all(_agrees(g, outcomes, label, name, tol) for g in compared)


def _agrees(g: GradedCall, outcomes: MutantOutcomes, label: str, name: str, tol: Tolerances) -> bool:
    """One output of one call: the student's equals the mutant's (an output this call lacks agrees, unrun)."""
    theirs = g.student
    assert theirs is not None
    if name != INPUTS and name not in output_names(g.call):
        return True
    mine = outcomes.get(label, g.call["id"])
    if name == INPUTS:
        return bool(theirs.raised or mine.raised) or set(theirs.mutated) == set(mine.mutated)
    if theirs.raised or mine.raised:
        return theirs.raised == mine.raised
    single = name in theirs.float32
    rtol, atol = (tol.float32_rtol, tol.float32_atol) if single else (tol.rtol, tol.atol)
    return same_output(theirs.outputs.get(name), mine.outputs.get(name), rtol, atol)


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
