"""Trusted implementations of the graded functions with known mistakes switched on by flags.

Each function here computes what the assignment asks for when ``flags`` is empty and, for every
flag, what a student's code computes when it makes that one mistake (several flags: the
mistakes combined).  They are mutants of the reference written for the diagnosis stage: they
run in the grader's own process on the grader's own inputs, never in a student's worker, and
nothing here is ever shown to a student (only each mistake's explanation in words is).

Contract of every value function: the same positional arguments as the graded function (after
the worker's argument building), returns what a student's function with those mistakes
returns; a mistake that makes the code raise raises (its exception type is compared).
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Optional

import numpy as np

from grader.worker import support

Flags = frozenset
MODIFIES_INPUTS: frozenset[str] = frozenset({"modifies_outside"})
"""Flags whose mutant writes into an argument (every other mutant gets read-only inputs)."""


# --- sigmoid ---------------------------------------------------------------------------------------

def sigmoid(x: Any, flags: Flags) -> Any:
    """The logistic function of a scalar or an array, with mistakes."""
    if "math_exp" in flags:  # math.exp takes only Python scalars: an array raises TypeError
        return 1.0 / (1.0 + math.exp(-x)) if np.ndim(x) == 0 else _raise(TypeError("math.exp of an array"))
    z = np.asarray(x, dtype=np.float64)
    if "sign_flipped" in flags:
        z = -z
    with np.errstate(all="ignore"):
        if "exp_ratio" in flags:
            s = np.exp(z) / (1.0 + np.exp(z))
        elif "no_one" in flags:
            s = 1.0 / np.exp(-z)
        elif "minus_denominator" in flags:
            s = 1.0 / (1.0 - np.exp(-z))
        elif "tanh_no_half" in flags:
            s = 0.5 * (1.0 + np.tanh(z))
        else:
            s = _expit(z)
        if "derivative" in flags:
            s = s * (1.0 - s)
    return s if s.ndim else s[()]


def _expit(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _raise(exc: BaseException) -> Any:
    raise exc


# --- naive softmax ---------------------------------------------------------------------------------

def naive(centerWordVec: np.ndarray, outsideWordIdx: int, outsideVectors: np.ndarray, dataset: Any,  # noqa: N803
          flags: Flags) -> tuple[Any, ...]:
    """Naive-softmax loss and gradients, with mistakes."""
    o = int(outsideWordIdx)
    v = np.asarray(centerWordVec, dtype=np.float64)
    U = np.asarray(outsideVectors, dtype=np.float64)
    with np.errstate(all="ignore"):
        scores = U @ v
        if "sigmoid_probs" in flags:
            probs = _expit(scores)
            natural = -np.log(probs[o])
        elif "no_max_shift" in flags:
            e = np.exp(scores)
            probs = e / np.sum(e)
            natural = -np.log(probs[o])
        else:
            top = np.max(scores)
            e = np.exp(scores - top)
            probs = e / np.sum(e)
            natural = top + np.log(np.sum(e)) - scores[o]
        loss = natural
        if "log10" in flags:
            loss = natural / math.log(10.0)
        if "missing_log" in flags:
            loss = -probs[o]
        if "loss_sign" in flags:
            loss = -loss
        delta = probs.copy()
        if "no_one_hot" not in flags:
            delta[o] -= 1.0
        grad_center = delta @ U
        grad_outside = np.outer(delta, v)
        if "center_only_uo" in flags:
            grad_center = -U[o].copy()
        if "outside_row_only" in flags:
            grad_outside = np.zeros_like(U)
            grad_outside[o] = delta[o] * v
        if "grad_center_sign" in flags:
            grad_center = -grad_center
        if "grads_negated" in flags:
            grad_center, grad_outside = -grad_center, -grad_outside
        if "transposed" in flags:
            grad_outside = grad_outside.T
    if "modifies_outside" in flags:
        outsideVectors[o] *= 0.5
    if "swapped" in flags:
        return float(loss), grad_outside, grad_center
    return float(loss), grad_center, grad_outside


# --- negative sampling -----------------------------------------------------------------------------

def neg(centerWordVec: np.ndarray, outsideWordIdx: int, outsideVectors: np.ndarray, dataset: Any,  # noqa: N803
        K: int = 10, flags: Flags = frozenset()) -> tuple[Any, ...]:  # noqa: N803
    """Negative-sampling loss and gradients (samples from the provided sampler), with mistakes."""
    o = int(outsideWordIdx)
    negatives = support.get_negative_samples(o, dataset, 10 if "K_ignored" in flags else int(K))
    if "first_negative_skipped" in flags:
        negatives = negatives[1:]
    if "repeats_deduplicated" in flags:
        negatives = list(dict.fromkeys(negatives))
    if "outside_counted_as_negative" in flags:
        negatives = [o] + negatives
    v = np.asarray(centerWordVec, dtype=np.float64)
    U = np.asarray(outsideVectors, dtype=np.float64)
    rows = U[negatives] if negatives else np.zeros((0, U.shape[1]))
    count = max(1, len(negatives))
    with np.errstate(all="ignore"):
        s_o = float(U[o] @ v)
        s_k = rows @ v
        sig = support.stable_sigmoid
        loss_o = float(np.logaddexp(0.0, -s_o))
        if "negatives_not_negated" in flags:
            loss_k = -np.log(sig(s_k))
            coef_k = -sig(-s_k)
        elif "log_one_minus_sigmoid" in flags:
            loss_k = -np.log(1.0 - sig(s_k))
            coef_k = sig(s_k)
        else:
            loss_k = np.logaddexp(0.0, s_k)
            coef_k = sig(s_k)
        coef_o = -sig(-s_o)
        if "grad_sigma_flipped" in flags:
            coef_o, coef_k = -sig(s_o), sig(-s_k)
        if "negatives_averaged" in flags:
            loss_k, coef_k = loss_k / count, coef_k / count
        loss = loss_o + float(np.sum(loss_k))
        if "missing_log" in flags:
            loss = -sig(s_o) - float(np.sum(sig(-s_k)))
        if "log10" in flags:
            loss = loss / math.log(10.0)
        if "loss_sign" in flags:
            loss = -loss
        grad_center = coef_o * U[o] + (-1.0 if "center_sign_negatives" in flags else 1.0) * (coef_k @ rows)
        grad_outside = np.zeros_like(U)
        grad_outside[o] += coef_o * v
        if "grouped_by_score" in flags and negatives:  # draws merged by equal score, credited to one word
            _, first, counts = np.unique(s_k, return_index=True, return_counts=True)
            kept = [negatives[i] for i in first]
            weights = counts * coef_k[first]
            grad_center = coef_o * U[o] + weights @ U[kept]
            np.add.at(grad_outside, kept, np.outer(weights, v))
        elif "negative_rows_missing" not in flags:
            if "repeats_overwritten" in flags:
                grad_outside[negatives] += np.outer(coef_k, v)  # fancy-index +=: one update per distinct word
            else:
                np.add.at(grad_outside, negatives, np.outer(coef_k, v))
        if "grads_negated" in flags:
            grad_center, grad_outside = -grad_center, -grad_outside
        if "transposed" in flags:
            grad_outside = grad_outside.T
    if "swapped" in flags:
        return float(loss), grad_outside, grad_center
    return float(loss), grad_center, grad_outside


# --- skip-gram -------------------------------------------------------------------------------------

def skipgram(currentCenterWord: str, windowSize: int, outsideWords: list, word2Ind: dict,  # noqa: N803
             centerWordVectors: np.ndarray, outsideVectors: np.ndarray, dataset: Any,  # noqa: N803
             word2vecLossAndGradient: Callable, flags: Flags = frozenset()) -> tuple[Any, ...]:  # noqa: N803
    """Skip-gram's sum over the outside words of one center word, with mistakes."""
    loss = 0.0
    grad_center = np.zeros(np.shape(centerWordVectors))
    grad_outside = np.zeros(np.shape(outsideVectors))
    c = word2Ind[currentCenterWord]
    words = list(outsideWords)
    if "only_window_words" in flags:
        words = words[:windowSize]
    if "repeated_words_once" in flags:
        words = list(dict.fromkeys(words))
    if "skips_center_word" in flags:
        words = [w for w in words if w != currentCenterWord]
    for word in words:
        w = word2Ind[word]
        if "outside_word_as_center" in flags:
            center = centerWordVectors[w]
        elif "outside_vector_as_center" in flags:
            center = outsideVectors[c]
        else:
            center = centerWordVectors[c]
        matrix = centerWordVectors if "center_vectors_as_outside" in flags else outsideVectors
        word_loss, g_center, g_outside = word2vecLossAndGradient(center, w, matrix, dataset)
        row = w if "center_grad_wrong_row" in flags else c
        if "all_assigned" in flags:
            loss = word_loss
        else:
            loss += word_loss
        if "grads_assigned" in flags or "all_assigned" in flags:
            grad_center = np.zeros(np.shape(centerWordVectors))
            grad_center[row] = g_center
            grad_outside = np.array(g_outside, dtype=np.float64)
        elif "center_grad_all_rows" in flags:
            grad_center += g_center
            grad_outside += g_outside
        else:
            grad_center[row] += g_center
            grad_outside += g_outside
    if "averaged" in flags and words:
        loss, grad_center, grad_outside = loss / len(words), grad_center / len(words), grad_outside / len(words)
    if "swapped" in flags:
        return loss, grad_outside, grad_center
    return loss, grad_center, grad_outside


# --- sgd -------------------------------------------------------------------------------------------

ANNEAL_EVERY = 20000
SAVE_PARAMS_EVERY = 5000


class Checkpoints:
    """The starter's saved-parameter files, held in memory (the mutants never touch the disk or the CWD)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.saved: dict[int, tuple[np.ndarray, Any]] = {}

    def load(self) -> tuple[int, Optional[np.ndarray], Any]:
        if not self.saved:
            return 0, None, None
        newest = max(self.saved)
        params, state = self.saved[newest]
        return newest, params.copy(), state

    def save(self, iteration: int, params: np.ndarray) -> None:
        self.saved[iteration] = (np.array(params, copy=True), self.rng.getstate())


def sgd(f: Callable, x0: Any, step: float, iterations: int, postprocessing: Optional[Callable] = None,
        useSaved: bool = False, PRINT_EVERY: int = 10, *, flags: Flags = frozenset(),  # noqa: N803
        checkpoints: Optional[Checkpoints] = None, out: Optional[list[str]] = None) -> Any:
    """Stochastic gradient descent with the starter's checkpoints and printing, with mistakes.

    ``checkpoints`` replaces the saved_params files; ``out`` receives the printed lines.
    """
    start = 0
    if useSaved and checkpoints is not None and "saved_params_ignored" not in flags:
        start, old, state = checkpoints.load()
        if start > 0:
            x0 = old
            step *= 0.5 ** (start / ANNEAL_EVERY)
        if state:
            checkpoints.rng.setstate(state)
    x = x0
    initial = np.array(x0, copy=True)
    post = postprocessing or (lambda value: value)
    exploss = None
    for iteration in range(start + 1, iterations + 1):
        if "postprocessing_before_update" in flags:
            x = post(x)
        loss, grad = f(x)
        if "f_called_twice" in flags:
            loss, grad = f(x)
        if "loss_not_assigned" in flags:
            loss = None
        base = initial if "restarts_from_x0" in flags else x
        delta = grad if "step_ignored" in flags else step * grad
        x = base + delta if "ascent" in flags else base - delta
        if "postprocessing_discarded" in flags:
            post(x)
        elif "postprocessing_ignored" not in flags and "postprocessing_before_update" not in flags:
            x = post(x)
        if iteration % PRINT_EVERY == 0:
            exploss = loss if not exploss else 0.95 * exploss + 0.05 * loss
            line = "iter %d: %f" % (iteration, exploss)  # noqa: UP031 - the starter's format; None raises
            if out is not None:
                out.append(line)
        if iteration % SAVE_PARAMS_EVERY == 0 and useSaved and checkpoints is not None:
            checkpoints.save(iteration, x)
        if iteration % ANNEAL_EVERY == 0 and "no_anneal" not in flags:
            step *= 0.25 if "double_anneal" in flags else 0.5
    return initial if "returns_initial_x" in flags else x
