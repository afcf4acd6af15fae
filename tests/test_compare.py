"""The value comparison: strict shapes, accepted type quirks, mutation, diagnosis."""

from __future__ import annotations

import numpy as np

from grader.compare import compare_call
from grader.execute import CallOutcome
from grader.rubric import Tolerances

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
