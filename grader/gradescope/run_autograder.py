"""``w2v-grader run-autograder``: what Gradescope's ``run_autograder`` does for each submission.

Runs as root inside the Gradescope container (or as any user against a
simulated tree: ``--root DIR`` or ``W2V_AUTOGRADER_ROOT``)::

    ROOT/submission/                 the student's files, any nesting (read by the engine)
    ROOT/submission_metadata.json    who submitted (optional, tolerated missing/malformed)
    ROOT/source/                     the extracted autograder zip (rubric.toml)
    ROOT/results/results.json        written here, always, and only by this process

Steps:

1. load the rubric (``--rubric``, else ``ROOT/source/rubric.toml``, else the
   installed default) and the submission metadata;
2. make ``ROOT/source``, ``ROOT/results``, the metadata file, the
   expected-value cache and the installed reference solution unreadable to
   the sandbox user (:func:`grader.sandbox.ensure_unreadable`, root only) -
   student code runs as that user, started by the engine;
3. run the grading engine (:func:`grader.pipeline.grade_submission`) in a
   child process with ``deadline`` = start + ``[limits] budget_seconds``:
   the engine stops starting work near the deadline and returns partial
   results.  Each test the engine finishes is also streamed to a private
   progress file (its ``on_test`` hook);
4. hard watchdog: if the child is still running ``--grace`` seconds (60)
   after the deadline, it is killed; the tests it had finished keep their
   results and every other test is reported as not graded because time ran
   out (Gradescope's own timeout would give 0 points and no feedback at all).
   The engine child raises its ``oom_score_adj`` to 500 (no privilege
   needed; the student workers it starts inherit it), and this process
   lowers its own to -1000 where it may (``CAP_SYS_RESOURCE``, which Docker
   does not grant by default): when a submission exhausts the container's
   memory, the kernel's OOM killer picks a worker or the engine, never the
   process that writes results.json;
5. turn the result into results.json (:func:`grader.gradescope.results_json.to_results_json`),
   validate it against the schema and write it atomically.  Any failure of
   steps 1-5 still writes a valid results.json
   (:func:`grader.gradescope.results_json.internal_error_results`).

The log on stdout is for instructors (Gradescope keeps it in
``results/stdout``, hidden from students).  Exit status 0 whenever
results.json was written.
"""

from __future__ import annotations

import argparse
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

ROOT_ENV = "W2V_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
DEFAULT_ENGINE = "grader.pipeline:grade_submission"
DEFAULT_GRACE = 60.0
TERM_GRACE = 5.0
OOM_PROTECTED = -1000
"""oom_score_adj of the trusted parent where allowed (needs CAP_SYS_RESOURCE): never OOM-killed."""
OOM_ENGINE = 500
"""oom_score_adj of the engine child and, inherited, of the student workers: the OOM killer's first choice."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run-autograder`` sub-command."""
    parser = subparsers.add_parser(
        "run-autograder",
        help="grade ROOT/submission and write ROOT/results/results.json (Gradescope's run_autograder)",
        description=(
            "Grade the submission in the Gradescope layout and always write a valid results.json, "
            f"with partial results when the rubric's time budget runs out. ROOT defaults to "
            f"${ROOT_ENV} or {DEFAULT_ROOT}."
        ),
    )
    parser.add_argument("--root", type=Path, default=None,
                        help=f"autograder root (default: ${ROOT_ENV} or {DEFAULT_ROOT})")
    parser.add_argument("--rubric", type=Path, default=None,
                        help="rubric TOML (default: ROOT/source/rubric.toml if present, else the installed default)")
    parser.add_argument("--budget", type=float, default=None,
                        help="grading budget in seconds (default: the rubric's [limits] budget_seconds)")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE,
                        help=f"seconds after the budget before the engine is killed (default {DEFAULT_GRACE:g})")
    parser.add_argument("--output-format", choices=("md", "html"), default="md",
                        help="format of the report shown to students (default md)")
    parser.add_argument("--engine", default=DEFAULT_ENGINE, help=argparse.SUPPRESS)  # tests: module:function
    parser.set_defaults(func=run)


def autograder_root(explicit: Optional[Path] = None) -> Path:
    """``explicit``, else ``$W2V_AUTOGRADER_ROOT``, else ``/autograder``."""
    return Path(explicit or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def run(args: argparse.Namespace) -> int:
    """Grade and write results.json; 0 if it was written, 1 if even that failed."""
    start = time.monotonic()
    root = autograder_root(args.root)
    results_path = root / "results" / "results.json"
    _log(start, f"w2v-grader run-autograder, root {root}, uid {os.geteuid()}")
    if set_oom_score_adj(OOM_PROTECTED):
        _log(start, f"oom_score_adj {OOM_PROTECTED}: this process is never chosen by the OOM killer")
    else:
        _log(start, f"oom_score_adj unchanged (no CAP_SYS_RESOURCE); the engine and the workers get {OOM_ENGINE}")
    try:
        data = _grade(args, root, start)
    except BaseException as exc:  # noqa: BLE001 - whatever happened, Gradescope needs a results.json
        if isinstance(exc, KeyboardInterrupt):
            _log(start, "interrupted")
        from grader.gradescope.results_json import internal_error_results

        _log(start, "internal error:\n" + traceback.format_exc())
        data = internal_error_results(f"run-autograder failed: {traceback.format_exc()}",
                                      execution_time=time.monotonic() - start)
    return _write(data, results_path, start)


def _write(data: dict[str, Any], results_path: Path, start: float) -> int:
    from grader.gradescope.results_json import ResultsValidationError, internal_error_results, write_results_json

    try:
        write_results_json(results_path, data)
    except ResultsValidationError as exc:
        _log(start, f"generated results are invalid, writing an error result instead: {exc}")
        data = internal_error_results(f"invalid results.json generated: {exc}",
                                      execution_time=time.monotonic() - start)
        try:
            write_results_json(results_path, data)
        except Exception:  # noqa: BLE001
            _log(start, "cannot write results.json:\n" + traceback.format_exc())
            return 1
    except Exception:  # noqa: BLE001 - e.g. the results folder is not writable
        _log(start, "cannot write results.json:\n" + traceback.format_exc())
        return 1
    from grader.score import tally

    tests = data.get("tests", [])
    _log(start, f"wrote {results_path}: score {data.get('score')} / {tally(tests).possible:g} in {len(tests)} tests")
    return 0


def _grade(args: argparse.Namespace, root: Path, start: float) -> dict[str, Any]:
    from grader.gradescope.results_json import internal_error_results, timeout_results, to_results_json
    from grader.results import GradeResult
    from grader.rubric import RubricError, load_rubric

    (root / "results").mkdir(parents=True, exist_ok=True)
    rubric_path = args.rubric
    if rubric_path is None and (root / "source" / "rubric.toml").is_file():
        rubric_path = root / "source" / "rubric.toml"
    try:
        rubric = load_rubric(rubric_path)
    except RubricError as exc:
        _log(start, f"rubric error: {exc}")
        return internal_error_results(f"rubric error: {exc}", execution_time=time.monotonic() - start)
    _log(start, f"rubric {rubric.name!r} from {rubric.source_path} ({rubric.max_score:g} points, "
                f"{len(rubric.tests)} tests, leaderboard {'on' if rubric.leaderboard else 'off'})")

    student, note = read_metadata(root / "submission_metadata.json")
    _log(start, f"submission {student.submission_id or '(no id)'}: {note}")
    protect(root, start)

    budget = float(args.budget if args.budget is not None else rubric.limits.budget_seconds)
    deadline = start + budget
    hard_limit = budget + max(float(args.grace), 0.0)
    _log(start, f"budget {budget:g} s (engine deadline), watchdog at {hard_limit:g} s")

    outcome = _run_engine(args.engine, root / "submission", rubric_path, student, deadline,
                          start + hard_limit, start)
    elapsed = time.monotonic() - start
    if outcome.get("timeout"):
        finished = _finished_tests(outcome.get("finished", []), rubric)
        _log(start, f"engine still running after {elapsed:.1f} s: killed; reporting a timeout "
                    f"({len(finished)} finished tests kept)")
        return timeout_results(rubric, elapsed=elapsed, limit=hard_limit, detail=outcome.get("detail", ""),
                               finished=finished, output_format=args.output_format)
    if "error" in outcome:
        _log(start, "engine failed:\n" + outcome["error"])
        return internal_error_results(f"grading engine failed: {outcome['error']}", execution_time=elapsed)
    result = GradeResult.from_dict(outcome["result"])
    if result.internal_error:
        _log(start, f"engine reported an internal error: {result.internal_error}")
    skipped = sum(1 for t in result.tests if t.status.value == "skipped")
    _log(start, f"graded: {result.score:g} / {result.max_score:g}, {len(result.tests)} tests ({skipped} skipped), "
                f"isolation {', '.join(result.isolation_layers) or 'none'}")
    return to_results_json(result, rubric, output_format=args.output_format)


def _finished_tests(records: list, rubric) -> list:
    """TestResults from the engine's progress records (rubric tests only; unreadable records are skipped)."""
    from grader.results import TestResult, _from_dict

    known = {spec.id for spec in rubric.tests}
    finished = {}
    for record in records:
        try:
            test = _from_dict(TestResult, record)
        except Exception:  # noqa: BLE001 - a damaged record costs that test only
            continue
        if isinstance(test, TestResult) and test.test_id in known:
            finished[test.test_id] = test
    return list(finished.values())


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


def read_metadata(path: Path):
    """``StudentInfo`` from Gradescope's submission_metadata.json, and a note for the log.

    Tolerates a missing, unreadable or malformed file (an empty StudentInfo).
    """
    from grader.results import StudentInfo

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return StudentInfo(), "no submission_metadata.json"
    except (OSError, ValueError) as exc:
        return StudentInfo(), f"unreadable submission_metadata.json ({type(exc).__name__})"
    if not isinstance(data, dict):
        return StudentInfo(), "submission_metadata.json is not an object"
    users = data.get("users")
    users = [u for u in users if isinstance(u, dict)] if isinstance(users, list) else []

    def field(key: str) -> list[str]:
        return [str(u[key]) for u in users if u.get(key) not in (None, "")]

    submission_id = data.get("id")
    info = StudentInfo(submission_id="" if submission_id is None else str(submission_id),
                       names=field("name"), emails=field("email"), student_ids=field("id"))
    return info, f"{len(info.names) or len(users)} user(s)"


def protect(root: Path, start: float) -> None:
    """Make the autograder source, results, metadata, cache and installed reference unreadable to student code.

    The expected-value cache holds the reference's outputs for every test,
    hidden ones included; it is created (mode 0700) if it does not exist yet.
    """
    if os.geteuid() != 0:
        _log(start, "not root: cannot hide the autograder files from student code (fine for local runs)")
        return
    from grader.expected.cache import cache_root  # light: no numpy in this process

    cache = cache_root()
    if not cache.exists():
        cache.mkdir(parents=True, exist_ok=True)
        cache.chmod(0o700)
    paths = [root / "source", root / "results", root / "submission_metadata.json", cache]
    reference = _installed_reference()
    if reference is not None:
        paths.append(reference)
    paths = [p for p in paths if p.exists()]
    try:
        from grader.sandbox import ensure_unreadable
    except ImportError:  # pragma: no cover - the sandbox module is part of the grader
        ensure_unreadable = _ensure_unreadable
    changed = ensure_unreadable(paths, recursive=True)
    _log(start, f"made unreadable to others: {', '.join(str(p) for p in paths)} ({len(changed)} modes changed)")


def _installed_reference() -> Optional[Path]:
    """The reference package folder if it is installed inside this interpreter's prefix (the autograder venv)."""
    try:
        import reference
    except ImportError:
        return None
    paths = list(getattr(reference, "__path__", []))  # also a namespace package if __init__.py is unreadable
    if not paths:
        return None
    folder = Path(paths[0]).resolve()
    prefix = Path(sys.prefix).resolve()
    return folder if prefix in folder.parents else None


def _ensure_unreadable(paths, recursive: bool = False):  # pragma: no cover - fallback only
    changed = []
    for path in paths:
        for item in [path, *(path.rglob("*") if recursive and path.is_dir() else [])]:
            if not item.is_symlink():
                os.chmod(item, item.stat().st_mode & ~0o007)
                changed.append(item)
    return changed


# --------------------------------------------------------------------------- engine child


def _run_engine(engine: str, submission: Path, rubric_path: Optional[Path], student, deadline: float,
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
        argv = [sys.executable, "-P", "-m", "grader.gradescope.run_autograder", "--engine-child",
                str(private / "config.json")]
        import grader

        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(grader.__file__).resolve().parents[1])] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        sys.stdout.flush()
        sys.stderr.flush()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        _log(start, f"engine child pid {proc.pid}")
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


def _child_main(config_path: str) -> int:
    """The engine child: grade, then write {"result": ...} or {"error": traceback} to config["out"]."""
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    out = Path(config["out"])
    set_oom_score_adj(OOM_ENGINE)  # the workers inherit it: under memory pressure they go first, not the parent
    # Speed after correctness, never beside it: Gradescope's 768 MB cannot hold three workers at once
    # (and its ½ vCPU would gain nothing); a course may still export W2V_SEQUENTIAL_SPEED=0 on a bigger machine.
    os.environ.setdefault("W2V_SEQUENTIAL_SPEED", "1")
    try:
        from grader.results import StudentInfo, to_jsonable
        from grader.rubric import load_rubric

        rubric = load_rubric(Path(config["rubric"]) if config["rubric"] else None)
        engine = _load_engine(config["engine"])
        options = {}
        if config.get("progress") and _accepts(engine, "on_test"):
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


def _accepts(function, name: str) -> bool:
    import inspect

    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _load_engine(spec: str):
    import importlib

    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr or "grade_submission")


def _log(start: float, message: str) -> None:
    print(f"[run-autograder {time.monotonic() - start:7.1f}s] {message}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--engine-child":
        sys.exit(_child_main(sys.argv[2]))
    sys.exit("usage: python -m grader.gradescope.run_autograder --engine-child CONFIG")
