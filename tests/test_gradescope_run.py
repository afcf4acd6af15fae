"""``w2v-grader run-autograder`` and the ``run_autograder`` wrapper, with stand-in grading engines.

The engine is replaced (hidden ``--engine module:function`` option) by small functions written
into a temporary module, so these tests cover the budget, the watchdog, crashes, metadata and
file protection quickly and independently of the real engine (tests/test_gradescope_autograder.py
runs the real one).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.gradescope.results_json import validate_results
from grader.rubric import load_rubric

REPO = Path(__file__).resolve().parents[1]
RUBRIC = load_rubric()

FAKE_ENGINE = '''
import os, signal, time
from grader.results import GradeResult, Status, SubmissionFiles, TestResult

def _result(rubric, student, summary=""):
    tests = [TestResult(test_id=s.id, name=s.name, number=s.number, function=s.function, check=s.check,
                        score=s.points, max_score=s.points, status=Status.PASSED, visibility=s.visibility,
                        summary=summary) for s in rubric.tests]
    return GradeResult(submission=SubmissionFiles(root="x"), tests=tests, score=rubric.max_score,
                       max_score=rubric.max_score, execution_time=0.5, grader_version="test",
                       rubric_name=rubric.name, rubric_hash=rubric.source_hash, student=student,
                       isolation_layers=["fake"])

def ok(path, rubric, *, mode, student, deadline):
    files = sorted(p.name for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
    summary = "remaining=%.1f files=%s names=%s" % (deadline - time.monotonic(), ",".join(files),
                                                     ",".join(student.names))
    return _result(rubric, student, summary)

def partial(path, rubric, *, mode, student, deadline):
    result = _result(rubric, student)
    for test in result.tests[3:]:
        test.status, test.score, test.summary = Status.SKIPPED, 0.0, "Not run: the time budget ran out."
    return result

def crash(path, rubric, *, mode, student, deadline):
    raise RuntimeError("engine exploded")

def die(path, rubric, *, mode, student, deadline):
    os.kill(os.getpid(), signal.SIGKILL)

def hang(path, rubric, *, mode, student, deadline):
    while True:
        time.sleep(1)

def hang_ignoring_sigterm(path, rubric, *, mode, student, deadline):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    hang(path, rubric, mode=mode, student=student, deadline=deadline)

def progress_then_hang(path, rubric, *, mode, student, deadline, on_test=None):
    result = _result(rubric, student, summary="finished before the watchdog")
    for test in result.tests[:3]:
        on_test(test)
    hang(path, rubric, mode=mode, student=student, deadline=deadline)

def report_oom(path, rubric, *, mode, student, deadline):
    own = open("/proc/self/oom_score_adj").read().strip()
    parent = open("/proc/%d/oom_score_adj" % os.getppid()).read().strip()
    return _result(rubric, student, summary="oom child=%s parent=%s" % (own, parent))

def bad_result(path, rubric, *, mode, student, deadline):
    result = _result(rubric, student)
    result.tests[0].visibility = "sometimes"  # invalid in results.json
    return result
'''

METADATA = {
    "id": 42, "created_at": "2026-01-01T10:00:00.000000-08:00",
    "assignment": {"id": 7, "title": "A2 coding", "total_points": 16.0},
    "submission_method": "upload",
    "users": [{"email": "ada@example.edu", "id": 1001, "name": "Ada Lovelace"},
              {"email": "alan@example.edu", "id": 1002, "name": "Alan Turing"}],
    "previous_submissions": [],
}


@pytest.fixture()
def engine_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "engine"
    folder.mkdir()
    (folder / "fake_engine.py").write_text(FAKE_ENGINE)
    return folder


def make_root(tmp_path: Path, *, metadata: object = METADATA, rubric: str | None = None) -> Path:
    root = tmp_path / "autograder"
    (root / "submission" / "deep" / "a2").mkdir(parents=True)
    (root / "submission" / "deep" / "a2" / "word2vec.py").write_text("def sigmoid(x):\n    return x\n")
    (root / "submission" / "deep" / "a2" / "sgd.py").write_text("def sgd():\n    pass\n")
    (root / "source").mkdir()
    (root / "source" / "rubric.toml").write_text(rubric or (REPO / "grader" / "rubric_default.toml").read_text())
    (root / "results").mkdir()
    if isinstance(metadata, dict):
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    elif isinstance(metadata, str):
        (root / "submission_metadata.json").write_text(metadata)
    return root


def run_autograder(root: Path, engine_dir: Path, engine: str, *extra: str, use_env: bool = False,
                   timeout: float = 90, env_extra: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    env = dict(os.environ, PYTHONPATH=str(engine_dir), **(env_extra or {}))
    args = [sys.executable, "-m", "grader", "run-autograder", "--engine", f"fake_engine:{engine}", *extra]
    if use_env:
        env["W2V_AUTOGRADER_ROOT"] = str(root)
    else:
        args += ["--root", str(root)]
    proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    data = json.loads((root / "results" / "results.json").read_text())
    validate_results(data)
    return proc, data


def test_normal_run_writes_valid_results(tmp_path: Path, engine_dir: Path) -> None:
    root = make_root(tmp_path)
    (root / "results" / "results.json").write_text("stale")
    proc, data = run_autograder(root, engine_dir, "ok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert data["score"] == RUBRIC.max_score
    assert len(data["tests"]) == len(RUBRIC.tests)
    assert data["extra_data"]["submission_id"] == "42"
    summary = data["tests"][0]["output"]
    assert "files=sgd.py,word2vec.py" in summary  # the engine got ROOT/submission (nested files)
    assert "names=Ada Lovelace,Alan Turing" in summary
    remaining = float(summary.split("remaining=")[1].split()[0])
    assert RUBRIC.limits.budget_seconds - 30 < remaining <= RUBRIC.limits.budget_seconds
    assert "[run-autograder" in proc.stdout and "wrote" in proc.stdout  # the instructors' log
    assert sorted(os.listdir(root / "results")) == ["results.json"]


def test_html_output_format_option(tmp_path: Path, engine_dir: Path) -> None:
    from html.parser import HTMLParser

    root = make_root(tmp_path)
    proc, data = run_autograder(root, engine_dir, "ok", "--output-format", "html")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert data["output_format"] == "html" and data["test_output_format"] == "text"
    tags: list[tuple[str, list]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append((tag, attrs))

    Collect().feed(data["output"])
    assert tags and all(not attrs for _, attrs in tags) and {"h2", "table"} <= {t for t, _ in tags}
    assert "visible points; 1.5 points in hidden tests" in data["output"]  # the default rubric has after_published tests


def test_root_from_environment_and_budget_option(tmp_path: Path, engine_dir: Path) -> None:
    root = make_root(tmp_path)
    proc, data = run_autograder(root, engine_dir, "ok", "--budget", "100", use_env=True)
    assert proc.returncode == 0
    remaining = float(data["tests"][0]["output"].split("remaining=")[1].split()[0])
    assert 70 < remaining <= 100


@pytest.mark.parametrize("metadata", [None, "{not json", "[1, 2]", {"users": "nobody"}, {"id": None, "users": [5]}])
def test_missing_or_malformed_metadata_is_tolerated(tmp_path: Path, engine_dir: Path, metadata: object) -> None:
    root = make_root(tmp_path, metadata=metadata)
    proc, data = run_autograder(root, engine_dir, "ok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert data["score"] == RUBRIC.max_score
    assert data["extra_data"]["submission_id"] == ""


def test_partial_results_from_the_engine_are_reported(tmp_path: Path, engine_dir: Path) -> None:
    root = make_root(tmp_path)
    proc, data = run_autograder(root, engine_dir, "partial")
    assert proc.returncode == 0
    assert data["score"] == sum(s.points for s in RUBRIC.tests[:3])
    skipped = [t for t in data["tests"] if t["extra_data"]["status"] == "skipped"]
    assert len(skipped) == len(RUBRIC.tests) - 3 and all(t["status"] == "failed" for t in skipped)


def test_rubric_comes_from_the_source_folder(tmp_path: Path, engine_dir: Path) -> None:
    text = (REPO / "grader" / "rubric_default.toml").read_text()
    start = text.index("[[tests]]")
    custom = "leaderboard = true\n" + text[:start] + text[start:].split("[[tests]]")[0] + \
        "[[tests]]" + text[start:].split("[[tests]]")[1]
    root = make_root(tmp_path, rubric=custom)
    proc, data = run_autograder(root, engine_dir, "ok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(data["tests"]) == 1 and "leaderboard" in data


def test_invalid_rubric_gives_an_error_result(tmp_path: Path, engine_dir: Path) -> None:
    root = make_root(tmp_path, rubric='name = "broken"\n')
    proc, data = run_autograder(root, engine_dir, "ok")
    assert proc.returncode == 0
    assert [t["name"] for t in data["tests"]] == ["Autograder error"]
    assert "rubric" in data["extra_data"]["internal_error"]


def test_engine_exception_gives_an_error_result(tmp_path: Path, engine_dir: Path) -> None:
    root = make_root(tmp_path)
    proc, data = run_autograder(root, engine_dir, "crash")
    assert proc.returncode == 0
    assert data["score"] == 0 and [t["name"] for t in data["tests"]] == ["Autograder error"]
    assert "engine exploded" in data["extra_data"]["internal_error"]
    assert "engine exploded" not in data["output"] + data["tests"][0]["output"]


def test_engine_killed_gives_an_error_result(tmp_path: Path, engine_dir: Path) -> None:
    root = make_root(tmp_path)
    proc, data = run_autograder(root, engine_dir, "die")
    assert proc.returncode == 0
    assert "killed by signal 9" in data["extra_data"]["internal_error"]


def test_invalid_generated_results_are_replaced_by_an_error_result(tmp_path: Path, engine_dir: Path) -> None:
    root = make_root(tmp_path)
    proc, data = run_autograder(root, engine_dir, "bad_result")
    assert proc.returncode == 0
    assert "invalid results.json" in data["extra_data"]["internal_error"]


@pytest.mark.parametrize("engine", ["hang", "hang_ignoring_sigterm"])
def test_watchdog_stops_an_overrunning_engine(tmp_path: Path, engine_dir: Path, engine: str) -> None:
    root = make_root(tmp_path)
    started = time.monotonic()
    proc, data = run_autograder(root, engine_dir, engine, "--budget", "1", "--grace", "1", timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert elapsed < 20
    assert data["score"] == 0 and data["extra_data"]["timeout"] is True
    assert [t["extra_data"]["test_id"] for t in data["tests"]] == RUBRIC.ids()
    assert all("Grading was stopped" in t["output"] for t in data["tests"])
    pid = int(proc.stdout.split("engine child pid ")[1].split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the engine is gone


def test_watchdog_keeps_the_tests_finished_before_it_fired(tmp_path: Path, engine_dir: Path) -> None:
    """Tests the engine reported (on_test) before it overran keep their points; only the rest time out."""
    root = make_root(tmp_path)
    proc, data = run_autograder(root, engine_dir, "progress_then_hang", "--budget", "1", "--grace", "1", timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert data["extra_data"]["timeout"] is True and data["extra_data"]["finished_tests"] == 3
    kept = RUBRIC.tests[:3]
    assert [t["extra_data"]["test_id"] for t in data["tests"]] == RUBRIC.ids()
    for entry, spec in zip(data["tests"], RUBRIC.tests):
        if spec in kept:
            assert entry["score"] == spec.points and entry["status"] == "passed"
            assert "finished before the watchdog" in entry["output"]
        else:
            assert entry["score"] == 0 and "Grading was stopped" in entry["output"]
    assert data["score"] == sum(s.points for s in kept)
    assert "3 finished tests kept" in proc.stdout


def test_the_real_engine_streams_its_progress() -> None:
    """run-autograder passes on_test only to engines that take it: the real one must."""
    from grader.gradescope.engine import DEFAULT_ENGINE, accepts, load_engine

    assert accepts(load_engine(DEFAULT_ENGINE), "on_test")


def test_cache_root_matches_the_engine() -> None:
    from grader.expected.cache import cache_dir, cache_root

    assert cache_dir().parent == cache_root()


def test_the_oom_killer_prefers_the_engine_over_the_trusted_parent(tmp_path: Path, engine_dir: Path) -> None:
    """The engine (and its workers, by inheritance) raise oom_score_adj; the parent lowers it where allowed."""
    from grader.gradescope.engine import OOM_ENGINE, OOM_PROTECTED

    root = make_root(tmp_path)
    proc, data = run_autograder(root, engine_dir, "report_oom")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    output = data["tests"][0]["output"]
    child, parent = (int(part.split("=")[1]) for part in output.split()[1:3])
    assert child == OOM_ENGINE
    if "oom_score_adj unchanged" in proc.stdout:  # no CAP_SYS_RESOURCE (Docker's default)
        assert parent == int(Path("/proc/self/oom_score_adj").read_text()) < child
    else:
        assert parent == OOM_PROTECTED


@pytest.mark.skipif(os.geteuid() != 0, reason="file protection only applies when running as root")
def test_expected_value_cache_becomes_unreadable_to_others(tmp_path: Path, engine_dir: Path) -> None:
    """The cache holds the reference's outputs for hidden tests too: created 0700, existing files o=."""
    fresh = tmp_path / "fresh" / "cache"
    root = make_root(tmp_path)
    proc, _ = run_autograder(root, engine_dir, "ok", env_extra={"W2V_CACHE_DIR": str(fresh)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700

    existing = tmp_path / "existing"
    (existing / "expected").mkdir(parents=True)
    (existing / "expected" / "abc.json").write_text("{}")
    for path in (existing, existing / "expected"):
        path.chmod(0o755)
    (existing / "expected" / "abc.json").chmod(0o644)
    (root / "results" / "results.json").unlink()
    proc, _ = run_autograder(root, engine_dir, "ok", env_extra={"W2V_CACHE_DIR": str(existing)})
    assert proc.returncode == 0
    for path in (existing, existing / "expected", existing / "expected" / "abc.json"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path


@pytest.mark.skipif(os.geteuid() != 0, reason="file protection only applies when running as root")
def test_source_results_and_metadata_become_unreadable_to_others(tmp_path: Path, engine_dir: Path) -> None:
    root = make_root(tmp_path)
    (root / "source" / "reference").mkdir()
    (root / "source" / "reference" / "word2vec.py").write_text("secret = 1\n")
    for path in (root / "source", root / "results"):
        path.chmod(0o755)
    proc, data = run_autograder(root, engine_dir, "ok")
    assert proc.returncode == 0
    for path in (root / "source", root / "source" / "rubric.toml", root / "source" / "reference" / "word2vec.py",
                 root / "results", root / "submission_metadata.json"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path
    assert stat.S_IMODE((root / "submission").stat().st_mode) & 0o005  # the submission is left alone
    assert "made unreadable to others" in proc.stdout


def _wrapper(root: Path, venv: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, W2V_AUTOGRADER_ROOT=str(root), W2V_VENV=str(venv))
    return subprocess.run(["bash", str(REPO / "grader" / "gradescope" / "bundle" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=60)


def test_wrapper_writes_an_error_result_when_the_install_is_broken(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (root / "results" / "results.json").write_text('{"score": 99}')
    proc = _wrapper(root, tmp_path / "no-venv")
    assert proc.returncode == 127
    data = json.loads((root / "results" / "results.json").read_text())
    validate_results(data)
    assert data["score"] == 0 and data["tests"][0]["name"] == "Autograder error"


def test_wrapper_runs_the_installed_command(tmp_path: Path) -> None:
    """A stand-in venv whose w2v-grader writes nothing: the wrapper still leaves a valid results.json."""
    root = make_root(tmp_path)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    script = venv / "bin" / "w2v-grader"
    script.write_text(textwrap.dedent(f"""\
        #!/usr/bin/env bash
        echo "$@" > {tmp_path / 'args.txt'}
        exit 3
        """))
    script.chmod(0o755)
    proc = _wrapper(root, venv)
    assert proc.returncode == 3
    assert (tmp_path / "args.txt").read_text().split() == ["run-autograder", "--root", str(root)]
    validate_results(json.loads((root / "results" / "results.json").read_text()))
