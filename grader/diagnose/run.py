"""Running mutants on the exact inputs of a function's graded calls, in the grader's process.

:func:`mutant_outcomes` turns each worker call (the JSON call and its input arrays, as sent to
the student's worker) into the same Python arguments the worker builds, runs one mutant per
flag set on them and records what it did: its outputs by name, the type of any exception, and
which array arguments it modified.  ``sgd`` calls replay the worker's probe variants with the
mutant ``sgd`` (checkpoints in memory, a private random generator: no files, no CWD change, no
global random state).  Results are cached on disk per rubric and catalogue
(:mod:`grader.diagnose.cache`).
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from grader.checks.sgd_checks import PROGRESS_LINE
from grader.worker import support

from . import mutants

OUTPUT_NAMES: dict[str, tuple[str, ...]] = {
    "sigmoid": ("s",),
    "naiveSoftmaxLossAndGradient": ("loss", "gradCenterVec", "gradOutsideVecs"),
    "negSamplingLossAndGradient": ("loss", "gradCenterVec", "gradOutsideVecs"),
    "skipgram": ("loss", "gradCenterVecs", "gradOutsideVectors"),
}
"""Outputs of each value function, in return order (as :data:`grader.checks.cases.OUTPUT_NAMES`)."""

SGD_OUTPUTS: dict[str, tuple[str, ...]] = {
    "trajectory": ("points", "result"),
    "postprocessing": ("post_calls", "points", "post_out", "result"),
    "anneal": ("steps",),
    "progress": ("calls", "printed"),
    "saved_params": ("points", "draws", "result"),
}
"""What is compared for each sgd probe variant: the recordings the worker returns (``calls``,
``post_calls`` and ``printed`` come from its metadata, the rest from its arrays)."""

_VALUE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sigmoid": mutants.sigmoid, "naiveSoftmaxLossAndGradient": mutants.naive,
    "negSamplingLossAndGradient": mutants.neg, "skipgram": mutants.skipgram,
}


@dataclass
class Observed:
    """What one implementation (a student's, or a mutant) did on one call."""

    outputs: dict[str, Any] = field(default_factory=dict)  # name -> ndarray | str | None (not a number)
    raised: str = ""  # exception type name, when it raised
    mutated: tuple[int, ...] = ()  # positions of array arguments modified in place
    float32: tuple[str, ...] = ()  # outputs returned as float32 (compared at float32 tolerance)


def output_names(call: dict[str, Any]) -> tuple[str, ...]:
    """The outputs compared for one call."""
    if call.get("op") == "sgd":
        return SGD_OUTPUTS.get(call.get("variant", ""), ())
    return OUTPUT_NAMES.get(call["function"], ())


def run_mutant(call: dict[str, Any], arrays: dict[str, np.ndarray], flags: frozenset[str]) -> Observed:
    """Run the mutant with ``flags`` on one call (never raises: an exception is recorded)."""
    with np.errstate(all="ignore"):  # thread-local, unlike warnings.catch_warnings (batch mode may use threads)
        try:
            if call.get("op") == "sgd":
                return _run_sgd(call, arrays, flags)
            return _run_value(call, arrays, flags)
        except Exception as exc:  # noqa: BLE001 - a mistake that raises is an outcome like any other
            return Observed(raised=type(exc).__name__)


def _build_arg(spec: Any, arrays: dict[str, np.ndarray], copy: bool = True) -> Any:
    if not isinstance(spec, dict):
        return spec
    if "array" in spec:
        if copy:
            return np.array(arrays[spec["array"]], copy=True)
        view = arrays[spec["array"]].view()
        view.flags.writeable = False
        return view
    if "value" in spec:
        return spec["value"]
    if "scripted_dataset" in spec:
        return support.ScriptedDataset(spec["scripted_dataset"])
    if "fn" in spec:
        origin, _, name = spec["fn"].partition(":")
        if origin != "support":
            raise LookupError(f"a mutant cannot call {spec['fn']}")
        return getattr(support, name)
    raise ValueError(f"unknown argument spec {sorted(spec)}")


def _run_value(call: dict[str, Any], arrays: dict[str, np.ndarray], flags: frozenset[str]) -> Observed:
    """A mutant whose flags modify no argument gets read-only views (no copies, no before/after comparison)."""
    writes = bool(flags & mutants.MODIFIES_INPUTS)
    args = [_build_arg(a, arrays, copy=writes) for a in call.get("args", [])]
    before = {i: a.copy() for i, a in enumerate(args) if isinstance(a, np.ndarray)} if writes else {}
    result = _VALUE_FUNCTIONS[call["function"]](*args, flags=flags)
    names = OUTPUT_NAMES[call["function"]]
    values = result if isinstance(result, tuple) else (result,)
    observed = Observed(outputs={n: _number(v) for n, v in zip(names, values)})
    observed.mutated = tuple(i for i, old in before.items()
                             if args[i].shape != old.shape or not np.array_equal(args[i], old, equal_nan=True))
    return observed


def _number(value: Any) -> Optional[np.ndarray]:
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001
        return None
    return arr.astype(np.float64) if arr.dtype.kind in "biuf" else None


def _stack(points: list[np.ndarray]) -> np.ndarray:
    return np.stack(points) if points else np.zeros((0,))


class _ConstantGradient:
    """The anneal probe's objective, reduced to what its step sizes depend on: the points and a constant gradient.

    (A lighter stand-in for :class:`support.RecordingObjective` with ``constant_gradient``, whose loss only
    feeds printing, which the anneal probe turns off; 20,000 calls per mistake make the difference.)
    """

    def __init__(self, gradient: np.ndarray) -> None:
        self.gradient = gradient
        self.points: list[np.ndarray] = []

    def __call__(self, x: Any) -> tuple[float, np.ndarray]:
        self.points.append(np.array(x, dtype=np.float64))
        return 100.0, self.gradient  # the mutants never write into the gradient they are given


def _run_sgd(call: dict[str, Any], arrays: dict[str, np.ndarray], flags: frozenset[str]) -> Observed:
    """The worker's probe variants (:mod:`grader.worker.sgd_probe`) with the mutant sgd."""
    variant = call["variant"]
    x0 = np.array(arrays[call["x0"]], dtype=np.float64, copy=True)
    step, iterations = float(call.get("step", 0.05)), int(call.get("iterations", 40))
    never = 10**9

    def sgd(f, x, post=None, saved=False, every=never, **extra):
        return mutants.sgd(f, x, step, iterations, post, saved, PRINT_EVERY=every, flags=flags, **extra)

    if variant == "trajectory":
        f = support.RecordingObjective(x0.size, seed=int(call.get("seed", 0)))
        result = sgd(f, x0)
        return Observed({"points": _stack(f.points), "result": np.asarray(result, dtype=float)})
    if variant == "postprocessing":
        f = support.RecordingObjective(x0.size, seed=int(call.get("seed", 0)))
        post = support.RecordingPostprocessing()
        result = sgd(f, x0, post)
        return Observed({"post_calls": np.asarray(float(len(post.inputs))), "points": _stack(f.points),
                         "post_out": _stack(post.outputs), "result": np.asarray(result, dtype=float)})
    if variant == "anneal":
        gradient = np.array(arrays[call["gradient"]], dtype=np.float64)
        recorder = _ConstantGradient(gradient)
        sgd(recorder, x0)
        points = _stack(recorder.points)
        steps = np.linalg.norm(np.diff(points, axis=0), axis=1) / np.linalg.norm(gradient) if len(points) > 1 \
            else np.zeros(0)
        return Observed({"steps": steps})
    if variant == "progress":
        f = support.RecordingObjective(x0.size, seed=int(call.get("seed", 0)))
        lines: list[str] = []
        sgd(f, x0, every=int(call.get("print_every", 10)), out=lines)
        return Observed({"calls": np.asarray(float(len(f.points))), "printed": "\n".join(lines)})
    if variant == "saved_params":
        rng = random.Random(int(call.get("seed", 5)))
        checkpoints = mutants.Checkpoints(rng)
        checkpoints.saved[7] = (np.array(arrays[call["saved"]], dtype=np.float64), rng.getstate())
        rng.seed(12345)
        draws: list[float] = []
        f = support.RecordingObjective(x0.size, seed=int(call.get("seed", 0)))

        def recording(x):
            draws.append(rng.random())
            return f(x)

        result = sgd(recording, x0, saved=True, checkpoints=checkpoints)
        return Observed({"points": _stack(f.points), "draws": np.asarray(draws),
                         "result": np.asarray(result, dtype=float)})
    raise ValueError(f"no mutant probe for sgd variant {variant!r}")


def student_observed(call: dict[str, Any], meta: Optional[dict[str, Any]],
                     outputs: dict[str, np.ndarray]) -> Optional[Observed]:
    """What the student's code did on one call, from the outcome the correctness run already holds.

    None when the call did not finish (timeout, crash) or returned something that is not a result of
    the expected form (then there is nothing to compare output by output).
    """
    if meta is None:
        return None
    if meta.get("status") == "exception":
        return Observed(raised=str((meta.get("exception") or {}).get("type", "Exception")))
    if meta.get("status") != "ok":
        return None
    if call.get("op") == "sgd":
        got: dict[str, Any] = {}
        for name in SGD_OUTPUTS.get(call.get("variant", ""), ()):
            if name == "printed":
                text = str(meta.get("printed", ""))
                got[name] = "\n".join(line.strip() for line in text.splitlines()
                                      if PROGRESS_LINE.match(line.strip()))  # the judge's own filter
            elif name in ("calls", "post_calls"):
                got[name] = np.asarray(float(meta.get(name, 0)))
            else:
                got[name] = _number(outputs.get(name)) if name in outputs else None
        return Observed(got)
    names = OUTPUT_NAMES[call["function"]]
    items = meta.get("items", [])
    if len(names) > 1 and (meta.get("result_kind") != "tuple" or len(items) != len(names)):
        return None
    got = {}
    single = []
    for name, info in zip(names, items):
        value = outputs.get(info.get("key"))
        got[name] = None if value is None or info.get("unsupported") else _number(value)
        if value is not None and np.asarray(value).dtype == np.float32:
            single.append(name)
    return Observed(got, mutated=tuple(int(i) for i in meta.get("mutated") or ()), float32=tuple(single))


def same_output(student: Any, mutant: Any, rtol: float, atol: float) -> bool:
    """The student's output equals the mutant's at the test tolerance (a None matches only a None).

    Shapes must be equal (a size-1 student value matches a scalar); positions that are not finite
    must be the same in both (nan and inf are not told apart); finite entries are compared with
    ``|student − mutant| <= atol + rtol·|mutant|``.  A float32 student output is compared at the
    float32 tolerance by the caller.  Strings (printed progress) must be equal.
    """
    if isinstance(student, str) or isinstance(mutant, str):
        return student == mutant
    if student is None or mutant is None:
        return student is None and mutant is None
    got, want = np.asarray(student, dtype=np.float64), np.asarray(mutant, dtype=np.float64)
    if want.ndim == 0 and got.size == 1:
        got = got.reshape(())
    if got.shape != want.shape:
        return False
    finite_got, finite_want = np.isfinite(got), np.isfinite(want)
    if not np.array_equal(finite_got, finite_want):
        return False
    with contextlib.suppress(FloatingPointError), np.errstate(all="ignore"):
        error = np.abs(got[finite_got] - want[finite_want])
        return bool(np.all(error <= atol + rtol * np.abs(want[finite_want])))
    return False
