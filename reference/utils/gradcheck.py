"""Gradient checking and fixed test cases from the CS224n a2 starter kit (2021/2023 API).

Behaviour-compatible rewrite: same step, RNG protocol, error formula, messages
and expected numbers as the starter's ``utils/gradcheck.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

H = 1e-4  # finite-difference step of the starter; do not change
TOLERANCE = 1e-5  # relative error above which the check fails

PASS_MESSAGE = (
    "Gradient check passed!. Read the docstring of the `gradcheck_naive`"
    " method in utils.gradcheck.py to understand what the gradient check does."
)

def gradcheck_naive(f: Callable[[np.ndarray], tuple[float, np.ndarray]],
                    x: np.ndarray, gradientText: str) -> None:
    """Compare ``f``'s analytic gradient with central differences at ``x``.

    ``f(x)`` returns ``(loss, grad)`` with ``grad.shape == x.shape``. ``x`` (a
    writable float array) is perturbed in place by +/-1e-4 per element, in
    ``np.nditer`` order, and restored. Python's ``random`` state is saved on
    entry and restored before each perturbed evaluation (numpy's is not), so
    every call sees the same draws. Relative error
    ``|num - grad| / max(1, |num|, |grad|)`` above 1e-5 fails: three lines are
    printed and the check stops. Passing gradcheck does not prove the gradient
    is correct (a zero loss with a zero gradient passes too).
    """
    rndstate = random.getstate()
    random.setstate(rndstate)
    _, grad = f(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        numgrad = _central_difference(f, x, ix, rndstate)
        reldiff = abs(numgrad - grad[ix]) / max(1, abs(numgrad), abs(grad[ix]))
        if reldiff > TOLERANCE:
            print(f"Gradient check failed for {gradientText}.")
            print(f"First gradient error found at index {ix} in the vector of gradients")
            # %-formatting like the starter: it also accepts 1-element arrays
            print("Your gradient: %f \t Numerical gradient: %f" % (grad[ix], numgrad))  # noqa: UP031
            return
        it.iternext()
    print(PASS_MESSAGE)


def _central_difference(f: Callable, x: np.ndarray, ix: tuple, rndstate: object) -> float:
    """(f(x + h e_ix) - f(x - h e_ix)) / 2 / h, restoring x[ix] and the RNG like the starter."""
    x[ix] += H
    random.setstate(rndstate)
    fxh, _ = f(x)
    x[ix] -= 2 * H
    random.setstate(rndstate)
    fxnh, _ = f(x)
    x[ix] += H
    return (fxh - fxnh) / 2 / H


# Each case: (center word, window size, outside words, loss, gradCenterVecs row
# of the center word, full 5x3 gradOutsideVectors).
SOFTMAX_CASES = [
    ("c", 3, ["a", "b", "e", "d", "b", "c"], 11.16610900153398,
     [-1.26947339, -1.36873189, 2.45158957],
     [[-0.41045956, 0.18834851, 1.43272264],
      [0.38202831, -0.17530219, -1.33348241],
      [0.07009355, -0.03216399, -0.24466386],
      [0.09472154, -0.04346509, -0.33062865],
      [-0.13638384, 0.06258276, 0.47605228]]),
    ("b", 3, ["a", "b", "e", "d", "b", "c"], 9.87714910003414,
     [-0.14586705, -1.34158321, -0.29291951],
     [[-0.30342672, 0.19808298, 0.19587419],
      [-0.41359958, 0.27000601, 0.26699522],
      [-0.08192272, 0.05348078, 0.05288442],
      [0.6981188, -0.4557458, -0.45066387],
      [0.10083022, -0.06582396, -0.06508997]]),
    ("a", 3, ["a", "b", "e", "d", "b", "c"], 10.810758628593335,
     [-1.1790274, -1.35861865, 1.53590492],
     [[-7.96035953e-01, -1.79609012e-02, 2.07761330e-01],
      [1.40175316e+00, 3.16276545e-02, -3.65850437e-01],
      [-1.99691259e-01, -4.50561933e-03, 5.21184016e-02],
      [2.02560028e-02, 4.57034715e-04, -5.28671357e-03],
      [-4.26281954e-01, -9.61816867e-03, 1.11257419e-01]]),
]

NEGSAMP_CASES = [
    ("c", 1, ["a", "b"], 16.15119285363322,
     [-4.54650789, -1.85942252, 0.76397441],
     [[-0.69148188, 0.31730185, 2.41364029],
      [-0.22716495, 0.10423969, 0.79292674],
      [-0.45528438, 0.20891737, 1.58918512],
      [-0.31602611, 0.14501561, 1.10309954],
      [-0.80620296, 0.36994417, 2.81407799]]),
    ("c", 2, ["a", "b", "c", "a"], 28.653567707668795,
     [-6.42994865, -2.16396482, -1.89240934],
     [[-0.80413277, 0.36899421, 2.80685192],
      [-0.9277269, 0.42570813, 3.23826131],
      [-0.7511534, 0.34468345, 2.62192569],
      [-0.94807832, 0.43504684, 3.30929863],
      [-1.12868414, 0.51792184, 3.93970919]]),
    ("a", 3, ["a", "b", "e", "d", "b", "c"], 60.648705494891914,
     [-17.89425315, -7.36940626, -1.23364121],
     [[-6.4780819, -0.14616449, 1.69074639],
      [-0.86337952, -0.01948037, 0.22533766],
      [-9.59525734, -0.21649709, 2.5043133],
      [-6.02261515, -0.13588783, 1.57187189],
      [-9.69010072, -0.21863704, 2.52906694]]),
]

_ORDINALS = ["first", "second", "third"]


def _expected_center_grads(center_idx: int, row: list) -> np.ndarray:
    """5x3 gradCenterVecs that is zero except for the center word's row."""
    grads = np.zeros((5, 3))
    grads[center_idx] = row
    return grads


def _run_cases(cases: list, skipgram: Callable, dummy_tokens: dict[str, int],
               dummy_vectors: np.ndarray, dataset: object, *loss_fn: Callable) -> None:
    """Run the three fixed skip-gram cases in order, asserting with np.allclose."""
    for ordinal, (center, window, outside, loss, center_row, outside_grads) in zip(_ORDINALS, cases):
        out_loss, out_center, out_outside = skipgram(
            center, window, outside, dummy_tokens,
            dummy_vectors[:5, :], dummy_vectors[5:, :], dataset, *loss_fn)
        assert np.allclose(out_loss, loss), "Your loss does not match expected loss."
        expected_center = _expected_center_grads(dummy_tokens[center], center_row)
        assert np.allclose(out_center, expected_center), \
            "Your gradCenterVecs do not match expected gradCenterVecs."
        assert np.allclose(out_outside, np.array(outside_grads)), \
            "Your gradOutsideVectors do not match expected gradOutsideVectors."
        print(f"The {ordinal} test passed!")
    print("All 3 tests passed!")


def grad_tests_softmax(skipgram: Callable, dummy_tokens: dict[str, int],
                       dummy_vectors: np.ndarray, dataset: object) -> None:
    """Check skipgram (default naive-softmax loss) on three fixed cases; no RNG use."""
    print("======Skip-Gram with naiveSoftmaxLossAndGradient Test Cases======")
    _run_cases(SOFTMAX_CASES, skipgram, dummy_tokens, dummy_vectors, dataset)


def grad_tests_negsamp(skipgram: Callable, dummy_tokens: dict[str, int],
                       dummy_vectors: np.ndarray, dataset: object,
                       negSamplingLossAndGradient: Callable) -> None:
    """Check skipgram with negative sampling (K=10) on three fixed cases.

    The expected numbers hold only for the Python RNG state that
    ``test_skipgram`` of word2vec.py leaves before this call.
    """
    print("======Skip-Gram with negSamplingLossAndGradient======")
    _run_cases(NEGSAMP_CASES, skipgram, dummy_tokens, dummy_vectors, dataset,
               negSamplingLossAndGradient)
