"""sgd: trajectories on grader-made objectives compared with the reference sgd's.

Each test looks at one property so one bug costs points once:
trajectory (the iterates), postprocessing (applied after each update and
its result kept — judged on the student's own records, sign-agnostic),
anneal (|Δx| halves after ANNEAL_EVERY), progress (f once per iteration,
printed losses), saved_params (resume with useSaved), integration (0 pts).
"""

from __future__ import annotations

import re
from typing import Any, Optional

import numpy as np

from grader.results import CaseResult, TestResult
from grader.rubric import Rubric, TestSpec
from grader.worker import support

from .base import Outcomes, PlannedTest, arrays_close, finish, new_result, outcome_events, unfinished_case

ANNEAL_EVERY = 20000


def plan(spec: TestSpec, arrays: dict[str, np.ndarray]) -> PlannedTest:
    variant = spec.id.split(".")[-1]
    calls = _CALLS[variant](arrays)
    return PlannedTest(spec, calls, evaluate, data={"variant": variant})


def _call(call_id: str, variant: str, **fields: Any) -> dict[str, Any]:
    return {"id": call_id, "op": "sgd", "module": "sgd", "function": "sgd", "variant": variant, "args": [],
            "inject": {}, **fields}


def _trajectory_calls(arrays):
    arrays["sgd.trajectory:x0"] = np.random.default_rng(900).standard_normal(7)
    arrays["sgd.trajectory.matrix:x0"] = np.random.default_rng(901).standard_normal((3, 4))
    return [_call("sgd.trajectory", "trajectory", x0="sgd.trajectory:x0", step=0.05, iterations=40, seed=1),
            _call("sgd.trajectory.matrix", "trajectory", x0="sgd.trajectory.matrix:x0", step=0.1, iterations=25,
                  seed=2)]


def _postprocessing_calls(arrays):
    arrays["sgd.postprocessing:x0"] = np.random.default_rng(902).standard_normal((3, 4))
    return [_call("sgd.postprocessing", "postprocessing", x0="sgd.postprocessing:x0", step=0.1, iterations=8,
                  seed=3)]


def _anneal_calls(arrays):
    arrays["sgd.anneal:x0"] = np.zeros(3)
    arrays["sgd.anneal:g"] = np.array([0.6, -0.8, 0.0])
    return [_call("sgd.anneal", "anneal", x0="sgd.anneal:x0", gradient="sgd.anneal:g", step=0.01,
                  iterations=ANNEAL_EVERY + 3)]


def _progress_calls(arrays):
    arrays["sgd.progress:x0"] = np.random.default_rng(903).standard_normal(5)
    return [_call("sgd.progress", "progress", x0="sgd.progress:x0", step=0.05, iterations=30, seed=4,
                  print_every=10)]


def _saved_calls(arrays):
    arrays["sgd.saved_params:x0"] = np.zeros(4)
    arrays["sgd.saved_params:saved"] = np.random.default_rng(904).standard_normal(4)
    return [_call("sgd.saved_params", "saved_params", x0="sgd.saved_params:x0", saved="sgd.saved_params:saved",
                  step=0.1, iterations=15, seed=5)]


def _integration_calls(arrays):
    arrays["sgd.integration:x0"] = (np.random.default_rng(905).random((10, 3)) - 0.5) / 3
    return [_call("sgd.integration", "integration", x0="sgd.integration:x0", step=0.3, iterations=15, seed=31415,
                  needs_word2vec=True)]


_CALLS = {"trajectory": _trajectory_calls, "postprocessing": _postprocessing_calls, "anneal": _anneal_calls,
          "progress": _progress_calls, "saved_params": _saved_calls, "integration": _integration_calls}


def evaluate(planned: PlannedTest, outcomes: Outcomes, rubric: Rubric) -> TestResult:
    result = new_result(planned.spec)
    cases, events = [], []
    judge = _JUDGES[planned.data["variant"]]
    for call in planned.calls:
        got = outcomes.student.get(call["id"])
        events += outcome_events(got)
        description = f"{call['variant']}: {call.get('iterations')} iterations, step {call.get('step')}"
        failed = unfinished_case(call["id"], description, got)
        if failed:
            cases.append(failed)
            continue
        expected = outcomes.expected_for(call["id"])
        case = CaseResult(call["id"], description, passed=False)
        message = judge(call, got.meta or {}, got.arrays, expected.meta or {}, expected.arrays, rubric)
        case.passed = not message
        case.message = message
        cases.append(case)
    return finish(result, cases, events)


def _dedupe(points: np.ndarray) -> np.ndarray:
    """Consecutive identical points collapsed (f evaluated twice per iteration is judged elsewhere)."""
    if len(points) < 2:
        return points
    keep = [0] + [i for i in range(1, len(points)) if not np.array_equal(points[i], points[i - 1])]
    return points[keep]


def _judge_trajectory(call, meta, got, exp_meta, exp, rubric) -> str:
    tol = rubric.tolerances
    points, expected = got.get("points"), exp.get("points")
    if points is None or len(points) == 0:
        return "sgd never called f."
    points = _dedupe(points)
    if points.shape != expected.shape:
        return (f"f was evaluated at {len(points)} distinct points; expected {len(expected)} "
                f"(one per iteration, {call['iterations']} iterations).")
    for t, (p, e) in enumerate(zip(points, expected)):
        if not arrays_close(p, e, tol.rtol, tol.atol):
            return (f"Iterate {t + 1} differs from the reference: expected {np.round(e.reshape(-1)[:4], 6).tolist()}…, "
                    f"got {np.round(p.reshape(-1)[:4], 6).tolist()}…" + _direction_hint(points, expected))
    if not arrays_close(got.get("result"), exp.get("result"), tol.rtol, tol.atol):
        return "The returned x is not the final iterate (return x after the loop)."
    return ""


def _direction_hint(points: np.ndarray, expected: np.ndarray) -> str:
    if len(points) > 1 and len(expected) > 1:
        step_got, step_exp = points[1] - points[0], expected[1] - expected[0]
        if arrays_close(step_got, -step_exp, 1e-6, 1e-12):
            return " — the first update has the opposite sign: sgd must move x against the gradient (descend)."
    return ""


def _judge_postprocessing(call, meta, got, exp_meta, exp, rubric) -> str:
    tol = rubric.tolerances
    calls, iterations = int(meta.get("post_calls", 0)), int(call["iterations"])
    if calls != iterations:
        return f"postprocessing was called {calls} times in {iterations} iterations; it must be called once per iteration."
    points, post_in, post_out = (got.get(k) for k in ("points", "post_in", "post_out"))
    if points is None or post_in is None or post_out is None or len(points) == 0:
        return "sgd never called f and postprocessing."
    points = _dedupe(points)
    for t in range(min(len(points) - 1, len(post_out))):
        if not arrays_close(points[t + 1], post_out[t], tol.rtol, tol.atol):
            return f"After iteration {t + 1}, x is not the value postprocessing returned: use x = postprocessing(x)."
    objective = support.RecordingObjective(points[0].size, seed=int(call["seed"]))
    for t in range(min(len(points), len(post_in))):
        _, grad = objective(points[t])
        moved = np.linalg.norm(post_in[t] - points[t])
        if not np.isclose(moved, call["step"] * np.linalg.norm(grad), rtol=1e-6, atol=1e-12):
            return (f"At iteration {t + 1} postprocessing did not receive the updated x (x − step·grad): apply it "
                    "after the update, not before.")
    return ""


def _judge_anneal(call, meta, got, exp_meta, exp, rubric) -> str:
    steps, expected = got.get("steps"), exp.get("steps")
    if steps is None or expected is None or steps.shape != expected.shape:
        return "sgd did not run the expected number of iterations."
    window = slice(ANNEAL_EVERY - 3, ANNEAL_EVERY + 2)
    if not np.allclose(steps[window], expected[window], rtol=1e-5, atol=1e-12):
        return (f"Step sizes around iteration {ANNEAL_EVERY}: expected {np.round(expected[window], 6).tolist()}, "
                f"got {np.round(steps[window], 6).tolist()} (the step must halve every ANNEAL_EVERY iterations).")
    return ""


def _judge_progress(call, meta, got, exp_meta, exp, rubric) -> str:
    """f once per iteration, and the printed progress matches the losses f returned (sign-agnostic)."""
    calls, iterations = int(meta.get("calls", 0)), int(call["iterations"])
    if calls != iterations:
        return f"f was evaluated {calls} times in {iterations} iterations; evaluate it exactly once per iteration."
    printed = [line.strip() for line in str(meta.get("printed", "")).splitlines() if PROGRESS_LINE.match(line.strip())]
    expected = _expected_progress(got.get("losses"), iterations, int(call.get("print_every", 10)))
    missing = _first_missing(expected, printed)
    if missing is not None:
        exp_line = expected[missing]
        iteration = exp_line.split(":")[0]
        got_line = next((line for line in printed if line.split(":")[0] == iteration), "(nothing)")
        return f"Progress output differs: expected {exp_line!r}, got {got_line!r} (is `loss` assigned?)."
    return ""


PROGRESS_LINE = re.compile(r"^iter \d+: \S+$")
"""The provided progress print (``"iter %d: %f"``); the student's own prints around it are ignored."""


def _first_missing(expected: list[str], printed: list[str]) -> Optional[int]:
    """Index of the first expected progress line not found, in order, among the printed ones (None: all found)."""
    position = 0
    for index, line in enumerate(expected):
        try:
            position = printed.index(line, position) + 1
        except ValueError:
            return index
    return None


def _expected_progress(losses, iterations: int, every: int) -> list[str]:
    """The starter's smoothed progress lines for the losses f actually returned."""
    if losses is None or len(losses) < iterations:
        return ["(f returned no losses)"]
    lines, exploss = [], None
    for it in range(1, iterations + 1):
        if it % every == 0:
            loss = float(losses[it - 1])
            exploss = loss if not exploss else 0.95 * exploss + 0.05 * loss
            lines.append("iter %d: %f" % (it, exploss))  # noqa: UP031 - the starter's exact format
    return lines


def _judge_saved(call, meta, got, exp_meta, exp, rubric) -> str:
    """Resume: start at the saved x, run the remaining iterations, annealed step, restored RNG (sign-agnostic)."""
    points, saved = got.get("points"), exp.get("points")
    remaining = int(call["iterations"]) - 7
    if points is None or len(points) != remaining:
        count = 0 if points is None else len(points)
        return (f"Resuming from the checkpoint of iteration 7 (written by your save_params, or in the starter's "
                f"format if you have none) should run {remaining} more iterations; f was called {count} times.")
    if not arrays_close(points[0], saved[0], rubric.tolerances.rtol, rubric.tolerances.atol):
        return "The first iterate after resuming is not the saved parameters."
    step = float(call["step"]) * 0.5 ** (7 / ANNEAL_EVERY)
    objective = support.RecordingObjective(points[0].size, seed=int(call["seed"]))
    for t in range(len(points) - 1):
        _, grad = objective(points[t])
        moved = np.linalg.norm(points[t + 1] - points[t])
        if not np.isclose(moved, step * np.linalg.norm(grad), rtol=1e-6, atol=1e-12):
            return (f"After resuming, iteration {t + 8} used step {moved / np.linalg.norm(grad):.6g}; expected "
                    f"{step:.6g} (the provided code anneals the step for the 7 iterations already done).")
    if not arrays_close(got.get("draws"), exp.get("draws"), 0, 0):
        return "The saved random state was not restored when resuming."
    return ""


def _judge_integration(call, meta, got, exp_meta, exp, rubric) -> str:
    if not arrays_close(got.get("result"), exp.get("result"), 1e-6, 1e-9):
        return "Training with your sgd and your word2vec functions ended at different word vectors than the reference."
    return ""


_JUDGES = {"trajectory": _judge_trajectory, "postprocessing": _judge_postprocessing, "anneal": _judge_anneal,
           "progress": _judge_progress, "saved_params": _judge_saved, "integration": _judge_integration}
