"""The speed check never blames a student for a failure on the grader's side.

Regression for a race seen in CI: the speed check opens gates (creates a
temporary file, renames it) in a worker's directory while the sandbox is
still handing that directory to the sandbox uid, and the vanished temporary
file made the whole measurement fail as "your function could not be timed".
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from grader import pipeline, sandbox
from grader.checks import speed_controller
from grader.expected.outcomes import reference_files
from grader.results import Status
from grader.rubric import load_rubric
from grader.sandbox.environment import prepare_workdir


def test_prepare_workdir_tolerates_files_vanishing_during_the_walk(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    for i in range(50):
        (tmp_path / f"file{i}").write_text("x")
    stop = threading.Event()

    def open_gates() -> None:  # what speed_controller._Side.run_block does, as fast as possible (then tidied away)
        while not stop.is_set():
            tmp = gate / ".g.tmp"
            tmp.write_text("1")
            tmp.rename(gate / "g")
            (gate / "g").unlink()

    info = sandbox.IsolationInfo(layers=["uid:self"], unavailable={}, uid=os.getuid(), gid=os.getgid())
    thread = threading.Thread(target=open_gates)
    thread.start()
    try:
        for _ in range(2000):
            prepare_workdir(tmp_path, info)  # raised FileNotFoundError before the fix
    finally:
        stop.set()
        thread.join()
    assert (tmp_path / ".tmp").is_dir() and (tmp_path / ".mplconfig").is_dir()


def _one_speed_spec():
    rubric = load_rubric()
    spec = next(t for t in rubric.tests if t.id == "sigmoid.speed")
    return rubric, spec


def test_grader_failure_while_timing_is_retried_then_reported_as_ours(monkeypatch, corpus_dir: Path) -> None:
    rubric, spec = _one_speed_spec()
    calls = []

    def broken_measure(*args, **kwargs):
        calls.append(1)
        raise speed_controller.SpeedGraderError("student worker: Traceback ... FileNotFoundError")

    monkeypatch.setattr(speed_controller, "measure", broken_measure)
    files = {"word2vec.py": corpus_dir / "reference" / "word2vec.py"}
    out = pipeline._speed_verdicts([spec], pipeline._measure_speed([spec.function], files, rubric, None, None, []),
                                   rubric)
    assert len(calls) == 2, "retried once"
    test = out[spec.id]
    assert test.status == Status.ERROR and test.score == 0
    assert "not your fault" in test.summary
    assert any(e.message == "internal grader error" and "FileNotFoundError" in e.detail for e in test.events)


def test_a_crashing_side_thread_raises_speed_grader_error(monkeypatch, corpus_dir: Path) -> None:
    """A grader exception inside a worker-driving thread surfaces from measure(), it is not 'not_measured'."""
    rubric, _ = _one_speed_spec()

    def exploding_run_job(*args, **kwargs):
        raise FileNotFoundError("gate/.speed.sigmoid.base#0.tmp")

    monkeypatch.setattr(speed_controller, "run_job", exploding_run_job)
    files = {"word2vec.py": corpus_dir / "reference" / "word2vec.py"}
    with pytest.raises(speed_controller.SpeedGraderError, match="FileNotFoundError"):
        speed_controller.measure(["sigmoid"], files, reference_files(), rubric)


IMPORT_FAILS = '\nraise RuntimeError("word2vec.py stops while being imported")\n'  # after every def


@pytest.mark.parametrize("sequential", ["0", "1"])
def test_speed_beside_correctness_gives_the_sequential_verdicts(monkeypatch, tmp_path: Path, corpus_dir: Path,
                                                                sequential: str) -> None:
    """Timing while the correctness job runs (a lone grading on 2+ CPUs) or after it: same results.

    A word2vec.py that fails on import is timed for nothing in the side-by-side order; its speed
    tests must still say "not timed" for the import failure, exactly as in the sequential order.
    """
    monkeypatch.setenv("W2V_SEQUENTIAL_SPEED", sequential)
    assert pipeline._time_beside_correctness(None) == (sequential == "0" and pipeline.machine.usable_cpus() >= 2)
    assert not pipeline._time_beside_correctness(threading.Lock())  # batch mode: never beside
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "word2vec.py").write_text((corpus_dir / "correct_einsum" / "word2vec.py").read_text() + IMPORT_FAILS)
    (folder / "sgd.py").write_text((corpus_dir / "correct_einsum" / "sgd.py").read_text())
    result = pipeline.grade_submission(folder)
    speed_tests = [t for t in result.tests if t.check == "speed"]
    assert speed_tests and all(t.status == Status.ERROR and t.score == 0 for t in speed_tests)
    assert all(t.summary.startswith("word2vec.py could not be imported: RuntimeError") for t in speed_tests)
    integration = next(t for t in result.tests if t.test_id == "sgd.integration")
    assert integration.summary.startswith("word2vec.py could not be imported"), integration.summary
    assert result.score == pytest.approx(4.0)  # sgd.py is right: its 4 points, nothing else
