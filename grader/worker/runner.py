"""Sandbox worker: imports student modules, runs a job's calls, then (serve mode) timed blocks on request.

Runs INSIDE the sandbox, next to untrusted code, so nothing it reports is trusted: it executes
calls on the inputs the parent made and writes raw outputs as framed records
(:mod:`.records`, ``out/records.bin``); the parent validates every byte and computes every verdict
itself.  Expected values, the reference and the rubric never reach this process.

Control lines (fd ``W2V_CONTROL_FD``, worker -> parent): ``hello <pid>`` (before any student code),
``start <id>`` / ``done <id>`` around each call, ``serving`` once the job's calls are done in serve
mode, ``reply <seq>`` when the reply to request ``seq`` is in the records file, ``bye``.
Requests (fd ``W2V_REQUEST_FD``, parent -> worker, serve mode only), one JSON object per line:
``prepare`` (build a timed call's inputs and warm it up), ``block`` (run ``reps`` repetitions with
the parent's seed and keep their outputs), ``release``, ``bye`` -- see :mod:`.timing`.

Over 400 lines on purpose: it is the worker process's whole life (import, run the calls, write the
records, serve timed blocks), read top to bottom; it imports nothing of the grader beyond the
worker package, because it runs as the sandbox uid.
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
import select
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

import numpy as np

# Keep private references before student code can monkeypatch anything.
_asarray = np.asarray
_array = np.array
_write = os.write
_read = os.read
_select = select.select

try:  # these live next to this file inside the sandbox (package w2v_worker)
    from . import input_pack, records, support, timing
except ImportError:  # pragma: no cover - when run as a script
    import input_pack  # type: ignore[no-redef]
    import records  # type: ignore[no-redef]
    import support  # type: ignore[no-redef]
    import timing  # type: ignore[no-redef]

SUPPORT_PACKAGE_NAMES = ("utils.utils", "utils.gradcheck", "utils.treebank", "utils")
MAX_REPR = 300
MAX_REQUEST_BYTES = 1 << 20
STDOUT_KEEP = 4000
IDLE_TICK = 5.0
"""Seconds between heartbeats while a serving worker waits for the parent's next request."""


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


class Requests:
    """JSON-lines reader of the parent's requests (fd ``W2V_REQUEST_FD``)."""

    def __init__(self) -> None:
        fd = os.environ.pop("W2V_REQUEST_FD", None)
        self.fd = int(fd) if fd else None
        self.buffer = b""

    def next(self) -> Optional[dict[str, Any]]:
        """The next request, or None when the parent closed the pipe (or sent garbage)."""
        if self.fd is None:
            return None
        while b"\n" not in self.buffer:
            try:
                ready, _, _ = _select([self.fd], [], [], IDLE_TICK)
                if not ready:  # still here, waiting: keeps the sandbox's idle timer from ending the run
                    CONTROL.send("tick idle")
                    continue
                chunk = _read(self.fd, 65536)
            except OSError:
                return None
            if not chunk or len(self.buffer) > MAX_REQUEST_BYTES:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            request = json.loads(line)
        except ValueError:
            return None
        return request if isinstance(request, dict) else None


class CappedText(io.TextIOBase):
    """A text sink that keeps the first ``keep`` characters and only counts the rest."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.parts: list[str] = []
        self.kept = 0
        self.total = 0
        self.writes = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        self.total += len(text)
        self.writes += 1
        if self.kept < self.keep:
            piece = text[: self.keep - self.kept]
            self.parts.append(piece)
            self.kept += len(piece)
        return len(text)

    def getvalue(self) -> str:
        value = "".join(self.parts)
        return value + "…" if self.total > self.kept else value


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
            return importlib.util.spec_from_loader(fullname, EmptyPackageLoader(), is_package=True)
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
    lines.append(f"{type(exc).__name__}: {_short(_text(exc), 600)}")
    return "\n".join(lines)


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a student's __str__ may raise
        return "<unprintable exception>"


def _short(text: str, limit: int = MAX_REPR) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _describe_exception(exc: BaseException, student_dir: str) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": _short(_text(exc), 600),
            "traceback": _trim_traceback(exc, student_dir)}


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
        try:
            text = repr(value)
        except Exception:  # noqa: BLE001
            text = "<unprintable>"
        info.update(kind="other", repr=_short(text))
    return info


def _encode_result(result: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if isinstance(result, tuple):
        items = [_encode_value(v, f"r{i}", arrays) for i, v in enumerate(result)]
        return {"result_kind": "tuple", "items": items}
    return {"result_kind": "single", "items": [_encode_value(result, "r0", arrays)]}


class Worker:
    """Executes one job description (see module docstring)."""

    def __init__(self, job: dict[str, Any], workdir: Path) -> None:
        self.job = job
        self.workdir = workdir
        self.out_dir = workdir / job.get("out_dir", "out")
        self.student_dir = str((workdir / job.get("student_dir", "student")).resolve())
        self.inputs = input_pack.read_pack(workdir / job["arrays"]) if job.get("arrays") else {}
        self.modules: dict[str, Any] = {}
        self.finder = PrefixedUtilsFinder(job.get("utils_prefixes", []))
        self._restore: list[tuple[Any, str, Any]] = []
        self.out_dir.mkdir(exist_ok=True)
        self.writer = records.RecordWriter(str(self.out_dir / "records.bin"))
        self.timed: dict[str, timing.TimedCall] = {}

    # -- setup ---------------------------------------------------------------------------------
    def import_modules(self) -> None:
        sys.path.insert(0, self.student_dir)
        sys.meta_path.append(self.finder)
        for name in self.job.get("modules", []):
            call_id = f"import.{name}"
            already = len(self.finder.aliased)
            CONTROL.send(f"start {call_id}")
            meta: dict[str, Any] = {"id": call_id, "status": "ok"}
            stdout = CappedText(STDOUT_KEEP)
            try:
                with contextlib.redirect_stdout(stdout):
                    self.modules[name] = importlib.import_module(name)
            except BaseException as exc:  # noqa: BLE001 - anything the student raises
                meta.update(status="exception", exception=_describe_exception(exc, self.student_dir))
            meta["stdout"] = stdout.getvalue()
            meta["aliased_imports"] = sorted(set(self.finder.aliased[already:]))
            self.writer.write(call_id, meta, {})
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
        raise ValueError(f"unknown argument spec {sorted(spec)}")

    def resolve_function(self, name: str):
        origin, _, attr = name.partition(":")
        if origin == "support":
            return getattr(support, attr)
        module = self.modules.get(origin)
        if module is None:
            raise LookupError(f"module {origin} was not imported")
        return getattr(module, attr)

    def prepare(self, call: dict[str, Any]):
        """The function to call, after injecting support functions into its module (undone by restore())."""
        if call["module"] == "support":  # the speed check's loop baselines (reference worker)
            return getattr(support, call["function"])
        module = self.modules[call["module"]]
        function = getattr(module, call["function"])
        for name, source in call.get("inject", {}).items():
            self._restore.append((module, name, getattr(module, name, None)))
            setattr(module, name, self.resolve_function(source))
        return function

    def restore(self) -> None:
        while self._restore:
            module, name, old = self._restore.pop()
            setattr(module, name, old)

    # -- operations ----------------------------------------------------------------------------
    def run_call(self, call: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        function = self.prepare(call)
        args = [self.build_arg(a) for a in call.get("args", [])]
        kwargs = {k: self.build_arg(v) for k, v in call.get("kwargs", {}).items()}
        originals = {i: _array(a, copy=True) for i, a in enumerate(args) if isinstance(a, np.ndarray)}
        if "seed" in call:
            random.seed(call["seed"])
            np.random.seed(call["seed"])
        result = function(*args, **kwargs)
        arrays: dict[str, np.ndarray] = {}
        meta = _encode_result(result, arrays)
        meta["mutated"] = [i for i, before in originals.items()
                           if args[i].shape != before.shape or not np.array_equal(args[i], before, equal_nan=True)]
        return meta, arrays

    def run_sgd(self, call: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """One sgd probe variant (see :mod:`sgd_probe`); files go to a per-call folder."""
        try:
            from . import sgd_probe
        except ImportError:  # pragma: no cover
            import sgd_probe  # type: ignore[no-redef]

        module = self.modules[call["module"]]
        return sgd_probe.run_variant(module, call, self.inputs, self.workdir, self.modules)

    OPS = {"call": run_call, "sgd": run_sgd}

    def execute(self, call: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Run one call; exceptions (even SystemExit) become metadata, never propagate."""
        meta: dict[str, Any] = {"id": call["id"], "status": "ok"}
        arrays: dict[str, np.ndarray] = {}
        stdout = CappedText(int(call.get("stdout_limit", STDOUT_KEEP)))
        try:
            if call["module"] not in self.modules:
                raise LookupError(f"module {call['module']} is not available")
            with contextlib.redirect_stdout(stdout):
                extra, arrays = self.OPS[call["op"]](self, call)
            meta.update(extra)
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
            meta.update(status="exception", exception=_describe_exception(exc, self.student_dir))
        finally:
            self.restore()
        meta["stdout"] = stdout.getvalue()
        return meta, arrays

    # -- serve mode: the speed check's timed blocks ---------------------------------------------
    def serve(self, requests: Requests) -> None:
        """Answer the parent's requests until it says bye or closes the pipe."""
        while True:
            request = requests.next()
            if request is None or request.get("op") == "bye":
                return
            seq = request.get("seq")
            reply: dict[str, Any] = {"status": "ok"}
            sink = CappedText(0)  # timed code may print; it is timed, never shown
            try:
                with contextlib.redirect_stdout(sink):
                    reply.update(self.handle(request))
                reply["printed"] = sink.total  # characters printed by the timed code (for the message only)
                reply["writes"] = sink.writes
            except BaseException as exc:  # noqa: BLE001 - the student's exception, reported, never raised
                reply = {"status": "exception", "exception": _describe_exception(exc, self.student_dir)}
            self.writer.write(f"reply.{seq}", reply, {})
            CONTROL.send(f"reply {seq}")

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op, cid = request.get("op"), str(request.get("id"))
        if op == "prepare":
            self.release(cid)
            call = request["call"]
            function = self.prepare(call)  # injections stay until release
            self.timed[cid] = timing.TimedCall(function, call)
            self.timed[cid].run_block(1, int(request.get("seed", 0)))  # warm-up: imports, caches
            self.timed[cid].release()
            return {}
        if op == "block":
            only = request.get("only")
            return {"locations": self.timed[cid].run_block(int(request["reps"]), int(request["seed"]), _asarray,
                                                           [int(i) for i in only] if isinstance(only, list) else None)}
        if op == "release":
            self.release(cid)
            return {}
        raise ValueError(f"unknown request {op!r}")

    def release(self, cid: str) -> None:
        timed = self.timed.pop(cid, None)
        if timed is not None:
            timed.release()
            self.restore()

    # -- main loop -----------------------------------------------------------------------------
    def run(self) -> None:
        self.import_modules()
        for call in self.job["calls"]:
            CONTROL.send(f"start {call['id']}")
            meta, arrays = self.execute(call)
            self.writer.write(call["id"], meta, arrays)
            CONTROL.send(f"done {call['id']}")
        if self.job.get("serve"):
            CONTROL.send("serving")
            self.serve(Requests())
        CONTROL.send("bye")


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
