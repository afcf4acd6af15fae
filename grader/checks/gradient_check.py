"""Gradient check: the student's own loss differentiated numerically against their own gradient.

The worker only returns raw numbers (loss at x ± h·e_i and the analytic
gradient at x, with Python's and numpy's RNG restored before each
evaluation); the relative error |num − grad| / max(1, |num|, |grad|) — the
starter's formula — is computed here, in the trusted parent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.results import CaseResult, GradcheckDetail, TestResult
from grader.rubric import Rubric, TestSpec

from .base import Outcomes, PlannedTest, finish, new_result, outcome_events, unfinished_case
from .cases import DUMMY_VECTORS, Case

NEG_SCRIPT = [0, 2, 3, 4, 5, 6, 7, 8]  # 8 distinct negatives (outside word 1 never drawn); repeats are
# graded by negSamplingLossAndGradient.correctness.repeats, so a duplicate bug is not charged twice


def plan(spec: TestSpec, arrays: dict[str, np.ndarray], h: float) -> PlannedTest:
    if spec.function == "skipgram":
        calls = [_wrapper_call(spec, arrays, h)]
    else:
        calls = [_loss_call(spec, arrays, h, wrt) for wrt in (0, 2)]
    return PlannedTest(spec, calls, evaluate, needs_expected=False)


def _loss_call(spec: TestSpec, arrays: dict[str, np.ndarray], h: float, wrt: int) -> dict[str, Any]:
    fn = spec.function
    recipe = f"{DUMMY_VECTORS}\noutsideVectors = dummy\ncenterWordVec = np.random.RandomState(77).randn(3)"
    scope = Case("", "", fn, recipe, [], []).namespace()
    call_id = f"{fn}.gradcheck.{'center' if wrt == 0 else 'outside'}"
    arrays[f"{call_id}:c"] = scope["centerWordVec"]
    arrays[f"{call_id}:U"] = scope["outsideVectors"]
    args: list[Any] = [{"array": f"{call_id}:c"}, 1, {"array": f"{call_id}:U"}]
    call: dict[str, Any] = {"id": call_id, "op": "gradcheck", "module": "word2vec", "function": fn, "wrt": wrt,
                            "output": 1 if wrt == 0 else 2, "h": h, "seed": 31415, "inject": {}}
    if fn == "negSamplingLossAndGradient":
        args.append({"scripted_dataset": NEG_SCRIPT})
        args.append(len(NEG_SCRIPT))
        call["inject"] = {"sigmoid": "support:stable_sigmoid", "getNegativeSamples": "support:get_negative_samples"}
    else:
        args.append(None)
    call["args"] = args
    return call


def _wrapper_call(spec: TestSpec, arrays: dict[str, np.ndarray], h: float) -> dict[str, Any]:
    scope = Case("", "", "skipgram", DUMMY_VECTORS, [], []).namespace()
    call_id = "skipgram.gradcheck.wrapper"
    arrays[f"{call_id}:W"] = scope["dummy"]
    return {"id": call_id, "op": "wrapper_gradcheck", "module": "word2vec", "function": "skipgram",
            "loss": "support:pseudo_loss", "word2ind": {t: i for i, t in enumerate("abcde")},
            "vectors": f"{call_id}:W", "window": 5, "h": h, "seed": 31415, "args": [], "inject": {},
            "batch": 10}  # 10 random windows per evaluation (the starter uses 50): every word still appears


PARAMETER = {"center": "centerWordVec", "outside": "outsideVectors", "wrapper": "wordVectors"}


def evaluate(planned: PlannedTest, outcomes: Outcomes, rubric: Rubric) -> TestResult:
    result = new_result(planned.spec)
    threshold = rubric.tolerances.gradcheck_threshold
    h = rubric.tolerances.gradcheck_step
    cases, events = [], []
    worst: GradcheckDetail | None = None
    for call in planned.calls:
        outcome = outcomes.student.get(call["id"])
        events += outcome_events(outcome)
        parameter = PARAMETER[call["id"].rsplit(".", 1)[1]]
        description = f"gradient with respect to {parameter}"
        failed = unfinished_case(call["id"], description, outcome)
        if failed:
            cases.append(failed)
            continue
        case, detail = _judge(call["id"], description, parameter, outcome.arrays, h, threshold)
        cases.append(case)
        if detail and (worst is None or detail.relative_error > worst.relative_error):
            worst = detail
    result.gradcheck = worst
    return finish(result, cases, events)


def _judge(case_id: str, description: str, parameter: str, arrays: dict[str, np.ndarray], h: float,
           threshold: float) -> tuple[CaseResult, GradcheckDetail | None]:
    plus, minus, grad = arrays.get("plus"), arrays.get("minus"), arrays.get("grad")
    if plus is None or minus is None or grad is None:
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
    shape = grad.shape
    detail = GradcheckDetail(parameter=parameter, worst_index=[int(i) for i in np.unravel_index(index, shape)],
                             analytic=float(analytic[index]), numerical=float(numerical[index]),
                             relative_error=float(rel[index]), threshold=threshold)
    if rel[index] <= threshold:
        return CaseResult(case_id, description, True), detail
    return CaseResult(case_id, description, False,
                      f"Gradient check failed for {parameter} at index {tuple(detail.worst_index)}: your gradient "
                      f"{detail.analytic:.6g}, numerical {detail.numerical:.6g} (relative error "
                      f"{detail.relative_error:.3g} > {threshold:g})."), detail
