"""The value comparison: strict shapes, accepted type quirks, mutation, diagnosis."""

from __future__ import annotations

import numpy as np

from grader.checks.compare import compare_call
from grader.rubric import Tolerances
from grader.sandbox.jobs import CallOutcome

NAMES = ("loss", "gradCenterVec", "gradOutsideVecs")


def outcome(values, kinds=None, mutated=()):
    items, arrays = [], {}
    for i, value in enumerate(values):
        key = f"r{i}"
        kind = (kinds or {}).get(i, "ndarray")
        arr = np.asarray(value)
        arrays[key] = arr
        items.append({"key": key, "type": "float" if kind == "python_scalar" else "ndarray", "kind": kind,
                      "dtype": str(arr.dtype), "shape": list(arr.shape)})
    return CallOutcome("c", meta={"status": "ok", "result_kind": "tuple", "items": items, "mutated": list(mutated)},
                       arrays=arrays)


EXPECTED = outcome([np.float64(1.5), np.array([1.0, 2.0, 3.0]), np.arange(12.0).reshape(4, 3)])


def compare(got):
    return compare_call("c", "case", EXPECTED, got, NAMES, Tolerances(), argument_names=["c", "o", "U", "d"])


def test_identical_outputs_pass():
    assert compare(EXPECTED).passed


def test_broadcastable_wrong_shape_never_passes():
    # (1, 3) broadcasts against (3,) and np.allclose would say True; the grader must not.
    got = outcome([1.5, np.array([[1.0, 2.0, 3.0]]), np.arange(12.0).reshape(4, 3)])
    assert np.allclose(got.arrays["r1"], EXPECTED.arrays["r1"])
    result = compare(got)
    assert not result.passed and "shape (1, 3)" in result.message


def test_transposed_gradient_is_named():
    got = outcome([1.5, np.array([1.0, 2.0, 3.0]), np.arange(12.0).reshape(4, 3).T])
    result = compare(got)
    assert not result.passed and "transposed" in result.message


def test_loss_as_size_one_array_is_accepted_with_a_note():
    got = outcome([np.array([1.5]), np.array([1.0, 2.0, 3.0]), np.arange(12.0).reshape(4, 3)])
    result = compare(got)
    assert result.passed and any("array of shape (1,)" in n for n in result.notes)


def test_float32_is_compared_at_float32_precision_and_noted():
    noisy = (np.arange(12.0).reshape(4, 3) * (1 + 3e-6)).astype(np.float32)
    result = compare(outcome([1.5, np.array([1.0, 2.0, 3.0], dtype=np.float32), noisy]))
    assert result.passed and any("float32" in n for n in result.notes)
    # the same relative error in float64 is a failure
    assert not compare(outcome([1.5, np.array([1.0, 2.0, 3.0]), np.arange(12.0).reshape(4, 3) * (1 + 3e-4)])).passed


def test_sign_flip_and_nan_are_diagnosed():
    result = compare(outcome([1.5, -np.array([1.0, 2.0, 3.0]), np.arange(12.0).reshape(4, 3)]))
    assert not result.passed and "sign is flipped" in result.message
    result = compare(outcome([float("nan"), np.array([1.0, 2.0, 3.0]), np.arange(12.0).reshape(4, 3)]))
    assert not result.passed and "nan" in result.message


def test_mutated_input_fails_with_its_name():
    result = compare(outcome([1.5, np.array([1.0, 2.0, 3.0]), np.arange(12.0).reshape(4, 3)], mutated=[2]))
    assert not result.passed and "input U in place" in result.message


def test_first_mismatch_and_error_matrix():
    grad = np.arange(12.0).reshape(4, 3)
    grad[2, 1] += 1.0
    result = compare(outcome([1.5, np.array([1.0, 2.0, 3.0]), grad]))
    assert not result.passed
    assert result.first_mismatch == [2, 1]
    assert result.error_matrix is not None and result.error_matrix[2][1] == 1.0


def test_wrong_structure_is_explained():
    single = CallOutcome("c", meta={"status": "ok", "result_kind": "single", "items": [
        {"key": "r0", "type": "float", "kind": "python_scalar"}], "mutated": []}, arrays={"r0": np.asarray(1.5)})
    result = compare(single)
    assert not result.passed and "Expected a tuple" in result.message


def test_every_wrong_output_and_overflow_are_recorded_first_one_explained():
    got = outcome([np.float64(1.5), -np.array([1.0, 2.0, 3.0]), np.full((4, 3), np.nan)])
    result = compare(got)
    assert not result.passed and result.returned
    assert result.output_name == "gradCenterVec" and "sign is flipped" in result.message
    assert result.wrong_outputs == ["gradCenterVec", "gradOutsideVecs"]
    assert result.overflow, "the nan in the third output counts even though the second output is explained"


# -- charging each bug once (grader/checks/charge_once.py) ---------------------------------------

def _test(check, cases, function="naiveSoftmaxLossAndGradient"):
    from grader.checks.base import finish
    from grader.results import Status, TestResult

    result = TestResult(test_id=f"{function}.{check}", name=check, number="1", function=function, check=check,
                        score=0.0, max_score=1.0, status=Status.FAILED, visibility="visible")
    return finish(result, cases, [])


def test_stability_forgives_only_the_bug_correctness_already_charged():
    from grader.checks.charge_once import charged_by_correctness, forgive_stability
    from grader.score import points

    sign_bug = outcome([np.float64(1.5), -np.array([1.0, 2.0, 3.0]), np.arange(12.0).reshape(4, 3)])
    correctness = _test("correctness", [compare(sign_bug), compare(EXPECTED)])
    charged = charged_by_correctness([correctness])["naiveSoftmaxLossAndGradient"]
    assert charged.wrong_outputs == {"gradCenterVec"}

    same_bug = _test("stability", [compare(sign_bug), compare(EXPECTED)])
    assert points(forgive_stability(same_bug, charged)) == 1.0
    assert any("Not charged here" in n for n in same_bug.cases[0].notes)

    overflow = outcome([np.float64(1.5), -np.array([1.0, 2.0, 3.0]), np.full((4, 3), np.inf)])
    new_output_wrong = outcome([np.float64(9.0), -np.array([1.0, 2.0, 3.0]), np.arange(12.0).reshape(4, 3)])
    for bad in (overflow, new_output_wrong):
        test = _test("stability", [compare(bad)])
        assert points(forgive_stability(test, charged)) == 0.0

    garbage = outcome([np.float64(7.0), np.zeros(3), np.zeros((4, 3))])
    garbage_charged = charged_by_correctness([_test("correctness", [compare(garbage)])])
    assert points(forgive_stability(_test("stability", [compare(garbage)]),
                                    garbage_charged["naiveSoftmaxLossAndGradient"])) == 0.0, "every output wrong"
    assert points(forgive_stability(_test("stability", [compare(sign_bug)]), None)) == 0.0, "nothing charged before"
