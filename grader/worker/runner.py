"""Sandbox worker: imports student modules and runs the calls of one job.

Runs INSIDE the sandbox, next to untrusted code, so nothing it reports is
trusted: it only executes calls and writes raw outputs (``out/<id>.npz``
with numeric arrays, ``out/<id>.json`` with plain metadata).  The parent
re-validates everything and computes verdicts itself; expected values and
the reference never reach this process.

Protocol on the control fd (``W2V_CONTROL_FD``), one line each:
``hello <pid>``, ``start <id>``, ``done <id>``, ``tick <id>`` (heartbeat
during long operations), ``tstart <id>`` / ``tdone <id>`` around timed
repetitions (the parent samples the kernel's CPU counters at those moments),
``bye``.

Over 400 lines on purpose: it is one program, the worker side of that protocol, read top to
bottom (the control channel and the import hooks, how results are encoded, then the
:class:`Worker` with one method per kind of call, and :func:`main`); it is copied into each
run's workdir with its three siblings.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import io
import json
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

# Keep private references before student code can monkeypatch anything.
_savez = np.savez
_asarray = np.asarray
_array = np.array
_isfinite = np.isfinite
_sleep = time.sleep
ACK_TIMEOUT = 5.0
"""Seconds a timing marker waits for the parent's acknowledgement before going on regardless."""
_json_dump = json.dump
_write = os.write
_getstate = random.getstate
_setstate = random.setstate
_np_get_state = np.random.get_state
_np_set_state = np.random.set_state

try:  # support lives next to this file inside the sandbox (package w2v_worker)
    from . import support
except ImportError:  # pragma: no cover - when run as a script
    import support  # type: ignore[no-redef]

SUPPORT_PACKAGE_NAMES = ("utils.utils", "utils.gradcheck", "utils.treebank", "utils")
MAX_REPR = 300


class Control:
    """Line-oriented writer to the control fd (silently disabled when absent)."""

    def __init__(self) -> None:
        fd = os.environ.pop("W2V_CONTROL_FD", None)
        self.fd = int(fd) if fd else None

    def send(self, line: str) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            _write(self.fd, (line.replace("\n", " ") + "\n").encode())


CONTROL = Control()


class PrefixedUtilsFinder(importlib.abc.MetaPathFinder):
    """Resolve ``a2.utils.utils`` / ``CS224n.a2.utils.gradcheck`` to the provided ``utils`` package.

    ``prefixes`` are the folder prefixes found statically in the student's imports
    (e.g. ``["a2", "CS224n.a2"]``); each prefix and its parents become empty
    packages, and ``<prefix>.utils[.x]`` become aliases of ``utils[.x]``.
    """

    def __init__(self, prefixes: list[str]) -> None:
        self.prefixes = set()
        for prefix in prefixes:
            parts = prefix.split(".")
            self.prefixes.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        self.aliased: list[str] = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.prefixes:
            spec = importlib.util.spec_from_loader(fullname, EmptyPackageLoader(), is_package=True)
            return spec
        head, sep, tail = fullname.partition(".utils")
        if not sep or head not in self.prefixes:
            return None
        target_name = "utils" + tail
        if target_name not in SUPPORT_PACKAGE_NAMES:
            return None
        self.aliased.append(fullname)
        return importlib.util.spec_from_loader(fullname, AliasLoader(target_name))


class EmptyPackageLoader(importlib.abc.Loader):
    """Creates an empty package (a folder prefix such as ``a2``)."""

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__path__ = []


class AliasLoader(importlib.abc.Loader):
    """Loads a module as an alias of an already importable one."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        return None


def _trim_traceback(exc: BaseException, student_dir: str) -> str:
    """The traceback restricted to frames in the student's files."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(student_dir)]
    lines = ["Traceback (your code only):"]
    for frame in frames[-8:]:
        lines.append(f'  File "{os.path.basename(frame.filename)}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line}")
    lines.append(f"{type(exc).__name__}: {_short(str(exc), 600)}")
    return "\n".join(lines)


def _short(text: str, limit: int = MAX_REPR) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _describe_exception(exc: BaseException, student_dir: str) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": _short(str(exc), 600),
            "traceback": _trim_traceback(exc, student_dir)}


def _digest(result: Any) -> list[Any]:
    """Shapes and fixed random projections of a call's outputs: enough to tell a right answer from a wrong one."""
    items = result if isinstance(result, tuple) else (result,)
    out = []
    for index, item in enumerate(items):
        try:
            arr = _asarray(item, dtype=np.float64)  # read only: no copy of a (V, d) gradient
        except (TypeError, ValueError):
            out.append({"shape": None, "projection": None})
            continue
        if arr.size == 1:  # a loss as a scalar or any size-1 array: the same digest
            value = float(arr.reshape(()))
        elif arr.ndim <= 1:
            value = float(_projection_weights(index, arr.size) @ arr.reshape(-1))
        else:  # u^T A w with fixed random u, w: as telling as a full random mask, at a matrix-vector product's cost
            rows = arr.reshape(arr.shape[0], -1)
            value = float(_projection_weights(index, rows.shape[0]) @ rows @ _projection_weights(100 + index, rows.shape[1]))
        out.append({"shape": list(arr.shape), "projection": value if np.isfinite(value) else None})
    return out


def _random_key(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True)


def _random_keys(call: dict[str, Any]) -> set[str]:
    """Cache keys of the generated timing inputs a call uses."""
    return {_random_key(a["random"]) for a in call.get("args", []) if isinstance(a, dict) and "random" in a}


_WEIGHTS: dict[tuple[int, int], np.ndarray] = {}


def _projection_weights(stream: int, n: int) -> np.ndarray:
    """Fixed pseudo-random weights in [0.5, 1.5) (never zero), cached per (stream, length)."""
    if (stream, n) not in _WEIGHTS:
        _WEIGHTS[(stream, n)] = np.random.default_rng(1000 + stream).random(n) + 0.5
    return _WEIGHTS[(stream, n)]


def _encode_value(value: Any, key: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Describe one returned value; numeric content goes to ``arrays[key]`` (copied)."""
    info: dict[str, Any] = {"key": key, "type": type(value).__name__}
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = _array(value, copy=True)
        info.update(kind="ndarray" if isinstance(value, np.ndarray) else "numpy_scalar",
                    dtype=str(arr.dtype), shape=list(arr.shape))
        if arr.dtype.kind in "biufc":
            arrays[key] = arr
        else:
            info["unsupported"] = True
    elif isinstance(value, (bool, int, float)):
        info.update(kind="python_scalar", dtype=type(value).__name__, shape=[])
        arrays[key] = _asarray(value, dtype=np.float64)
    elif isinstance(value, (list, tuple)):
        info.update(kind="sequence", length=len(value))
        try:
            arr = _asarray(value, dtype=np.float64)
            arrays[key] = arr
            info.update(dtype="float64", shape=list(arr.shape))
        except Exception:  # noqa: BLE001 - ragged or non-numeric
            info["unsupported"] = True
    else:
        info.update(kind="other", repr=_short(repr(value)))
    return info


def _encode_result(result: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if isinstance(result, tuple):
        items = [_encode_value(v, f"r{i}", arrays) for i, v in enumerate(result)]
        return {"result_kind": "tuple", "items": items}
    return {"result_kind": "single", "items": [_encode_value(result, "r0", arrays)]}


class Worker:
    """Executes one job description (see module docstring)."""

    def __init__(self, job: dict[str, Any], workdir: Path, *, inputs: dict[str, np.ndarray] | None = None,
                 modules: dict[str, Any] | None = None) -> None:
        """``inputs``/``modules`` given: in-process use by the trusted parent (reference modules)."""
        self.job = job
        self.workdir = workdir
        self.out_dir = workdir / job.get("out_dir", "out")
        self.student_dir = str((workdir / job.get("student_dir", "student")).resolve())
        if inputs is None:
            inputs = dict(np.load(workdir / job["arrays"], allow_pickle=False)) if job.get("arrays") else {}
        self.inputs = inputs
        self.modules: dict[str, Any] = dict(modules or {})
        self.finder = PrefixedUtilsFinder(job.get("utils_prefixes", []))
        self._restore: list[tuple[Any, str, Any]] = []
        self._random_cache: dict[str, np.ndarray] = {}  # pristine timing inputs, never handed out
        self._call_arrays: dict[str, np.ndarray] = {}  # this call's copies
        self._last_use: dict[str, int] = {}  # cache key -> index of the last call that uses it
        self._current = -1  # index of the running call

    # -- setup ---------------------------------------------------------------------------------
    def import_modules(self) -> None:
        self.out_dir.mkdir(exist_ok=True)
        sys.path.insert(0, self.student_dir)
        sys.meta_path.append(self.finder)
        for name in self.job.get("modules", []):
            call_id = f"import.{name}"
            already = len(self.finder.aliased)
            CONTROL.send(f"start {call_id}")
            meta: dict[str, Any] = {"id": call_id, "status": "ok"}
            stdout = io.StringIO()
            try:
                with contextlib.redirect_stdout(stdout):
                    self.modules[name] = importlib.import_module(name)
            except BaseException as exc:  # noqa: BLE001 - anything the student raises
                meta.update(status="exception", exception=_describe_exception(exc, self.student_dir))
            meta["stdout"] = _short(stdout.getvalue(), 4000)
            meta["aliased_imports"] = sorted(set(self.finder.aliased[already:]))
            self._write(call_id, meta, {})
            CONTROL.send(f"done {call_id}")

    # -- argument building ---------------------------------------------------------------------
    def build_arg(self, spec: Any) -> Any:
        if not isinstance(spec, dict):
            return spec
        if "array" in spec:
            return _array(self.inputs[spec["array"]], copy=True)
        if "value" in spec:
            return spec["value"]
        if "scripted_dataset" in spec:
            return support.ScriptedDataset(spec["scripted_dataset"])
        if "dummy_dataset" in spec:
            return support.DummyContextDataset()
        if "fn" in spec:
            return self.resolve_function(spec["fn"])
        if "random" in spec:  # large inputs for timing, generated here (once per run) instead of shipped
            return self._random_array(spec["random"])[: spec["random"]["shape"][0]]
        if "random_dataset" in spec:
            r = spec["random_dataset"]
            rng = np.random.default_rng(int(r["seed"]))
            return support.ScriptedDataset([int(i) for i in rng.integers(1, int(r["high"]), int(r["length"]))])
        raise ValueError(f"unknown argument spec {spec!r}")

    VARY_ROWS = 97
    """Extra rows generated for timing inputs: repetition r uses the view starting at row r mod 97."""

    def _random_array(self, r: dict[str, Any]) -> np.ndarray:
        """Uniform(−scale, scale) array of shape (shape[0] + VARY_ROWS, ...).

        Generated in place once per run and kept pristine; each speed call gets its own copy, so a
        function that modifies its inputs in place cannot change what another call receives. The
        last call that uses an array gets the pristine array itself, and no later call keeps it alive.
        """
        key = _random_key(r)
        if key not in self._random_cache:
            shape = (int(r["shape"][0]) + self.VARY_ROWS, *map(int, r["shape"][1:]))
            pristine = np.random.default_rng(int(r["seed"])).random(shape)
            pristine *= 2  # in place: no temporaries of the array's size
            pristine -= 1
            pristine *= float(r.get("scale", 1.0))
            self._random_cache[key] = pristine
        if key not in self._call_arrays:  # the last call to use it gets the pristine array itself (no copy)
            last = self._last_use.get(key) == self._current
            self._call_arrays[key] = self._random_cache.pop(key) if last else self._random_cache[key].copy()
        return self._call_arrays[key]

    def resolve_function(self, name: str):
        origin, _, attr = name.partition(":")
        if origin == "support":
            return getattr(support, attr)
        module = self.modules.get(origin)
        if module is None:
            raise LookupError(f"module {origin} was not imported")
        return getattr(module, attr)

    def prepare(self, call: dict[str, Any]):
        """The function to call, after injecting support functions into its module (undone after the call)."""
        module = self.modules[call["module"]]
        function = getattr(module, call["function"])
        for name, source in call.get("inject", {}).items():
            self._restore.append((module, name, getattr(module, name, None)))
            setattr(module, name, self.resolve_function(source))
        return function

    # -- operations ----------------------------------------------------------------------------
    def run_call(self, call: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        function = self.prepare(call)
        args = [self.build_arg(a) for a in call.get("args", [])]
        kwargs = {k: self.build_arg(v) for k, v in call.get("kwargs", {}).items()}
        originals = {i: _array(a, copy=True) for i, a in enumerate(args) if isinstance(a, np.ndarray)}
        self.seed(call)
        result = function(*args, **kwargs)
        arrays: dict[str, np.ndarray] = {}
        meta = _encode_result(result, arrays)
        meta["mutated"] = [i for i, before in originals.items()
                           if args[i].shape != before.shape or not np.array_equal(args[i], before, equal_nan=True)]
        return meta, arrays

    def seed(self, call: dict[str, Any]) -> None:
        if "seed" in call:
            random.seed(call["seed"])
            np.random.seed(call["seed"])

    def run_gradcheck(self, call: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Loss at x0 ± h e_i for every coordinate, and the analytic gradient at x0."""
        function = self.prepare(call)
        h = float(call.get("h", 1e-4))
        wrt = int(call["wrt"])
        out_index = int(call["output"])
        x0 = _array(self.inputs[call["args"][wrt]["array"]], dtype=np.float64, copy=True)
        self.seed(call)
        py_state, np_state = _getstate(), _np_get_state()

        def evaluate(x):  # fresh copies every time: a function that modifies its inputs cannot skew the check
            _setstate(py_state)
            _np_set_state(np_state)
            args = [self.build_arg(a) for a in call["args"]]
            args[wrt] = x.copy()
            return function(*args)

        first = evaluate(x0.copy())
        loss0 = float(_asarray(first[0], dtype=np.float64).reshape(-1)[0])
        grad = _array(_asarray(first[out_index], dtype=np.float64), copy=True)
        plus = np.empty(x0.size)
        minus = np.empty(x0.size)
        for i in range(x0.size):
            x = x0.copy().reshape(-1)
            x[i] += h
            plus[i] = float(_asarray(evaluate(x.reshape(x0.shape))[0], dtype=np.float64).reshape(-1)[0])
            x[i] -= 2 * h
            minus[i] = float(_asarray(evaluate(x.reshape(x0.shape))[0], dtype=np.float64).reshape(-1)[0])
            if i % 16 == 0:
                CONTROL.send(f"tick {call['id']}")
        meta = {"loss0": loss0, "grad_shape": list(grad.shape), "x_shape": list(x0.shape)}
        return meta, {"plus": plus, "minus": minus, "grad": grad}

    def run_wrapper_gradcheck(self, call: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Gradient check of skipgram through the starter's SGD wrapper with a given loss."""
        skipgram = self.prepare(call)
        loss_fn = self.resolve_function(call["loss"])
        word2ind = call["word2ind"]
        x0 = _array(self.inputs[call["vectors"]], dtype=np.float64, copy=True)
        h = float(call.get("h", 1e-4))
        self.seed(call)
        py_state, np_state = _getstate(), _np_get_state()
        dataset = support.DummyContextDataset()

        def evaluate(x):
            _setstate(py_state)
            _np_set_state(np_state)
            return support.sgd_wrapper(skipgram, word2ind, x.copy(), dataset, int(call["window"]), loss_fn,
                                       batch=int(call.get("batch", 50)))

        loss0, grad = evaluate(x0.copy())
        plus = np.empty(x0.size)
        minus = np.empty(x0.size)
        for i in range(x0.size):
            x = x0.copy().reshape(-1)
            x[i] += h
            plus[i] = float(evaluate(x.reshape(x0.shape))[0])
            x[i] -= 2 * h
            minus[i] = float(evaluate(x.reshape(x0.shape))[0])
            CONTROL.send(f"tick {call['id']}")
        return {"loss0": float(loss0)}, {"plus": plus, "minus": minus, "grad": _asarray(grad, dtype=np.float64)}

    def run_speed(self, call: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``samples`` blocks of ``reps`` calls, each between ``tstart``/``tdone`` markers.

        The parent reads the kernel's CPU counters at the markers while this process sleeps
        for ``gap`` seconds.  With ``calibrate`` (reference worker only) ``reps`` is first grown
        until a block takes that many CPU seconds; the count is reported back.  Arguments
        marked ``vary`` differ on every repetition (shifted views of one larger array; an
        index that advances), so caching answers between calls cannot hide the work.
        Gated (speed check): wait for gate ``<id>#prep``, build inputs and warm up (both
        workers at once), announce ``ready <id>``, then wait for gate ``<id>#<k>`` before block k.
        """
        function = self.prepare(call)
        specs = call.get("args", [])
        gap = float(call.get("gap", 0.01))
        samples = int(call.get("samples", 1))
        gated = bool(call.get("gated"))
        reps = int(call.get("reps", 1))
        if gated:  # nothing (not even building inputs) runs until the parent lets both sides prepare
            if self._wait_gate(f"{call['id']}#prep", 1) <= 0:
                return {"reps": 0, "digest": None}, {}
        base = [self.build_arg(a) for a in specs]
        self.seed(call)
        warm_start = time.process_time()
        digest = _digest(function(*base))  # warm-up (imports, caches), not measured; its output is checked
        warm_cpu = time.process_time() - warm_start
        if call.get("calibrate"):
            target = float(call["calibrate"])
            # A warm-up that already took a good part of the target calibrates by itself (heavy calls).
            reps = max(1, round(target / warm_cpu)) if warm_cpu >= target else \
                self._calibrate(function, base, target)
            CONTROL.send(f"reps {call['id']} {reps}")
        if gated:
            CONTROL.send(f"ready {call['id']}")
        variants = self._varying_args(specs, base)
        for sample in range(samples):
            if gated:
                reps = self._wait_gate(f"{call['id']}#{sample}", reps)
                if reps <= 0:
                    continue
            arg_lists = [variants(r) for r in range(sample * reps, (sample + 1) * reps)]
            self._mark(f"tstart {call['id']}#{sample}", gated, gap)
            for args in arg_lists:
                result = function(*args)
                for item in result if isinstance(result, tuple) else (result,):
                    _asarray(item)
                result = item = None  # freed before the next call: one call's outputs alive at a time
            self._mark(f"tdone {call['id']}#{sample}", gated, gap)
        return {"reps": reps, "digest": digest}, {}

    def _mark(self, line: str, gated: bool, gap: float) -> None:
        """Announce a timing marker, then idle until the parent has read the CPU counters.

        Gated runs wait for the parent's acknowledgement (``gate/<line>.ack``), however late a
        busy machine lets the parent read; otherwise the worker just sleeps ``gap`` seconds.
        """
        CONTROL.send(line)
        if not gated:
            _sleep(gap)
            return
        ack = self.workdir / "gate" / (line.replace(" ", "_") + ".ack")
        waited = 0.0
        while not ack.exists() and waited < ACK_TIMEOUT:
            _sleep(0.0005)
            waited += 0.0005

    def _varying_args(self, specs: list[Any], base: list[Any]):
        """A function r -> argument list in which ``vary`` arguments change with r (shifted views)."""

        def build(rep: int) -> list[Any]:
            args = list(base)
            for i, spec in enumerate(specs):
                if isinstance(spec, dict) and spec.get("vary") and "random" in spec:
                    n = int(spec["random"]["shape"][0])
                    offset = rep % self.VARY_ROWS
                    args[i] = self._random_array(spec["random"])[offset: offset + n]
                elif isinstance(spec, dict) and "vary_index" in spec:
                    args[i] = (int(spec["value"]) + rep) % int(spec["vary_index"])
            return args

        return build

    def _wait_gate(self, marker: str, default: int) -> int:
        """Block until the parent opens ``gate/<marker>``; its content is the repetition count (0: skip)."""
        gate = self.workdir / "gate" / marker
        waited = 0.0
        while not gate.exists():
            _sleep(0.002)
            waited += 0.002
            if waited >= 2.0:
                CONTROL.send(f"tick {marker}")
                waited = 0.0
        text = gate.read_text().strip()
        return int(text) if text.lstrip("-").isdigit() else default

    @staticmethod
    def _calibrate(function, args, target: float) -> int:
        """Repetitions for a block of about ``target`` CPU seconds (reference worker only: trusted clock)."""
        calls, start = 0, time.process_time()
        while True:
            function(*args)
            calls += 1
            elapsed = time.process_time() - start
            if elapsed >= target / 4 or calls >= 1 << 12:
                return max(1, min(1 << 16, round(target * calls / max(elapsed, 1e-9))))

    def run_sgd(self, call: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """One sgd probe variant (see :mod:`sgd_probe`); files go to a per-call folder."""
        try:
            from . import sgd_probe
        except ImportError:  # pragma: no cover
            import sgd_probe  # type: ignore[no-redef]

        module = self.modules[call["module"]]
        return sgd_probe.run_variant(module, call, self.inputs, self.workdir, self.modules)

    OPS = {"call": run_call, "gradcheck": run_gradcheck, "wrapper_gradcheck": run_wrapper_gradcheck,
           "speed": run_speed, "sgd": run_sgd}

    # -- main loop -----------------------------------------------------------------------------
    def execute(self, call: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Run one call; exceptions (even SystemExit) become metadata, never propagate."""
        meta: dict[str, Any] = {"id": call["id"], "status": "ok"}
        arrays: dict[str, np.ndarray] = {}
        stdout = io.StringIO()
        try:
            if call["module"] not in self.modules:
                raise LookupError(f"module {call['module']} is not available")
            with contextlib.redirect_stdout(stdout):
                extra, arrays = self.OPS[call["op"]](self, call)
            meta.update(extra)
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
            meta.update(status="exception", exception=_describe_exception(exc, self.student_dir))
        finally:
            while self._restore:
                module, name, old = self._restore.pop()
                setattr(module, name, old)
        meta["stdout"] = _short(stdout.getvalue(), int(call.get("stdout_limit", 4000)))
        return meta, arrays

    def run(self) -> None:
        self.out_dir.mkdir(exist_ok=True)
        if any("support:stable_sigmoid" in (c.get("inject") or {}).values() for c in self.job["calls"]):
            support.preload_sigmoid()  # speed: both workers pay this at start, side by side, not in turn
        self.import_modules()
        self._last_use = {key: i for i, call in enumerate(self.job["calls"]) for key in _random_keys(call)}
        for i, call in enumerate(self.job["calls"]):
            self._current = i
            CONTROL.send(f"start {call['id']}")
            meta, arrays = self.execute(call)
            self._write(call["id"], meta, arrays)
            self._call_arrays = {}  # freed now; the next call gets fresh copies, whatever this one did to them
            for key in [k for k, last in self._last_use.items() if last == i]:  # inputs no later call needs
                self._random_cache.pop(key, None)
            CONTROL.send(f"done {call['id']}")
        CONTROL.send("bye")

    def _write(self, call_id: str, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in call_id)
        if arrays:
            _savez(self.out_dir / f"{safe}.npz", **arrays)
        with open(self.out_dir / f"{safe}.json", "w", encoding="utf-8") as handle:
            _json_dump(meta, handle, default=str)


def main(argv: list[str]) -> int:
    workdir = Path(argv[1]).resolve() if len(argv) > 1 else Path.cwd()
    job = json.loads((workdir / "job.json").read_text(encoding="utf-8"))
    os.chdir(workdir / job.get("cwd", "."))
    CONTROL.send(f"hello {os.getpid()}")
    Worker(job, workdir).run()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
