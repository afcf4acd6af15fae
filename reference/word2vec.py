#!/usr/bin/env python
"""Instructor reference solution of CS224n a2 word2vec.py (2021/2023 starter API).

Vectorised and numerically stable. The RNG consumption (negative samples via
``getNegativeSamples``, contexts via the wrapper) is identical to the starter,
so seeded runs reproduce the starter's expected numbers.

Run ``python word2vec.py [sigmoid|naiveSoftmaxLossAndGradient|
negSamplingLossAndGradient|skipgram|all]`` next to the ``utils`` package.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Sequence
from types import SimpleNamespace

import numpy as np

# isort: split
from utils.gradcheck import grad_tests_negsamp, grad_tests_softmax, gradcheck_naive
from utils.utils import normalizeRows, softmax

LossAndGradient = Callable[..., "tuple[float, np.ndarray, np.ndarray]"]


def sigmoid(x: float | np.ndarray) -> np.float64 | np.ndarray:
    """Elementwise logistic function of a scalar or an array of any shape.

    Stable for every finite input without floating-point warnings: only
    exp(-|x|) is evaluated. Scalars give a numpy float64 (sigmoid(0) == 0.5).
    """
    z = np.asarray(x, dtype=np.float64)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(z))
        s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return s if s.ndim else s[()]


def naiveSoftmaxLossAndGradient(
    centerWordVec: np.ndarray,
    outsideWordIdx: int,
    outsideVectors: np.ndarray,
    dataset: object,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Naive-softmax loss -log P(o | c) and its gradients.

    centerWordVec v_c: (D,); outsideVectors U^T: (V, D), one word per row.
    Returns (loss, gradCenterVec (D,), gradOutsideVecs (V, D)). Uses a
    log-sum-exp formulation; the inputs are not modified.
    """
    v = np.asarray(centerWordVec, dtype=np.float64)
    U = np.asarray(outsideVectors, dtype=np.float64)
    with np.errstate(under="ignore"):
        scores = U @ v                 # fresh (V,) array
        probs = softmax(scores)        # also shifts scores in place by their max
        loss = np.log(np.sum(np.exp(scores))) - scores[outsideWordIdx]
        delta = probs                  # y_hat - y
        delta[outsideWordIdx] -= 1.0
        gradCenterVec = delta @ U
        gradOutsideVecs = np.outer(delta, v)
    return loss, gradCenterVec, gradOutsideVecs


def getNegativeSamples(outsideWordIdx: int, dataset: object, K: int) -> list[int]:
    """K indices from dataset.sampleTokenIdx(), redrawing any equal to outsideWordIdx."""
    negSampleWordIndices = [None] * K
    for k in range(K):
        newidx = dataset.sampleTokenIdx()
        while newidx == outsideWordIdx:
            newidx = dataset.sampleTokenIdx()
        negSampleWordIndices[k] = newidx
    return negSampleWordIndices


def negSamplingLossAndGradient(
    centerWordVec: np.ndarray,
    outsideWordIdx: int,
    outsideVectors: np.ndarray,
    dataset: object,
    K: int = 10,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Negative-sampling loss -log s(u_o.v) - sum_k log s(-u_k.v) and its gradients.

    Shapes as in naiveSoftmaxLossAndGradient. K negatives are drawn with
    getNegativeSamples (duplicates allowed; each occurrence counts in the
    gradient). Stable via log s(z) = -logaddexp(0, -z); inputs not modified.
    """
    # Do not modify this if you wish to match the autograder.
    negSampleWordIndices = getNegativeSamples(outsideWordIdx, dataset, K)
    indices = [outsideWordIdx] + negSampleWordIndices

    v = np.asarray(centerWordVec, dtype=np.float64)
    idx = np.asarray(indices, dtype=np.intp)
    signs = np.ones(K + 1)
    signs[1:] = -1.0
    rows = np.asarray(outsideVectors, dtype=np.float64)[idx]   # (K+1, D) copy
    z = signs * (rows @ v)
    with np.errstate(under="ignore"):
        loss = np.sum(np.logaddexp(0.0, -z))
        coef = -signs * sigmoid(-z)                # dJ / d(u_i . v)
        gradCenterVec = coef @ rows
        gradOutsideVecs = np.zeros(np.shape(outsideVectors))
        np.add.at(gradOutsideVecs, idx, np.outer(coef, v))
    return loss, gradCenterVec, gradOutsideVecs


def skipgram(
    currentCenterWord: str,
    windowSize: int,
    outsideWords: Sequence[str],
    word2Ind: dict[str, int],
    centerWordVectors: np.ndarray,
    outsideVectors: np.ndarray,
    dataset: object,
    word2vecLossAndGradient: LossAndGradient = naiveSoftmaxLossAndGradient,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Skip-gram loss summed over outsideWords for one center word.

    centerWordVectors and outsideVectors: (V, D). Returns
    (loss, gradCenterVecs (V, D), gradOutsideVectors (V, D)); only the
    center word's row of gradCenterVecs is non-zero.
    """
    loss = 0.0
    gradCenterVecs = np.zeros(np.shape(centerWordVectors))
    gradOutsideVectors = np.zeros(np.shape(outsideVectors))
    centerIdx = word2Ind[currentCenterWord]
    centerVec = centerWordVectors[centerIdx]
    for word in outsideWords:
        wordLoss, gradCenter, gradOutside = word2vecLossAndGradient(
            centerVec, word2Ind[word], outsideVectors, dataset)
        loss += wordLoss
        gradCenterVecs[centerIdx] += gradCenter
        gradOutsideVectors += gradOutside
    return loss, gradCenterVecs, gradOutsideVectors


#############################################
# Testing functions below. DO NOT MODIFY!   #
#############################################

def word2vec_sgd_wrapper(
    word2vecModel: Callable,
    word2Ind: dict[str, int],
    wordVectors: np.ndarray,
    dataset: object,
    windowSize: int,
    word2vecLossAndGradient: LossAndGradient = naiveSoftmaxLossAndGradient,
) -> tuple[float, np.ndarray]:
    """Average loss and (2V, D) gradient over a batch of 50 random contexts.

    Rows [0, N/2) of wordVectors are center vectors, [N/2, N) outside vectors.
    Each example draws a window size in 1..windowSize, then a context.
    """
    batchsize = 50
    loss = 0.0
    grad = np.zeros(wordVectors.shape)
    half = int(wordVectors.shape[0] / 2)
    centerWordVectors = wordVectors[:half, :]
    outsideVectors = wordVectors[half:, :]
    for _ in range(batchsize):
        windowSize1 = random.randint(1, windowSize)
        centerWord, context = dataset.getRandomContext(windowSize1)
        c, gin, gout = word2vecModel(
            centerWord, windowSize1, context, word2Ind, centerWordVectors,
            outsideVectors, dataset, word2vecLossAndGradient)
        loss += c / batchsize
        grad[:half, :] += gin / batchsize
        grad[half:, :] += gout / batchsize
    return loss, grad


def test_sigmoid() -> None:
    """Sanity check of sigmoid on fixed values."""
    print("=== Sanity check for sigmoid ===")
    assert sigmoid(0) == 0.5
    assert np.allclose(sigmoid(np.array([0])), np.array([0.5]))
    assert np.allclose(sigmoid(np.array([1, 2, 3])), np.array([0.73105858, 0.88079708, 0.95257413]))
    print("Tests for sigmoid passed!")


def getDummyObjects() -> tuple[object, np.ndarray, dict[str, int]]:
    """(dataset, dummy_vectors (10, 3), dummy_tokens) over the vocabulary a..e.

    Seeds random with 31415 and numpy with 9265. The dataset samples token
    ids with random.randint(0, 4) and draws a center, then 2C context words.
    """
    words = ["a", "b", "c", "d", "e"]

    def dummySampleTokenIdx() -> int:
        return random.randint(0, 4)

    def getRandomContext(C: int) -> tuple[str, list[str]]:
        center = words[random.randint(0, 4)]
        return center, [words[random.randint(0, 4)] for _ in range(2 * C)]

    dataset = SimpleNamespace(sampleTokenIdx=dummySampleTokenIdx, getRandomContext=getRandomContext)
    random.seed(31415)
    np.random.seed(9265)
    dummy_vectors = normalizeRows(np.random.randn(10, 3))
    dummy_tokens = {w: i for i, w in enumerate(words)}
    return dataset, dummy_vectors, dummy_tokens


def _gradcheck_loss_fn(name: str, lossFn: LossAndGradient) -> None:
    """Gradcheck lossFn w.r.t. the center vector, then w.r.t. the outside vectors."""
    dataset, dummy_vectors, _ = getDummyObjects()
    print(f"==== Gradient check for {name} ====")

    def wrt_center(vec):
        loss, gradCenterVec, _ = lossFn(vec, 1, dummy_vectors, dataset)
        return loss, gradCenterVec

    gradcheck_naive(wrt_center, np.random.randn(3), f"{name} gradCenterVec")
    centerVec = np.random.randn(3)

    def wrt_outside(vec):
        loss, _, gradOutsideVecs = lossFn(centerVec, 1, vec, dataset)
        return loss, gradOutsideVecs

    gradcheck_naive(wrt_outside, dummy_vectors, f"{name} gradOutsideVecs")


def test_naiveSoftmaxLossAndGradient() -> None:
    """Gradient checks of naiveSoftmaxLossAndGradient."""
    _gradcheck_loss_fn("naiveSoftmaxLossAndGradient", naiveSoftmaxLossAndGradient)


def test_negSamplingLossAndGradient() -> None:
    """Gradient checks of negSamplingLossAndGradient."""
    _gradcheck_loss_fn("negSamplingLossAndGradient", negSamplingLossAndGradient)


def test_skipgram() -> None:
    """Gradient checks of skipgram with both losses plus the fixed test cases."""
    dataset, dummy_vectors, dummy_tokens = getDummyObjects()

    print("==== Gradient check for skip-gram with naiveSoftmaxLossAndGradient ====")
    gradcheck_naive(lambda vec: word2vec_sgd_wrapper(
        skipgram, dummy_tokens, vec, dataset, 5, naiveSoftmaxLossAndGradient),
        dummy_vectors, "naiveSoftmaxLossAndGradient Gradient")
    grad_tests_softmax(skipgram, dummy_tokens, dummy_vectors, dataset)

    print("==== Gradient check for skip-gram with negSamplingLossAndGradient ====")
    gradcheck_naive(lambda vec: word2vec_sgd_wrapper(
        skipgram, dummy_tokens, vec, dataset, 5, negSamplingLossAndGradient),
        dummy_vectors, "negSamplingLossAndGradient Gradient")
    grad_tests_negsamp(skipgram, dummy_tokens, dummy_vectors, dataset, negSamplingLossAndGradient)


def test_word2vec() -> None:
    """Run every test in the starter's order."""
    test_sigmoid()
    test_naiveSoftmaxLossAndGradient()
    test_negSamplingLossAndGradient()
    test_skipgram()


TESTS = {
    "sigmoid": test_sigmoid,
    "naiveSoftmaxLossAndGradient": test_naiveSoftmaxLossAndGradient,
    "negSamplingLossAndGradient": test_negSamplingLossAndGradient,
    "skipgram": test_skipgram,
    "all": test_word2vec,
}


def main(argv: Sequence[str] | None = None) -> None:
    """CLI: run the named test (default all); unknown names do nothing."""
    parser = argparse.ArgumentParser(description="Test your implementations.")
    parser.add_argument("function", nargs="?", type=str, default="all",
                        help="Name of the function you would like to test.")
    args = parser.parse_args(argv)
    test = TESTS.get(args.function)
    if test is not None:
        test()


if __name__ == "__main__":
    main()
