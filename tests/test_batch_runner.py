"""The batch loop in-process with a stand-in engine (fast): outputs, failures, resume bookkeeping."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from test_batch_support import NO_SPEED_RUBRIC, have_submissions, make_gradescope_export, write_rubric

import grader.pipeline
from grader import __version__
from grader import results as R
from grader.batch import BatchOptions, LocalExecutor, detect_layout, run_batch
from grader.batch.progress import LineReporter
from grader.results import GradeResult, Status, StudentInfo, SubmissionFiles
from grader.rubric import load_rubric


def fake_grade(calls: list):
    def grade_submission(path, rubric=None, *, mode="grade", student=None, deadline=None, speed_lock=None,
                         shared_reference=False):
        calls.append(Path(path).name)
        rubric = rubric or load_rubric()
        text = (Path(path) / "word2vec.py").read_text()
        if "BOOM" in text:
            raise RuntimeError("injected grader failure")
        score = 0.5 if "EDITED" in text else 1.0
        tests = [R.TestResult(test_id=t.id, name=t.name, number=t.number, function=t.function, check=t.check,
                            score=t.points * score, max_score=t.points,
                            status=Status.PASSED if score == 1.0 else Status.PARTIAL, visibility=t.visibility)
                 for t in rubric.tests]
        return GradeResult(submission=SubmissionFiles(root=str(path), word2vec="word2vec.py", sgd="sgd.py"),
                           tests=tests, score=sum(t.score for t in tests), max_score=rubric.max_score,
                           execution_time=0.01, grader_version=__version__, rubric_name=rubric.name,
                           rubric_hash=rubric.source_hash, student=student or StudentInfo())
    return grade_submission


@pytest.fixture
def fake_engine(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(grader.pipeline, "grade_submission", fake_grade(calls))
    return calls


def _options(tmp_path: Path, **kw) -> BatchOptions:
    return BatchOptions(out_dir=tmp_path / "out", rubric_path=write_rubric(tmp_path, NO_SPEED_RUBRIC),
                        progress="none", **kw)


def _run(tmp_path: Path, source, **kw):
    lines: list[str] = []

    class Capture:
        def write(self, s):
            lines.append(s)

        def flush(self):
            pass

    summary = run_batch(source, _options(tmp_path, **kw), executor=LocalExecutor(2, kind="thread"),
                        reporter_factory=lambda n: LineReporter(n, stream=Capture()))
    return summary, "".join(lines)


def test_batch_outputs_and_an_injected_grader_failure(tmp_path: Path, fake_engine: list) -> None:
    export = make_gradescope_export(tmp_path / "in")
    (export / "submission_2000002" / "word2vec.py").write_text("BOOM = 1\n")
    summary, printed = _run(tmp_path, export)
    out = tmp_path / "out"
    assert summary.total == 4 and summary.graded == 3 and summary.failed == 1 and summary.pending == 0
    assert summary.exit_code == 1 and summary.mean == pytest.approx(3.0)
    assert "FAILED" in printed and "injected grader failure" in printed
    assert sorted(fake_engine) == ["submission_2000001", "submission_2000002", "submission_2000003",
                                   "submission_2000004"]

    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["key"] for r in records] == sorted(r["key"] for r in records)
    failed = [r for r in records if r["status"] == "grader_error"]
    assert len(failed) == 1 and failed[0]["key"] == "alan-turing-1000002"
    assert "injected grader failure" in failed[0]["error"] and failed[0]["result"] is None
    graded = [r for r in records if r["status"] == "graded"]
    assert all(r["result"]["submission"]["root"].startswith("submission_") for r in graded)
    assert all(r["result"]["student"]["emails"] for r in graded)

    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert len(rows) == 4
    assert list(rows[0])[:7] == ["id", "name", "email", "total", "sigmoid.correctness",
                                 "naiveSoftmaxLossAndGradient.correctness.starter", "sgd.correctness.trajectory"]
    by_id = {r["id"]: r for r in rows}
    assert by_id["1000001"]["total"] == "3" and by_id["1000001"]["email"] == "ada@example.edu"
    assert by_id["1000002"]["total"] == "" and by_id["1000002"]["status"] == "grader_error"
    assert by_id["1000004"]["name"].startswith("'="), "formula-looking names are neutralised"

    for record in records:
        folder = out / record["key"]
        assert (folder / "report.html").stat().st_size > 0
        data = json.loads((folder / "results.json").read_text())
        assert "tests" in data
    assert "alan-turing-1000002/report.html" in (out / "index.html").read_text()


def test_resume_reuses_unchanged_and_regrades_changed_or_failed(tmp_path: Path, fake_engine: list) -> None:
    export = make_gradescope_export(tmp_path / "in")
    (export / "submission_2000002" / "word2vec.py").write_text("BOOM = 1\n")
    _run(tmp_path, export)
    first_csv = (tmp_path / "out" / "grades.csv").read_text()

    fake_engine.clear()
    summary, _ = _run(tmp_path, export, resume=True)
    assert fake_engine == ["submission_2000002"], "only the grader-side failure is retried"
    assert summary.reused == 3 and summary.failed == 1
    assert (tmp_path / "out" / "grades.csv").read_text() == first_csv

    # A changed submission and a fixed one are regraded; the rest is reused.
    w2v = export / "submission_2000001" / "word2vec.py"
    w2v.write_text(w2v.read_text() + "\n# EDITED\n")
    (export / "submission_2000002" / "word2vec.py").write_text("x = 1\n")
    fake_engine.clear()
    summary, _ = _run(tmp_path, export, resume=True)
    assert sorted(fake_engine) == ["submission_2000001", "submission_2000002"]
    assert summary.graded == 4 and summary.failed == 0 and summary.reused == 2 and summary.exit_code == 0
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4, "compacted: one line per submission"
    rows = {r["id"]: r for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert rows["1000001"]["total"] == "1.5"

    # A different rubric invalidates every result.
    fake_engine.clear()
    other = tmp_path / "other.toml"
    other.write_text(NO_SPEED_RUBRIC.replace("batch-test-nospeed", "other"))
    summary = run_batch(export, BatchOptions(out_dir=tmp_path / "out", rubric_path=other, progress="none",
                                             resume=True), executor=LocalExecutor(2, kind="thread"))
    assert len(fake_engine) == 4 and summary.reused == 0


def test_vanished_submission_is_a_recorded_failure(tmp_path: Path, fake_engine: list) -> None:
    import shutil

    export = make_gradescope_export(tmp_path / "in")
    batch = detect_layout(export)
    shutil.rmtree(batch.items[0].path)
    summary, printed = _run(tmp_path, batch)
    assert summary.failed == 1 and summary.graded == 3
    record = json.loads((tmp_path / "out" / "results.jsonl").read_text().splitlines()[0])
    assert record["status"] == "grader_error" and "cannot read the submission" in record["error"]


def test_output_dir_is_locked_against_a_second_batch(tmp_path: Path, fake_engine: list) -> None:
    from grader.batch import BatchError, FileLock

    export = make_gradescope_export(tmp_path / "in")
    (tmp_path / "out").mkdir()
    with FileLock(tmp_path / "out" / ".batch.lock"):
        with pytest.raises(BatchError, match="another batch"):
            _run(tmp_path, export)


def test_cli_reports_unknown_layout(tmp_path: Path, capsys) -> None:
    from grader.cli import main

    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "notes.txt").write_text("x")
    assert main(["batch", str(tmp_path / "odd"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Cannot tell how" in err and "notes.txt" in err


class FlakyExecutor(LocalExecutor):
    """Threads, but the 'worker' grading one submission always dies (as a crashed pool process would)."""

    def __init__(self, victim: str) -> None:
        super().__init__(2, kind="thread")
        self.victim = victim
        self.restarts = 0

    def submit(self, fn, *args):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        if args[0].key == self.victim:
            future: Future = Future()
            future.set_exception(BrokenProcessPool("a worker process died"))
            return future
        return super().submit(fn, *args)

    def is_lost_worker(self, exc):
        from concurrent.futures.process import BrokenProcessPool

        return isinstance(exc, BrokenProcessPool)

    def restart(self):
        self.restarts += 1


def test_a_worker_that_keeps_dying_is_retried_then_recorded(tmp_path: Path, fake_engine: list) -> None:
    export = make_gradescope_export(tmp_path / "in")
    executor = FlakyExecutor("alan-turing-1000002")
    summary = run_batch(export, _options(tmp_path), executor=executor)
    assert summary.graded == 3 and summary.failed == 1, "neighbours of the dying worker are not blamed"
    assert executor.restarts == 2
    records = {json.loads(line)["key"]: json.loads(line) for line in
               (tmp_path / "out" / "results.jsonl").read_text().splitlines()}
    victim = records["alan-turing-1000002"]
    assert victim["status"] == "grader_error" and "died while grading this submission alone" in victim["error"]
    assert victim["attempts"] == 2
    assert sorted(fake_engine) == ["submission_2000001", "submission_2000003", "submission_2000004"], \
        "every other submission graded exactly once"


def _die_in_worker(task):
    import os

    os._exit(3)  # what a segfault or the OOM killer does to a grading process


class DyingProcessExecutor(LocalExecutor):
    """Real worker processes; the one handed the victim dies (breaking the whole pool)."""

    def __init__(self, victim: str) -> None:
        super().__init__(2)
        self.victim = victim
        self.restarts = 0

    def submit(self, fn, *args):
        return super().submit(_die_in_worker if args[0].key == self.victim else fn, *args)

    def restart(self):
        self.restarts += 1
        super().restart()


def test_a_dead_worker_process_breaks_the_pool_but_not_the_batch(tmp_path: Path) -> None:
    """Real process pool and engine: BrokenProcessPool fails every task in flight; only the culprit is blamed."""
    if not have_submissions("bug_sign_error", "slow_vocab_loop", "starter_untouched"):
        pytest.skip("needs the sample submissions")
    export = make_gradescope_export(tmp_path / "in")
    executor = DyingProcessExecutor("alan-turing-1000002")
    try:
        summary = run_batch(export, _options(tmp_path), executor=executor)
    finally:
        executor.shutdown()
    assert summary.graded == 3 and summary.failed == 1
    assert executor.restarts >= 2
    records = {json.loads(line)["key"]: json.loads(line) for line in
               (tmp_path / "out" / "results.jsonl").read_text().splitlines()}
    assert "alone" in records["alan-turing-1000002"]["error"]
    assert all(r["status"] == "graded" for k, r in records.items() if k != "alan-turing-1000002")


def test_a_time_limit_hit_under_load_is_graded_again_alone(tmp_path: Path, monkeypatch) -> None:
    from test_batch_support import SMALL_RUBRIC

    calls: list[str] = []
    real = fake_grade(calls)

    def grade_submission(path, rubric=None, **kw):
        result = real(path, rubric, **kw)
        if Path(path).name == "submission_2000003" and calls.count(Path(path).name) == 1:
            for test in result.tests:  # as if its timed calls hit the wall-clock limit on a busy machine
                if test.check == "speed":
                    test.status, test.score = Status.ERROR, 0.0
                    test.events.append(R.SandboxEvent("timeout", "Time limit exceeded"))
        if Path(path).name == "submission_2000002":  # an error that does not depend on load: not re-checked
            for test in result.tests:
                if test.check == "speed":
                    test.status, test.score = Status.ERROR, 0.0
                    test.events.append(R.SandboxEvent("crash", "ZeroDivisionError"))
            result.score = sum(t.score for t in result.tests)
        return result

    monkeypatch.setattr(grader.pipeline, "grade_submission", grade_submission)
    export = make_gradescope_export(tmp_path / "in")
    options = BatchOptions(out_dir=tmp_path / "out", rubric_path=write_rubric(tmp_path, SMALL_RUBRIC), progress="none")
    summary = run_batch(export, options, executor=LocalExecutor(2, kind="thread"))
    assert summary.graded == 4 and summary.mean == pytest.approx(3.75)
    assert calls.count("submission_2000003") == 2 and len(calls) == 5, "only the timeout is graded again"
    records = {json.loads(line)["key"]: json.loads(line) for line in
               (tmp_path / "out" / "results.jsonl").read_text().splitlines()}
    rechecked = records["jose-nunez-o-brien-1000003"]
    assert rechecked.get("rechecked_alone") and not rechecked.get("recheck_pending")
    assert rechecked["result"]["score"] == 4.0

    # One worker: nothing else shares the machine, so the first measurement stands.
    calls.clear()
    options = BatchOptions(out_dir=tmp_path / "out1", rubric_path=options.rubric_path, progress="none")
    run_batch(export, options, executor=LocalExecutor(1, kind="thread"))
    assert len(calls) == 4
