"""The speed check: its verdict rule, and that it never blames a student for a failure on the grader's side.

The verdict tests build measurements by hand (the rule is arithmetic on them); the others run the real
sandbox.  What lying submissions can and cannot do to the measurement is in the attack samples of the
corpus (``submissions/attack_*``, graded by tests/test_corpus.py).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from grader import pipeline, sandbox
from grader.checks import speed, speed_controller
from grader.checks.speed_controller import FunctionTiming, LoopCosts, SpeedSample, WrongOutput
from grader.expected.outcomes import reference_files
from grader.results import SandboxEvent, Status
from grader.rubric import load_rubric, parse_rubric
from grader.sandbox.environment import prepare_workdir
from grader.sandbox.jobs import start_worker

LOOPS = LoopCosts(row=700e-9, element=120e-9, row_pass=8e-9, row_fill=6e-9)
V = 10_000


def _timing(function: str = "naiveSoftmaxLossAndGradient", *, reference: float = 400e-6,
            student: list[float], unit: str = "row", units: int = V, **kw) -> SpeedSample:
    timing = FunctionTiming(function, f"V={units}", units, unit, reps=30, reference=[reference] * 3,
                            student=student, **kw)
    return SpeedSample(timings={function: timing}, loops=LOOPS)


def _verdict(sample: SpeedSample, function: str = "naiveSoftmaxLossAndGradient", rubric=None):
    return speed.verdict(function, sample, rubric or load_rubric())


def test_vectorised_code_with_constant_overheads_keeps_full_credit() -> None:
    """Three times the reference (extra V×d temporaries) is ~0.1 of a loop iteration per word: vectorised."""
    verdict = _verdict(_timing(student=[1200e-6, 1250e-6, 1300e-6]))
    assert verdict.verdict == "fast" and not verdict.loops_over_vocabulary
    assert verdict.extra_ns_per_unit == pytest.approx(80, abs=1) and verdict.loop_ns_per_unit == pytest.approx(700)
    assert "no such loop" in verdict.explanation and "3.1×" in verdict.explanation


def test_a_loop_over_the_vocabulary_gets_no_credit_and_is_named() -> None:
    """One numpy operation per word in Python costs ~one loop iteration per word."""
    verdict = _verdict(_timing(student=[400e-6 + V * 800e-9] * 3))
    assert verdict.verdict == "too_slow" and verdict.loops_over_vocabulary
    assert "loops over the vocabulary in Python" in verdict.explanation


def test_partial_credit_in_between_and_the_fastest_block_decides() -> None:
    """x = 0.5: partial.  One block near the boundary does not sink a student whose best block is clear."""
    assert _verdict(_timing(student=[400e-6 + V * 350e-9] * 3)).verdict == "slow"
    mixed = _verdict(_timing(student=[400e-6 + V * 100e-9, 400e-6 + V * 600e-9, 400e-6 + V * 600e-9]))
    assert mixed.verdict == "fast"


def test_sigmoid_is_judged_per_element() -> None:
    sample = _timing("sigmoid", reference=300e-6, student=[300e-6 + 100_000 * 150e-9], unit="element",
                     units=100_000)
    verdict = _verdict(sample, "sigmoid")
    assert verdict.verdict == "too_slow" and "per element" in verdict.explanation
    assert "elements in Python" in verdict.explanation


def test_timing_stopped_early_is_a_loop_not_a_crash() -> None:
    verdict = _verdict(_timing(student=[], stopped_early=True))
    assert verdict.verdict == "too_slow" and "stopped early" in verdict.explanation


@pytest.mark.parametrize("setting, label", [("full", "fast"), ("partial", "slow"), ("none", "too_slow")])
def test_negative_sampling_full_passes_earn_what_the_rubric_says(setting: str, label: str) -> None:
    rubric = load_rubric()
    rubric = rubric.__class__(**{**rubric.__dict__, "speed": rubric.speed.__class__(
        **{**rubric.speed.__dict__, "negative_sampling_full_passes": setting})})
    sample = _timing("negSamplingLossAndGradient", reference=200e-6, student=[200e-6 + V * (6e-9 + 4 * 8e-9)] * 3)
    verdict = _verdict(sample, "negSamplingLossAndGradient", rubric)
    assert verdict.full_passes and verdict.verdict == label
    assert "about 4.0 vectorised passes" in verdict.explanation
    assert "only the K+1 sampled rows are needed" in verdict.explanation


def test_writing_the_whole_gradient_is_memory_traffic_not_full_passes() -> None:
    """np.zeros_like(outsideVectors) writes every page (the reference's np.zeros does not): that costs
    one fill and a pass or so of noise, and must not be called "full passes" under any rubric setting."""
    sample = _timing("negSamplingLossAndGradient", reference=200e-6, student=[200e-6 + V * (6e-9 + 1.5 * 8e-9)] * 3)
    verdict = _verdict(sample, "negSamplingLossAndGradient")
    assert verdict.verdict == "fast" and not verdict.full_passes
    assert "passes" not in verdict.explanation


def test_out_of_memory_while_timed_is_reported_as_a_quadratic_temporary() -> None:
    failure = SandboxEvent("memory_limit", "naiveSoftmaxLossAndGradient: Memory limit exceeded while being timed.")
    verdict = _verdict(_timing(student=[], failure=failure))
    assert verdict.verdict == "not_measured" and "O(V²)" in verdict.explanation


def test_a_wrong_timed_output_earns_nothing_unless_it_is_the_charged_bug() -> None:
    from grader.checks.charge_once import Charged

    sample = _timing(student=[500e-6] * 3, wrong=WrongOutput("output 3 of the timed call is not the right answer",
                                                             some_output_right=True))
    assert _verdict(sample).verdict == "wrong_output"  # passes correctness, wrong when timed: a lie
    charged = speed.verdict("naiveSoftmaxLossAndGradient", sample, load_rubric(), Charged(cases_failed=3))
    assert charged.verdict == "fast" and "already charged" in charged.explanation


def test_retired_speed_settings_are_rejected_with_a_pointer() -> None:
    data = {"name": "x", "tests": [{"id": "sigmoid.speed"}], "speed": {"min_reference_cpu": 0.03}}
    with pytest.raises(Exception, match="renamed block_cpu"):
        parse_rubric(data)


# --- the real sandbox -------------------------------------------------------------------------------

def test_the_reference_timed_against_itself_is_fast_and_every_block_is_verified() -> None:
    """Both workers run the reference: every function is vectorised, and the grader read back
    ``verify_reps`` outputs of every student block and found them right."""
    rubric = load_rubric()
    timer = speed_controller.ReferenceTimer(reference_files(), rubric).start()
    student = start_worker(reference_files(), {"modules": ["word2vec"], "calls": []}, {}, rubric.limits, serve=True)
    try:
        sample = speed_controller.measure(list(speed_controller.SPEED_ORDER), lambda: student, timer, rubric)
    finally:
        student.close()
        student.cleanup()
        timer.close()
    assert set(sample.timings) == set(speed_controller.SPEED_ORDER)
    for function, timing in sample.timings.items():
        assert timing.failure is None and timing.wrong is None, function
        assert timing.verified == rubric.speed.blocks * rubric.speed.verify_reps, function
        assert speed.verdict(function, sample, rubric).verdict == "fast", function
    assert LOOPS.row / 10 < sample.loops.row < LOOPS.row * 10  # a loop iteration costs ~0.1-7 µs anywhere


def test_prepare_workdir_tolerates_files_vanishing_during_the_walk(tmp_path: Path) -> None:
    """The workdir is handed to the sandbox uid while other threads may create and remove files in it."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for i in range(50):
        (tmp_path / f"file{i}").write_text("x")
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            tmp = scratch / ".g.tmp"
            tmp.write_text("1")
            tmp.rename(scratch / "g")
            (scratch / "g").unlink()

    info = sandbox.IsolationInfo(layers=["uid:self"], unavailable={}, uid=os.getuid(), gid=os.getgid())
    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for _ in range(2000):
            prepare_workdir(tmp_path, info)
    finally:
        stop.set()
        thread.join()
    assert (tmp_path / ".tmp").is_dir() and (tmp_path / ".mplconfig").is_dir()


def test_grader_failure_while_timing_is_retried_then_reported_as_ours(monkeypatch) -> None:
    rubric = load_rubric()
    spec = next(t for t in rubric.tests if t.id == "sigmoid.speed")
    calls = []

    def broken_measure(*args, **kwargs):
        calls.append(1)
        raise speed_controller.SpeedGraderError("reference worker: Traceback ... FileNotFoundError")

    monkeypatch.setattr(speed_controller, "measure", broken_measure)
    timer = speed_controller.ReferenceTimer(reference_files(), rubric)
    sample = pipeline._measure_speed([spec.function], timer, pipeline.JobRun(), [], {}, [], rubric, None, None, False)
    out = pipeline._speed_verdicts([spec], sample, rubric)
    assert len(calls) == 2, "retried once"
    test = out[spec.id]
    assert test.status == Status.ERROR and test.score == 0
    assert "not your fault" in test.summary
    assert any(e.message == "internal grader error" and "FileNotFoundError" in e.detail for e in test.events)


def test_a_grader_exception_while_timing_is_a_speed_grader_error(monkeypatch) -> None:
    """A grader bug inside the measurement surfaces as SpeedGraderError, never as "not measured"."""
    rubric = load_rubric()

    def exploding(self):
        raise FileNotFoundError("the loop baseline's pool")

    monkeypatch.setattr(speed_controller.ReferenceTimer, "loop_costs", exploding)
    timer = speed_controller.ReferenceTimer(reference_files(), rubric)
    with pytest.raises(speed_controller.SpeedGraderError, match="FileNotFoundError"):
        speed_controller.measure(["sigmoid"], lambda: None, timer, rubric)


IMPORT_FAILS = '\nraise RuntimeError("word2vec.py stops while being imported")\n'  # after every def


def test_an_unimportable_word2vec_is_not_timed(tmp_path: Path, corpus_dir: Path) -> None:
    """Its speed tests say "not timed" for the import failure; sgd.py keeps its points."""
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


def test_heavy_printing_is_named_as_the_cause_not_a_loop() -> None:
    sample = _timing("sigmoid", reference=300e-6, student=[300e-6 + 100_000 * 150e-9], unit="element",
                     units=100_000, printed_per_call=500_000, writes_per_call=20_000)
    verdict = _verdict(sample, "sigmoid")
    assert "prints about 500,000 characters per call" in verdict.explanation
    assert "loops over" not in verdict.explanation and not verdict.loops_over_vocabulary


@pytest.mark.parametrize("extra_ns", [20, 150, 600])
def test_a_flood_of_output_gets_no_credit_however_fast_it_printed(extra_ns: float) -> None:
    """50 M characters a call cost between nothing and a loop's worth depending on the run: always none."""
    sample = _timing("sigmoid", reference=300e-6, student=[300e-6 + 100_000 * extra_ns * 1e-9], unit="element",
                     units=100_000, printed_per_call=50_000_000, writes_per_call=4)
    verdict = _verdict(sample, "sigmoid")
    assert verdict.verdict == "too_slow" and not verdict.loops_over_vocabulary
    assert "floods its output" in verdict.explanation and "loops over" not in verdict.explanation


def test_a_loop_that_also_prints_a_little_is_still_a_loop() -> None:
    """2,000 characters in 2 writes a call cannot explain 13 ms of extra time: the loop is named."""
    sample = _timing(student=[400e-6 + V * 1300e-9] * 3, printed_per_call=2_000, writes_per_call=2)
    verdict = _verdict(sample)
    assert verdict.verdict == "too_slow" and "loops over the vocabulary in Python" in verdict.explanation
    assert "prints" not in verdict.explanation


def test_printing_in_a_loop_of_small_prints_is_named_as_printing() -> None:
    """One print per word (20,000 writes a call) explains the time: printing is named, and it is slow."""
    sample = _timing(student=[400e-6 + V * 1000e-9] * 3, printed_per_call=60_000, writes_per_call=20_000)
    verdict = _verdict(sample)
    assert verdict.verdict == "too_slow" and "prints about 60,000 characters" in verdict.explanation


def test_a_cost_that_grows_with_the_square_of_v_is_named_an_o_v2_temporary_not_a_loop() -> None:
    """×16 from V/4 to V: a V×V temporary; the message never claims a loop."""
    verdict = _verdict(_timing(student=[400e-6 + V * 2000e-9], growth=15.5))
    assert verdict.verdict == "too_slow" and "O(V²)" in verdict.explanation
    assert "loops over" not in verdict.explanation and not verdict.loops_over_vocabulary
    stopped = _verdict(_timing(student=[], stopped_early=True, growth=14.0))
    assert stopped.verdict == "too_slow" and "O(V²)" in stopped.explanation and "loops over" not in stopped.explanation


@pytest.mark.parametrize("growth", [None, 3.5, 4.3])
def test_a_loop_grows_linearly_and_is_named_a_loop(growth) -> None:
    verdict = _verdict(_timing(student=[400e-6 + V * 2000e-9], growth=growth))
    assert verdict.loops_over_vocabulary and "loops over the vocabulary in Python" in verdict.explanation
