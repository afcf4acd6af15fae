"""Non-secret support objects used on BOTH sides of the sandbox.

The worker injects these into student code (fake datasets, the provided
``getNegativeSamples``, a pseudo loss for grading ``skipgram`` in isolation,
recording objectives for ``sgd``); the trusted parent uses the very same
definitions to compute expected values with the reference.  Nothing here is
part of the assignment's solution: the pseudo loss is deliberately *not* a
word2vec loss, so shipping this module to students leaks nothing.
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Optional, Sequence

import numpy as np

DUMMY_TOKENS: tuple[str, ...] = ("a", "b", "c", "d", "e")


class ScriptedDataset:
    """A dataset whose ``sampleTokenIdx`` replays a fixed sequence of indices.

    Used to make negative sampling deterministic and independent of how a
    submission consumes the RNG: the K negatives are exactly ``sequence[:K]``
    when the sequence never contains the outside word.
    """

    def __init__(self, sequence: Sequence[int]):
        self._sequence = [int(i) for i in sequence]
        self._position = 0

    def sampleTokenIdx(self) -> int:  # noqa: N802 - starter API name
        value = self._sequence[self._position % len(self._sequence)]
        self._position += 1
        return value

    def getRandomContext(self, C: int = 5):  # noqa: N802,N803 - starter API name
        raise RuntimeError("this grading dataset has no contexts")


class DummyContextDataset:
    """The starter's dummy dataset: 5 tokens, contexts and samples drawn from Python's ``random``."""

    def sampleTokenIdx(self) -> int:  # noqa: N802
        return random.randint(0, 4)

    def getRandomContext(self, C: int = 5):  # noqa: N802,N803
        tokens = DUMMY_TOKENS
        center = tokens[random.randint(0, 4)]
        context = [tokens[random.randint(0, 4)] for _ in range(2 * C)]
        return center, context


def get_negative_samples(outsideWordIdx: int, dataset: Any, K: int) -> list[int]:  # noqa: N803
    """The provided ``getNegativeSamples``: K draws, redrawing any hit on the outside word."""
    samples = [None] * K
    for k in range(K):
        drawn = dataset.sampleTokenIdx()
        while drawn == outsideWordIdx:
            drawn = dataset.sampleTokenIdx()
        samples[k] = drawn
    return samples


def stable_sigmoid(x):
    """A correct sigmoid for injection: ``exp(-logaddexp(0, -x))``, numpy's library routine.

    Within 4e-15 (relative) of ``scipy.special.expit`` on [-700, 700]; no overflow warning for any
    finite x.  It is not written like a student's sigmoid, and it needs no scipy import (0.3 CPU-s
    and ~26 MB in every worker, and ~30 MB less for the kit to install).
    """
    with np.errstate(over="ignore", under="ignore"):
        result = np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=np.float64)))
    return float(result) if np.ndim(result) == 0 and not isinstance(x, np.ndarray) else result


def pseudo_loss(centerWordVec, outsideWordIdx, outsideVectors, dataset=None):  # noqa: N803
    """A smooth loss with an exactly known gradient, used to grade ``skipgram`` alone.

    J = (1 + o/10) * u_o·v_c + 1/4 ||v_c||² + (o+1)/200 ||U||²_F, with U = outsideVectors (V, d).
    Returns (loss, grad wrt v_c (d,), grad wrt U (V, d)).  It is not a word2vec loss.
    """
    v = np.asarray(centerWordVec, dtype=np.float64)
    U = np.asarray(outsideVectors, dtype=np.float64)
    o = int(outsideWordIdx)
    weight = 1.0 + o / 10.0
    ridge = (o + 1) / 200.0
    loss = weight * float(U[o] @ v) + 0.25 * float(v @ v) + ridge * float(np.sum(U * U))
    grad_center = weight * U[o] + 0.5 * v
    grad_outside = 2.0 * ridge * U
    grad_outside[o] += weight * v
    return loss, grad_center, grad_outside


def timing_loss(centerWordVec, outsideWordIdx, outsideVectors, dataset=None):  # noqa: N803
    """The cheapest loss with word2vec's return shapes, used to time ``skipgram`` itself.

    Returns (u_o·v_c, u_o (d,), a (V, d) gradient that is zero except row o): it costs little
    beyond allocating the (V, d) result, so the timing measures what skipgram does around it.
    """
    U = np.asarray(outsideVectors, dtype=np.float64)
    o = int(outsideWordIdx)
    v = np.asarray(centerWordVec, dtype=np.float64)
    grad_outside = np.zeros(U.shape)
    grad_outside[o] = v
    return float(U[o] @ v), U[o].copy(), grad_outside


def shifted_timing_loss(shift: float) -> Callable:
    """:func:`timing_loss` whose outputs move with ``shift``: every timed repetition of skip-gram gets
    answers it has never seen, so an answer cached from an earlier repetition is wrong."""
    scale = 1.0 + shift

    def loss(centerWordVec, outsideWordIdx, outsideVectors, dataset=None):  # noqa: N803
        o = int(outsideWordIdx)
        grad_outside = np.zeros(np.shape(outsideVectors))
        grad_outside[o] = centerWordVec
        grad_outside[o] *= scale
        return float(outsideVectors[o] @ centerWordVec) + shift, outsideVectors[o] * scale, grad_outside

    return loss


# --- loop baselines: what the cheapest Python loop over the vocabulary costs on this machine ---------

def row_loop_baseline(outsideVectors, centerWordVec):  # noqa: N803
    """One Python iteration per vocabulary row, each doing a single small numpy operation."""
    scores = np.empty(len(outsideVectors))
    for i in range(len(outsideVectors)):
        scores[i] = outsideVectors[i] @ centerWordVec
    return scores


def element_loop_baseline(x):
    """One Python iteration per element, each doing one scalar ``math`` call."""
    out = np.empty(len(x))
    exp = math.exp
    for i in range(len(x)):
        out[i] = exp(-x[i])
    return out


def pass_baseline(outsideVectors, centerWordVec):  # noqa: N803
    """One vectorised pass over every row (what 'a full pass over V' costs)."""
    return outsideVectors @ centerWordVec


def fill_baseline(outsideVectors, centerWordVec):  # noqa: N803
    """A V×d gradient materialised (every page written) with one row updated: the memory traffic any
    implementation that does not rely on lazily zeroed pages pays for its output, and no more."""
    grad = np.zeros_like(outsideVectors)
    grad[0] += centerWordVec
    return grad


def sgd_wrapper(skipgram_fn: Callable, word2ind: dict, word_vectors: np.ndarray, dataset: Any,
                window: int, loss_fn: Callable, batch: int = 50):
    """The starter's ``word2vec_sgd_wrapper`` semantics (batch of random contexts, halves of the matrix)."""
    loss = 0.0
    grad = np.zeros(word_vectors.shape)
    n = word_vectors.shape[0]
    center_vectors = word_vectors[: int(n / 2), :]
    outside_vectors = word_vectors[int(n / 2):, :]
    for _ in range(batch):
        window1 = random.randint(1, window)
        center, context = dataset.getRandomContext(window1)
        c, gin, gout = skipgram_fn(center, window1, context, word2ind, center_vectors, outside_vectors,
                                   dataset, loss_fn)
        loss += c / batch
        grad[: int(n / 2), :] += gin / batch
        grad[int(n / 2):, :] += gout / batch
    return loss, grad


class RecordingObjective:
    """f(x) = (½ xᵀAx − bᵀx, Ax − b) that records every point it is evaluated at."""

    def __init__(self, dim: int, seed: int, constant_gradient: Optional[np.ndarray] = None):
        rng = np.random.default_rng(seed)
        m = rng.standard_normal((dim, dim))
        self.A = m @ m.T / dim + np.eye(dim)
        self.b = rng.standard_normal(dim)
        self.constant_gradient = constant_gradient
        self.points: list[np.ndarray] = []
        self.losses: list[float] = []

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.points.append(np.array(x, dtype=np.float64, copy=True))
        if self.constant_gradient is not None:
            g = self.constant_gradient
            loss = float(g.ravel() @ x.ravel()) + 100.0
            self.losses.append(loss)
            return loss, g.reshape(x.shape).copy()
        flat = x.ravel()
        loss = 0.5 * float(flat @ self.A @ flat) - float(self.b @ flat) + 10.0
        self.losses.append(loss)
        return loss, (self.A @ flat - self.b).reshape(x.shape)


class RecordingPostprocessing:
    """Row normalisation (like ``normalizeRows``) that records its inputs and outputs."""

    def __init__(self):
        self.inputs: list[np.ndarray] = []
        self.outputs: list[np.ndarray] = []

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.inputs.append(x.copy())
        out = x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-30)
        self.outputs.append(out.copy())
        return out
