"""Batch grading end to end with the real engine and real processes (CLI as a subprocess).

* a ``-j 2`` run over a fake Gradescope export with a small rubric that keeps
  a speed test: every output, and the speed verdicts equal grading alone;
* SIGKILL mid-way + ``--resume`` equals an uninterrupted run (6 submissions,
  rubric without speed tests so the three runs stay cheap);
* Ctrl-C while hostile submissions (an endless loop, a fork bomb) are being
  graded: exit 130, finished results kept, no process left behind.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_batch_support import (
    HANG_RUBRIC,
    NO_SPEED_RUBRIC,
    REPO,
    STUDENTS,
    cli_env,
    copy_submission,
    have_submissions,
    make_gradescope_export,
    run_cli,
    write_rubric,
)

from grader.batch.executors import descendants

RESUME_STUDENTS = STUDENTS + [("correct_einsum", "Grace Hopper", "1000005", "grace@example.edu"),
                               ("bug_sgd_ascent", "Edsger Dijkstra", "1000006", "edsger@example.edu")]
HOSTILE = ["hangs_forever", "hostile_fork_bomb"]

pytestmark = pytest.mark.skipif(
    not have_submissions(*(s[0] for s in RESUME_STUDENTS), *HOSTILE),
    reason="needs the sample submissions in submissions/")

SPEED_TEST = "naiveSoftmaxLossAndGradient.speed"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch-e2e")
    export = make_gradescope_export(root / "in")
    rubric = write_rubric(root)
    return SimpleNamespace(root=root, export=export, rubric=rubric)


@pytest.fixture(scope="module")
def full_run(corpus):
    out = corpus.root / "full"
    started = time.monotonic()
    proc = run_cli("batch", corpus.export, "--out", out, "-j", "2", "--rubric", corpus.rubric)
    return SimpleNamespace(out=out, proc=proc, seconds=time.monotonic() - started)


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def normalized(record: dict) -> dict:
    """A record without timing: wall times, worker ids, and the measured numbers of speed tests."""
    record = {k: v for k, v in record.items() if k not in ("worker", "started_at", "finished_at", "duration")}
    result = dict(record.get("result") or {})
    if result:
        result.pop("execution_time", None)
        tests = []
        for test in result.get("tests", []):
            if test.get("check") == "speed":
                speed = test.get("speed") or {}
                test = {"test_id": test["test_id"], "score": test["score"], "status": test["status"],
                        "verdict": speed.get("verdict"), "loops": speed.get("loops_over_vocabulary")}
            tests.append(test)
        result["tests"] = tests
        record["result"] = result
    return record


def _speed_verdict(record: dict) -> tuple:
    test = next(t for t in record["result"]["tests"] if t["test_id"] == SPEED_TEST)
    return test["speed"]["verdict"], test["score"]


def test_batch_run_produces_every_output(full_run) -> None:
    out, proc = full_run.out, full_run.proc
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "graded 4" in proc.stdout and "failed 0" in proc.stdout and "median" in proc.stdout
    assert proc.stdout.count("graded ") >= 5, "one line per finished submission when stdout is not a TTY"
    records = _records(out)
    assert len(records) == 4 and len({r["key"] for r in records}) == 4
    assert all(r["status"] == "graded" for r in records)
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows) or len(rows) == 4
    assert list(rows[0])[:4] == ["id", "name", "email", "total"] and SPEED_TEST in rows[0]
    by_name = {r["name"]: r for r in rows}
    assert float(by_name["Ada Lovelace"]["total"]) == 4.0  # the reference gets everything
    assert float(by_name["Alan Turing"]["total"]) < 4.0
    for record in records:
        folder = out / record["key"]
        assert "<html" in (folder / "report.html").read_text(encoding="utf-8").lower()
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        assert len(data["tests"]) >= 4
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f"{r['key']}/report.html" in index for r in records)


def test_speed_verdict_in_batch_equals_alone(corpus, full_run) -> None:
    """Graded in a -j 2 batch (speed lock held) or alone, a fast and a slow submission get the same verdict."""
    from grader.pipeline import grade_submission
    from grader.rubric import load_rubric

    rubric = load_rubric(corpus.rubric)
    batch = {r["source"]: r for r in _records(full_run.out)}
    verdicts = {}
    for folder, who in (("submission_2000001", "fast"), ("submission_2000003", "slow")):
        alone = grade_submission(corpus.export / folder, rubric)
        test = next(t for t in alone.tests if t.test_id == SPEED_TEST)
        alone_verdict = (test.speed.verdict, test.score)
        in_batch = next(t for t in batch[folder]["result"]["tests"] if t["test_id"] == SPEED_TEST)
        assert _speed_verdict(batch[folder]) == alone_verdict, (who, in_batch["speed"], test.speed)
        verdicts[who] = (alone_verdict, test.speed.loops_over_vocabulary)
    assert verdicts["fast"][0] == ("fast", 1.0)
    assert verdicts["slow"][0][0] != "fast" and verdicts["slow"][1] is True


def _watch(proc: subprocess.Popen, out: Path, want_lines: int, timeout: float) -> set[int]:
    """Wait until ``want_lines`` results are on disk; returns every descendant pid seen meanwhile."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    jsonl = out / "results.jsonl"
    while time.monotonic() < deadline and proc.poll() is None:
        seen.update(descendants([proc.pid]))
        if jsonl.exists() and jsonl.read_bytes().count(b"\n") >= want_lines:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"no result on disk in time (rc={proc.poll()})")


def _alive(pids: set[int], wait: float = 10.0) -> list[str]:
    """The processes of ``pids`` still running after ``wait`` seconds, with their command lines."""
    deadline = time.monotonic() + wait
    while True:
        alive = []
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
                alive.append(f"{pid}: {cmdline}")
            except OSError:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _popen(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "grader", *map(str, args)], cwd=REPO, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path: Path) -> None:
    export = make_gradescope_export(tmp_path / "in", students=RESUME_STUDENTS)
    rubric = write_rubric(tmp_path, NO_SPEED_RUBRIC)
    full_out, out = tmp_path / "full", tmp_path / "killed"
    full = run_cli("batch", export, "--out", full_out, "-j", "2", "--rubric", rubric)
    assert full.returncode == 0, full.stdout + full.stderr

    proc = _popen("batch", export, "--out", out, "-j", "1", "--rubric", rubric)
    seen = _watch(proc, out, want_lines=1, timeout=120)
    proc.kill()  # SIGKILL: no clean-up code runs in the batch process
    proc.wait(30)
    seen.discard(proc.pid)
    assert not _alive(seen, wait=20), "worker processes die with the batch process (parent-death signal)"
    before = _records(out)
    assert 1 <= len(before) < len(RESUME_STUDENTS)
    assert not (out / "grades.csv").exists(), "killed before the end: nothing was built yet"

    resumed = run_cli("batch", export, "--out", out, "-j", "2", "--rubric", rubric, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{len(before)} reused" in resumed.stdout

    expected, again = _records(full_out), _records(out)
    assert [r["key"] for r in again] == [r["key"] for r in expected], "no row lost or duplicated"
    assert [normalized(r) for r in again] == [normalized(r) for r in expected]
    assert (out / "grades.csv").read_text() == (full_out / "grades.csv").read_text()
    for record in expected:
        a = json.loads((out / record["key"] / "results.json").read_text())
        b = json.loads((full_out / record["key"] / "results.json").read_text())
        assert [(t["name"], t["score"]) for t in a["tests"]] == [(t["name"], t["score"]) for t in b["tests"]]
    listing = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if not p.name.startswith("."))
    assert listing == sorted(p.relative_to(full_out).as_posix() for p in full_out.rglob("*")
                             if not p.name.startswith("."))


def test_ctrl_c_stops_cleanly_and_keeps_finished_results(tmp_path: Path) -> None:
    """Folder-of-folders layout: two fast submissions finish, then Ctrl-C hits an endless loop (and a fork bomb)."""
    classroom = tmp_path / "class"
    for folder, source in (("a_fast", "reference"), ("b_fast", "bug_sign_error"), ("c_hang", HOSTILE[0]),
                           ("d_bomb", HOSTILE[1])):
        copy_submission(source, classroom / folder)
    rubric = write_rubric(tmp_path, HANG_RUBRIC)
    out = tmp_path / "out"
    proc = _popen("batch", classroom, "--out", out, "-j", "2", "--rubric", rubric)
    seen = _watch(proc, out, want_lines=2, timeout=120)
    deadline = time.monotonic() + 2.0  # let the hostile ones get going
    while time.monotonic() < deadline:
        seen.update(descendants([proc.pid]))
        time.sleep(0.05)
    stopped_at = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole foreground group
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert time.monotonic() - stopped_at < 15, "running submissions are interrupted, not waited for"
    seen.discard(proc.pid)
    assert len(seen) > 4, "the sandboxes of the running submissions were seen"
    assert not _alive(seen), "no orphan processes after Ctrl-C"
    assert "Batch stopped" in output and "--resume" in output
    records = _records(out)
    keys = [r["key"] for r in records]
    assert keys[:2] == ["a_fast", "b_fast"] and "c_hang" not in keys, "the endless loop was stopped, not recorded"
    assert all(r["status"] == "graded" for r in records)  # the fork bomb may have finished before Ctrl-C
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert [r["id"] for r in rows] == keys
    assert "a_fast/report.html" in (out / "index.html").read_text(encoding="utf-8")
