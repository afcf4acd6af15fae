"""The grading engine's own process: started, watched and killed by ``run-autograder``, which stays small.

:func:`run_engine` (in the trusted parent) runs the engine (:data:`DEFAULT_ENGINE`, the grading
pipeline) in a child process (``python -P -m grader.gradescope.engine --engine-child CONFIG``,
:func:`child_main`) with a deadline; the child writes its result, and each test as soon as it is
final (a progress file, the engine's ``on_test`` hook), to a private folder (mode 0700, not
readable by the sandbox).  If the child is still running at the hard deadline it is stopped
(SIGTERM, then SIGKILL of its process group) and the tests it finished are returned.

Memory: the child raises its ``oom_score_adj`` to :data:`OOM_ENGINE` (no privilege needed; the
student workers it starts inherit it) and the parent lowers its own to :data:`OOM_PROTECTED`
where it may (``CAP_SYS_RESOURCE``): under memory pressure the kernel kills a worker or the
engine, never the process that writes results.json.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Optional

DEFAULT_ENGINE = "grader.pipeline:grade_submission"
TERM_GRACE = 5.0
OOM_PROTECTED = -1000
"""oom_score_adj of the trusted parent where allowed (needs CAP_SYS_RESOURCE): never OOM-killed."""
OOM_ENGINE = 500
"""oom_score_adj of the engine child and, inherited, of the student workers: the OOM killer's first choice."""


def set_oom_score_adj(value: int, pid: str = "self") -> bool:
    """Write ``value`` to /proc/PID/oom_score_adj; False if not allowed or not possible.

    Raising it is always allowed; lowering it needs ``CAP_SYS_RESOURCE``.
    """
    try:
        fd = os.open(f"/proc/{pid}/oom_score_adj", os.O_WRONLY)
    except OSError:
        return False
    try:
        os.write(fd, str(int(value)).encode("ascii"))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def run_engine(engine: str, submission: Path, rubric_path: Optional[Path], student, deadline: float,
                hard_deadline: float, start: float) -> dict[str, Any]:
    """Run the engine in a child process; its decoded output, or {"timeout": True} / {"error": ...}."""
    from dataclasses import asdict

    private = Path(tempfile.mkdtemp(prefix="w2v-autograder-"))  # mode 0700: not readable by the sandbox
    try:
        config = {
            "engine": engine,
            "submission": str(submission),
            "rubric": str(rubric_path) if rubric_path else None,
            "student": asdict(student),
            "deadline": deadline,
            "out": str(private / "result.json"),
            "progress": str(private / "progress.jsonl"),
        }
        (private / "config.json").write_text(json.dumps(config), encoding="utf-8")
        # -P: not the working directory on sys.path; PYTHONPATH: the very grader this process runs.
        argv = [sys.executable, "-P", "-m", "grader.gradescope.engine", "--engine-child",
                str(private / "config.json")]
        import grader

        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(grader.__file__).resolve().parents[1])] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        sys.stdout.flush()
        sys.stderr.flush()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        log(start, f"engine child pid {proc.pid}")
        try:
            returncode = proc.wait(timeout=max(hard_deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            _stop(proc)
            return {"timeout": True, "detail": f"engine child {proc.pid} killed by the watchdog",
                    "finished": _read_progress(private / "progress.jsonl")}
        try:
            return json.loads((private / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            how = (f"was killed by signal {-returncode} (9 usually means out of memory)" if returncode < 0
                   else f"exited with status {returncode}")
            return {"error": f"the grading engine process {how} without a result"}
    finally:
        _remove_tree(private)


def _read_progress(path: Path) -> list:
    """The test records the engine streamed before it was stopped (a torn last line is ignored)."""
    records = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return records
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the child's process group, then SIGKILL it if it is still there after a few seconds."""
    for sig, wait in ((signal.SIGTERM, TERM_GRACE), (signal.SIGKILL, TERM_GRACE)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def child_main(config_path: str) -> int:
    """The engine child: grade, then write {"result": ...} or {"error": traceback} to config["out"]."""
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    out = Path(config["out"])
    set_oom_score_adj(OOM_ENGINE)  # the workers inherit it: under memory pressure they go first, not the parent
    try:
        from grader.results import StudentInfo, to_jsonable
        from grader.rubric import load_rubric

        rubric = load_rubric(Path(config["rubric"]) if config["rubric"] else None)
        engine = load_engine(config["engine"])
        options = {}
        if config.get("progress") and accepts(engine, "on_test"):
            options["on_test"] = _progress_writer(Path(config["progress"]), to_jsonable)
        result = engine(Path(config["submission"]), rubric, mode="grade",
                        student=StudentInfo(**config["student"]), deadline=float(config["deadline"]), **options)
        payload: dict[str, Any] = {"result": to_jsonable(result)}
    except BaseException:  # noqa: BLE001 - reported to the parent
        payload = {"error": traceback.format_exc()}
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(payload, default=str), encoding="utf-8")
    os.replace(tmp, out)
    return 0


def _progress_writer(path: Path, to_jsonable):
    """``on_test`` callback: append each finished TestResult as one JSON line (read by the watchdog)."""
    def on_test(test) -> None:
        try:
            line = json.dumps(to_jsonable(test), default=str)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except Exception:  # noqa: BLE001 - progress is best effort, grading goes on
            pass
    return on_test


def accepts(function, name: str) -> bool:
    import inspect

    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def load_engine(spec: str):
    import importlib

    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr or "grade_submission")


def log(start: float, message: str) -> None:
    """One line of the instructors' log (Gradescope keeps stdout in results/stdout, hidden from students)."""
    print(f"[run-autograder {time.monotonic() - start:7.1f}s] {message}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--engine-child":
        sys.exit(child_main(sys.argv[2]))
    sys.exit("usage: python -m grader.gradescope.engine --engine-child CONFIG")
