"""Runs an ``sgd`` implementation on grader-made objectives and records what it did.

Used inside the sandbox on the student's ``sgd`` and, with the same code, by
the trusted parent on the reference ``sgd`` to obtain expected values.
Variants (``call["variant"]``):

``trajectory``      quadratic objective, identity postprocessing: every point f saw + the result.
``postprocessing``  row normalisation as postprocessing: f's points and postprocessing's in/out.
``anneal``          constant gradient for ANNEAL_EVERY+3 iterations: f's points (|Δx| gives the step).
``progress``        PRINT_EVERY=10 over 30 iterations: printed text and number of f evaluations.
``saved_params``    resume from a checkpoint of iteration 7 in a fresh folder (useSaved=True), written by the
                    module's own ``save_params`` when it has ``save_params`` and ``load_saved_params``
                    (its own format), else in the starter's (``saved_params_7.npy`` + state pickle).
``integration``     skipgram + negative sampling of ``modules["word2vec"]`` trained for a few iterations.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np

try:
    from . import support
except ImportError:  # pragma: no cover
    import support  # type: ignore[no-redef]

NO_PRINT = 10**9
RESUME_ITERATION = 7


def _stack(points: list[np.ndarray]) -> np.ndarray:
    return np.stack(points) if points else np.zeros((0,))


def run_variant(sgd_module: Any, call: dict[str, Any], inputs: dict[str, np.ndarray], workdir: Path,
                modules: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Run one variant; returns (metadata, arrays).  ``workdir`` receives any files sgd writes."""
    variant = call["variant"]
    sgd = sgd_module.sgd
    x0 = np.array(inputs[call["x0"]], dtype=np.float64, copy=True)
    step = float(call.get("step", 0.05))
    iterations = int(call.get("iterations", 40))
    if variant == "trajectory":
        f = support.RecordingObjective(x0.size, seed=int(call.get("seed", 0)))
        result = sgd(f, x0, step, iterations, None, False, PRINT_EVERY=NO_PRINT)
        return {"calls": len(f.points)}, {"points": _stack(f.points), "result": np.asarray(result, dtype=float)}
    if variant == "postprocessing":
        f = support.RecordingObjective(x0.size, seed=int(call.get("seed", 0)))
        post = support.RecordingPostprocessing()
        result = sgd(f, x0, step, iterations, post, False, PRINT_EVERY=NO_PRINT)
        return ({"calls": len(f.points), "post_calls": len(post.inputs)},
                {"points": _stack(f.points), "post_in": _stack(post.inputs), "post_out": _stack(post.outputs),
                 "result": np.asarray(result, dtype=float)})
    if variant == "anneal":
        gradient = np.array(inputs[call["gradient"]], dtype=np.float64)
        f = support.RecordingObjective(x0.size, seed=0, constant_gradient=gradient)
        result = sgd(f, x0, step, iterations, None, False, PRINT_EVERY=NO_PRINT)
        points = _stack(f.points)
        steps = np.linalg.norm(np.diff(points, axis=0), axis=1) / np.linalg.norm(gradient) if len(points) > 1 \
            else np.zeros(0)
        return {"calls": len(f.points)}, {"steps": steps, "result": np.asarray(result, dtype=float)}
    if variant == "progress":
        f = support.RecordingObjective(x0.size, seed=int(call.get("seed", 0)))
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            sgd(f, x0, step, iterations, None, False, PRINT_EVERY=int(call.get("print_every", 10)))
        return {"calls": len(f.points), "printed": text.getvalue()[:20000]}, {"losses": np.asarray(f.losses)}
    if variant == "saved_params":
        return _run_saved_params(sgd_module, call, inputs, workdir, x0, step, iterations)
    if variant == "integration":
        return _run_integration(sgd, call, modules, x0, step, iterations)
    raise ValueError(f"unknown sgd variant {variant!r}")


def _own_checkpoint_helpers(sgd_module: Any) -> bool:
    """Does the module define its own ``save_params(iter, params)`` and ``load_saved_params()``?"""
    return callable(getattr(sgd_module, "save_params", None)) and callable(getattr(sgd_module, "load_saved_params",
                                                                                  None))


def _run_saved_params(sgd_module, call, inputs, workdir: Path, x0, step, iterations):
    sgd = sgd_module.sgd
    folder = workdir / f"resume_{call['id'].replace('/', '_')}"
    folder.mkdir(parents=True, exist_ok=True)
    saved = np.array(inputs[call["saved"]], dtype=np.float64)
    previous = os.getcwd()
    os.chdir(folder)
    try:
        own = _own_checkpoint_helpers(sgd_module)
        random.seed(int(call.get("seed", 5)))
        if own:  # the module's own checkpoint format: written by its save_params, read back by its sgd
            sgd_module.save_params(RESUME_ITERATION, saved.copy())
        else:
            np.save(f"saved_params_{RESUME_ITERATION}.npy", saved)
            with open(f"saved_state_{RESUME_ITERATION}.pickle", "wb") as handle:
                pickle.dump(random.getstate(), handle)
    finally:
        os.chdir(previous)
    random.seed(12345)  # a different state: a correct resume restores the saved one
    draws: list[float] = []
    f = support.RecordingObjective(x0.size, seed=int(call.get("seed", 0)))

    def recording(x):
        draws.append(random.random())
        return f(x)

    previous = os.getcwd()
    os.chdir(folder)
    try:
        result = sgd(recording, x0, step, iterations, None, True, PRINT_EVERY=NO_PRINT)
    finally:
        os.chdir(previous)
    return ({"calls": len(f.points)},
            {"points": _stack(f.points), "draws": np.asarray(draws), "result": np.asarray(result, dtype=float)})


def _run_integration(sgd, call, modules, x0, step, iterations):
    word2vec = modules["word2vec"]
    tokens = {t: i for i, t in enumerate(support.DUMMY_TOKENS)}
    dataset = support.DummyContextDataset()
    random.seed(int(call.get("seed", 31415)))
    np.random.seed(int(call.get("seed", 31415)))
    loss_fn = getattr(word2vec, call.get("loss", "negSamplingLossAndGradient"))

    def objective(vectors):
        return support.sgd_wrapper(word2vec.skipgram, tokens, vectors, dataset, 3, loss_fn, batch=10)

    result = sgd(objective, x0, step, iterations, None, False, PRINT_EVERY=NO_PRINT)
    return {}, {"result": np.asarray(result, dtype=float)}
