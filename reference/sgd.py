#!/usr/bin/env python
"""Reference solution of CS224n a2 sgd.py (starter semantics, 2019-2023).

Parameters are saved to / resumed from ``saved_params_<iter>.npy`` and
``saved_state_<iter>.pickle`` (Python RNG state) in the current directory.
"""

from __future__ import annotations

import glob
import os.path as op
import pickle
import random
from collections.abc import Callable
from typing import Any

import numpy as np

# Save parameters every this many SGD iterations (used by run.py).
SAVE_PARAMS_EVERY = 5000


def load_saved_params() -> tuple[int, np.ndarray | None, Any]:
    """(iteration, params, random state) of the newest save in the CWD, or (0, None, None)."""
    st = 0
    for f in glob.glob("saved_params_*.npy"):
        it = int(op.splitext(op.basename(f))[0].split("_")[2])
        st = max(st, it)
    if st <= 0:
        return st, None, None
    params = np.load(f"saved_params_{st}.npy")
    with open(f"saved_state_{st}.pickle", "rb") as f:
        state = pickle.load(f)
    return st, params, state


def save_params(iter: int, params: np.ndarray) -> None:
    """Save params and Python's random state for iteration ``iter`` in the CWD."""
    np.save(f"saved_params_{iter}.npy", params)
    with open(f"saved_state_{iter}.pickle", "wb") as f:
        pickle.dump(random.getstate(), f)


def sgd(
    f: Callable[[Any], tuple[float, Any]],
    x0: Any,
    step: float,
    iterations: int,
    postprocessing: Callable[[Any], Any] | None = None,
    useSaved: bool = False,
    PRINT_EVERY: int = 10,
) -> Any:
    """Plain stochastic gradient descent: x <- x - step * grad, ``iterations`` times.

    f(x) returns (loss, grad) with grad shaped like x. With useSaved, resume
    from the newest save (step annealed by 0.5 ** (start / 20000), RNG state
    restored) and save every SAVE_PARAMS_EVERY iterations. The step halves
    every 20000 iterations. Prints an exponentially smoothed loss every
    PRINT_EVERY iterations. Arrays are updated in place (x0 is modified).
    Returns the final x.
    """
    # Anneal learning rate every several iterations
    ANNEAL_EVERY = 20000

    if useSaved:
        start_iter, oldx, state = load_saved_params()
        if start_iter > 0:
            x0 = oldx
            step *= 0.5 ** (start_iter / ANNEAL_EVERY)
        if state:
            random.setstate(state)
    else:
        start_iter = 0

    x = x0
    if not postprocessing:
        postprocessing = _identity

    exploss = None
    for iter in range(start_iter + 1, iterations + 1):
        loss = None
        loss, grad = f(x)
        x -= step * grad

        x = postprocessing(x)
        if iter % PRINT_EVERY == 0:
            exploss = loss if not exploss else 0.95 * exploss + 0.05 * loss
            # %-formatting like the starter: it also accepts 0-d/1-element arrays
            print("iter %d: %f" % (iter, exploss))  # noqa: UP031

        if iter % SAVE_PARAMS_EVERY == 0 and useSaved:
            save_params(iter, x)

        if iter % ANNEAL_EVERY == 0:
            step *= 0.5

    return x


def _identity(x: Any) -> Any:
    """Default postprocessing: return x unchanged."""
    return x


def sanity_check() -> None:
    """Minimise sum(x**2) from 0.5, 0.0 and -1.5; each result must be within 1e-6 of 0."""
    def quad(x):
        return np.sum(x ** 2), x * 2

    print("Running sanity checks...")
    for n, start in enumerate((0.5, 0.0, -1.5), start=1):
        result = sgd(quad, start, 0.01, 1000, PRINT_EVERY=100)
        print(f"test {n} result:", result)
        assert abs(result) <= 1e-6
    print("-" * 40)
    print("ALL TESTS PASSED")
    print("-" * 40)


if __name__ == "__main__":
    sanity_check()
