"""Gradient check: the student's own loss differentiated numerically, *by the parent*, against their own gradient.

The worker never runs a gradient check.  It only evaluates the student's function at points the
parent made -- ordinary calls, like every correctness call: the base point x0 and x0 ± h·e_i for
every coordinate i (the starter's h, central differences, Python's and numpy's RNG re-seeded
before every evaluation).  The parent computes the numerical gradient from those losses and the
starter's relative error |num − grad| / max(1, |num|, |grad|).

The base point is drawn from the course secret and the submission's digest
(:func:`grader.course_secrets.derived_seed`): the same for every regrade of the same files, unknown to
the student in advance, so a function cannot recognise "the gradient-check inputs" and answer
them differently.  A function that answers them differently *because it remembers earlier calls*
(faking losses that agree with its own gradient) is caught by the **replay**: some of the points
are evaluated again in a fresh worker, alone, and must give the same losses (:func:`replay_calls`,
:func:`apply_replay`).

skip-gram is checked through the starter's SGD wrapper, re-done here: the parent draws the
wrapper's batch of random windows (the starter's dummy contexts), evaluates ``skipgram`` on each
window at each point and averages, exactly as ``word2vec_sgd_wrapper`` would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from grader.results import CaseResult, GradcheckDetail, TestResult
from grader.rubric import Rubric, TestSpec
from grader.sandbox.jobs import CallOutcome

from .base import Outcomes, PlannedTest, finish, new_result, outcome_events, unfinished_case

NEG_SCRIPT = [0, 2, 3, 4, 5, 6, 7, 8]  # 8 distinct negatives (outside word 1 never drawn); repeats are
# graded by negSamplingLossAndGradient.correctness.repeats, so a duplicate bug is not charged twice
OUTSIDE_WORD = 1
WRAPPER_TOKENS = ("a", "b", "c", "d", "e")
WRAPPER_WINDOW = 5
WRAPPER_BATCH = 10  # random windows per evaluation (the starter uses 50): every word still appears
EVALUATION_SEED = 31415
REPLAY_POINTS = 6
REPLAY_RTOL = 1e-9
PARAMETER = {"center": "centerWordVec", "outside": "outsideVectors", "wrapper": "wordVectors"}


@dataclass
class Point:
    """One evaluation point: which parameter moved, at which flat index, in which direction (0: the base)."""

    parameter: str
    index: int
    sign: int


def plan(spec: TestSpec, arrays: dict[str, np.ndarray], h: float, seed: int) -> PlannedTest:
    """The calls of one gradient-check test, at a base point drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    if spec.function == "skipgram":
        return _plan_wrapper(spec, arrays, h, rng)
    return _plan_loss(spec, arrays, h, rng)


def _normalized_rows(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    m = rng.standard_normal(shape)
    return m / np.sqrt((m ** 2).sum(axis=1, keepdims=True))


def _plan_loss(spec: TestSpec, arrays: dict[str, np.ndarray], h: float, rng: np.random.Generator) -> PlannedTest:
    fn = spec.function
    center, outside = rng.standard_normal(3), _normalized_rows(rng, (10, 3))  # the starter: 10 dummy vectors
    prefix = f"{fn}.gradcheck"
    arrays[f"{prefix}:c"], arrays[f"{prefix}:U"] = center, outside
    calls, points = [], {}

    def add(name: str, c_key: str, u_key: str, point: Point) -> None:
        args: list[Any] = [{"array": c_key}, OUTSIDE_WORD, {"array": u_key}]
        call: dict[str, Any] = {"id": f"{prefix}.{name}", "op": "call", "module": "word2vec", "function": fn,
                                "seed": EVALUATION_SEED, "inject": {}}
        if fn == "negSamplingLossAndGradient":
            args += [{"scripted_dataset": NEG_SCRIPT}, len(NEG_SCRIPT)]
            call["inject"] = {"sigmoid": "support:stable_sigmoid", "getNegativeSamples": "support:get_negative_samples"}
        else:
            args.append(None)
        call["args"] = args
        calls.append(call)
        points[call["id"]] = point

    add("base", f"{prefix}:c", f"{prefix}:U", Point("base", -1, 0))
    for parameter, base in (("center", center), ("outside", outside)):
        for i in range(base.size):
            for sign in (1, -1):
                moved = base.copy().reshape(-1)
                moved[i] += sign * h
                key = f"{prefix}:{parameter}{i}{'+' if sign > 0 else '-'}"
                arrays[key] = moved.reshape(base.shape)
                c_key = key if parameter == "center" else f"{prefix}:c"
                u_key = key if parameter == "outside" else f"{prefix}:U"
                add(f"{parameter}{i}{'p' if sign > 0 else 'm'}", c_key, u_key, Point(parameter, i, sign))
    return PlannedTest(spec, calls, evaluate, needs_expected=False,
                       data={"points": points, "h": h, "base": {"center": center, "outside": outside}})


def wrapper_windows(seed: int = EVALUATION_SEED, batch: int = WRAPPER_BATCH) -> list[tuple[str, int, list[str]]]:
    """The (center word, window size, context) of each window of one wrapper evaluation: the starter's
    ``word2vec_sgd_wrapper`` on its dummy dataset, after ``random.seed(seed)``."""
    rng = random.Random(seed)
    windows = []
    for _ in range(batch):
        size = rng.randint(1, WRAPPER_WINDOW)
        center = WRAPPER_TOKENS[rng.randint(0, 4)]
        context = [WRAPPER_TOKENS[rng.randint(0, 4)] for _ in range(2 * size)]
        windows.append((center, size, context))
    return windows


def _plan_wrapper(spec: TestSpec, arrays: dict[str, np.ndarray], h: float, rng: np.random.Generator) -> PlannedTest:
    vectors = _normalized_rows(rng, (10, 3))
    prefix = "skipgram.gradcheck"
    word2ind = {t: i for i, t in enumerate(WRAPPER_TOKENS)}
    windows = wrapper_windows()
    calls, points = [], {}

    def put(name: str, w: np.ndarray) -> tuple[str, str]:
        arrays[f"{prefix}:{name}:C"], arrays[f"{prefix}:{name}:O"] = w[:5], w[5:]
        return f"{prefix}:{name}:C", f"{prefix}:{name}:O"

    def add(name: str, keys: tuple[str, str], point: Point) -> None:
        for k, (center, size, context) in enumerate(windows):
            call = {"id": f"{prefix}.{name}.w{k}", "op": "call", "module": "word2vec", "function": "skipgram",
                    "seed": EVALUATION_SEED + k, "inject": {},
                    "args": [center, size, context, {"value": word2ind}, {"array": keys[0]}, {"array": keys[1]},
                             {"dummy_dataset": True}, {"fn": "support:pseudo_loss"}]}
            calls.append(call)
            points[call["id"]] = point

    base_keys = put("base", vectors)
    add("base", base_keys, Point("base", -1, 0))
    for i in range(vectors.size):
        for sign in (1, -1):
            moved = vectors.copy().reshape(-1)
            moved[i] += sign * h
            moved = moved.reshape(vectors.shape)
            name = f"w{i}{'p' if sign > 0 else 'm'}"
            keys = put(name, moved)
            # only the half that moved needs a new array
            if i < 15:
                keys = (keys[0], base_keys[1])
                del arrays[f"{prefix}:{name}:O"]
            else:
                keys = (base_keys[0], keys[1])
                del arrays[f"{prefix}:{name}:C"]
            add(name, keys, Point("wrapper", i, sign))
    return PlannedTest(spec, calls, evaluate, needs_expected=False,
                       data={"points": points, "h": h, "base": {"wrapper": vectors}, "windows": len(windows)})


# --- judging -------------------------------------------------------------------------------------

def evaluate(planned: PlannedTest, outcomes: Outcomes, rubric: Rubric) -> TestResult:
    result = new_result(planned.spec)
    threshold = rubric.tolerances.gradcheck_threshold
    h = planned.data["h"]
    cases, events = [], []
    worst: Optional[GradcheckDetail] = None
    parameters = ["wrapper"] if planned.spec.function == "skipgram" else ["center", "outside"]
    losses, grads, failed = _collect(planned, outcomes, events)
    for parameter in parameters:
        name = PARAMETER[parameter]
        case_id = f"{planned.spec.function}.gradcheck.{parameter}"
        description = f"gradient with respect to {name}"
        if failed is not None:
            cases.append(CaseResult(case_id, description, False, failed.message, notes=failed.notes))
            continue
        size = planned.data["base"][parameter].size
        try:
            plus = np.array([losses[(parameter, i, 1)] for i in range(size)])
            minus = np.array([losses[(parameter, i, -1)] for i in range(size)])
        except KeyError:
            cases.append(CaseResult(case_id, description, False, "Your function did not return a loss at every "
                                    "evaluation point."))
            continue
        grad = grads.get(parameter)
        case, detail = _judge(case_id, description, name, plus, minus, grad, h, threshold)
        cases.append(case)
        if detail and (worst is None or detail.relative_error > worst.relative_error):
            worst = detail
    result.gradcheck = worst
    return finish(result, cases, events)


def _collect(planned: PlannedTest, outcomes: Outcomes, events: list) -> tuple[dict, dict, Optional[CaseResult]]:
    """Losses at every point and the analytic gradient(s) at the base; a failed case if a call failed."""
    points: dict[str, Point] = planned.data["points"]
    losses: dict[tuple[str, int, int], float] = {}
    grads: dict[str, Any] = {}
    sums: dict[tuple[str, int, int], float] = {}
    wrapper_grad: list[np.ndarray] = []
    for call in planned.calls:
        outcome = outcomes.student.get(call["id"])
        events += outcome_events(outcome)
        failed = unfinished_case(call["id"], "", outcome)
        if failed is not None:
            return {}, {}, failed
        point = points[call["id"]]
        loss = _scalar(outcome.arrays.get("r0"))
        if loss is None:
            return {}, {}, CaseResult(call["id"], "", False, "Your function did not return a scalar loss first.")
        key = (point.parameter, point.index, point.sign)
        if planned.spec.function == "skipgram":
            sums[key] = sums.get(key, 0.0) + loss / planned.data["windows"]
            if point.sign == 0:
                gin, gout = outcome.arrays.get("r1"), outcome.arrays.get("r2")
                if gin is None or gout is None or gin.shape != (5, 3) or gout.shape != (5, 3):
                    return {}, {}, CaseResult(call["id"], "", False, "skipgram must return the loss and two (V, d) "
                                              "gradients of the vectors' shapes.")
                wrapper_grad.append(np.concatenate([gin, gout]).astype(np.float64) / planned.data["windows"])
        else:
            losses[key] = loss
            if point.sign == 0:
                grads["center"], grads["outside"] = outcome.arrays.get("r1"), outcome.arrays.get("r2")
    if planned.spec.function == "skipgram":
        for (parameter, index, sign), total in sums.items():
            losses[(parameter, index, sign)] = total
        grads["wrapper"] = np.sum(wrapper_grad, axis=0) if wrapper_grad else None
    return losses, grads, None


def _scalar(value: Optional[np.ndarray]) -> Optional[float]:
    if value is None or value.size != 1 or value.dtype.kind not in "biuf":
        return None
    return float(value.reshape(-1)[0])


def _judge(case_id: str, description: str, parameter: str, plus: np.ndarray, minus: np.ndarray,
           grad: Optional[np.ndarray], h: float, threshold: float) -> tuple[CaseResult, Optional[GradcheckDetail]]:
    if grad is None:
        return CaseResult(case_id, description, False, "Your function did not return a loss and gradient."), None
    if not np.any(plus) and not np.any(minus) and not np.any(grad):
        return CaseResult(case_id, description, False,
                          "Your loss and gradient are identically zero: the gradient check cannot pass an "
                          "unimplemented function (implement the loss first)."), None
    numerical = (plus - minus) / (2 * h)
    if grad.size != numerical.size:
        return CaseResult(case_id, description, False,
                          f"The gradient for {parameter} has shape {tuple(grad.shape)}, but {parameter} has "
                          f"{numerical.size} entries; gradients must have the parameter's shape."), None
    analytic = grad.reshape(-1).astype(np.float64)
    with np.errstate(all="ignore"):
        rel = np.abs(numerical - analytic) / np.maximum(1.0, np.maximum(np.abs(numerical), np.abs(analytic)))
    rel = np.where(np.isfinite(rel), rel, np.inf)
    index = int(np.argmax(rel))
    detail = GradcheckDetail(parameter=parameter, worst_index=[int(i) for i in np.unravel_index(index, grad.shape)],
                             analytic=float(analytic[index]), numerical=float(numerical[index]),
                             relative_error=float(rel[index]), threshold=threshold)
    if rel[index] <= threshold:
        return CaseResult(case_id, description, True), detail
    return CaseResult(case_id, description, False,
                      f"Gradient check failed for {parameter} at index {tuple(detail.worst_index)}: your gradient "
                      f"{detail.analytic:.6g}, numerical {detail.numerical:.6g} (relative error "
                      f"{detail.relative_error:.3g} > {threshold:g})."), detail


# --- replay: the same points, alone, in a fresh worker -------------------------------------------

def replay_calls(planned: PlannedTest, seed: int, per_parameter: int = REPLAY_POINTS) -> list[dict[str, Any]]:
    """Up to ``per_parameter`` perturbed points of each parameter (never both of a ± pair; for skip-gram,
    every window of a point), chosen from ``seed``: a lie must be caught where the verdict is made."""
    points: dict[str, Point] = planned.data["points"]
    by_point: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for call in planned.calls:
        point = points[call["id"]]
        if point.sign != 0:
            by_point.setdefault((point.parameter, point.index), []).append(call)
    rng = random.Random(seed)
    chosen = []
    for parameter in sorted({key[0] for key in by_point}):
        keys = sorted(k for k in by_point if k[0] == parameter)
        for key in rng.sample(keys, min(per_parameter, len(keys))):
            sign = rng.choice((1, -1))
            chosen += [c for c in by_point[key] if points[c["id"]].sign == sign]
    return [{**c, "id": f"{c['id']}.replay"} for c in chosen]


def apply_replay(test: TestResult, replay: list[dict[str, Any]], first: dict[str, CallOutcome],
                 again: dict[str, CallOutcome]) -> TestResult:
    """Fail a passed gradient check whose losses differ when the same points are evaluated alone."""
    if test.status.value != "passed":
        return test
    for call in replay:
        original = first.get(call["id"].removesuffix(".replay"))
        repeated = again.get(call["id"])
        a = _scalar(original.arrays.get("r0")) if original is not None and original.finished else None
        b = _scalar(repeated.arrays.get("r0")) if repeated is not None and repeated.finished else None
        if a is None or b is None:
            continue  # a call that failed in one run is judged by the correctness tests, not here
        if abs(a - b) > REPLAY_RTOL * max(1.0, abs(a), abs(b)):
            message = ("Your loss at the same input differs between calls: evaluated again on its own, one of the "
                       f"gradient check's points gives {b:.12g} instead of {a:.12g}. The function depends on "
                       "earlier calls (state kept between calls), so its gradient check cannot be trusted.")
            for case in test.cases:
                case.passed = False
                case.message = message
            test.hint = ""
            return finish(test, test.cases, test.events)
    return test
