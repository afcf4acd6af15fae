"""Hand-built GradeResult objects for report tests (no grading engine needed).

Each ``scenario_*`` function returns a complete :class:`GradeResult` that
follows the default rubric's test list; ``SCENARIOS`` maps a short name to
each.  The secret marker strings let tests prove that hidden tests' inputs
and expected values never reach a student's report.
"""

from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib
from pathlib import Path

import numpy as np

from grader.results import (
    ArraySummary,
    CaseResult,
    GradcheckDetail,
    GradeResult,
    SandboxEvent,
    SpeedMeasurement,
    SpeedVerdict,
    Status,
    StudentInfo,
    SubmissionFiles,
    TestResult,
)

RUBRIC = Path(__file__).resolve().parents[2] / "grader" / "rubric_default.toml"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
SECRET_INPUT = "SECRET_HIDDEN_INPUT_7731"
SECRET_EXPECTED = 424242.4242
SECRET_HINT = "SECRET_HIDDEN_HINT_5512"


def _rubric_tests() -> list[dict]:
    with RUBRIC.open("rb") as fh:
        return tomllib.load(fh)["tests"]


def _check_of(test_id: str) -> str:
    return test_id.split(".")[1]


def base_tests(status: Status = Status.PASSED) -> list[TestResult]:
    """Every rubric test, all with ``status`` and full marks when passed."""
    tests = []
    for spec in _rubric_tests():
        function = spec["id"].split(".")[0]
        passed = status == Status.PASSED
        tests.append(TestResult(
            test_id=spec["id"], name=spec["name"], number=spec["number"], function=function,
            check=_check_of(spec["id"]), score=spec["points"] if passed else 0.0, max_score=spec["points"],
            status=status, visibility=spec["visibility"],
            summary="All cases matched the reference." if passed else "",
            cases=[CaseResult(case_id="c1", description="first case", passed=passed)],
        ))
    return tests


def _result(tests: list[TestResult], **kw) -> GradeResult:
    kw.setdefault("submission", SubmissionFiles(root="/autograder/submission", word2vec="word2vec.py", sgd="sgd.py"))
    kw.setdefault("execution_time", 41.7)
    kw.setdefault("grader_version", "0.1.0")
    kw.setdefault("rubric_name", "cs224n-a2-word2vec")
    kw.setdefault("rubric_hash", "3f9a1c0d2b7e4f56")
    kw.setdefault("isolation_layers", ["rlimits", "process_group", "netns"])
    kw.setdefault("student", StudentInfo(submission_id="123456789", names=["Ada Lovelace"], emails=["ada@example.edu"],
                                         student_ids=["0001"]))
    score = sum(t.score for t in tests)
    return GradeResult(tests=tests, score=score, max_score=sum(t.max_score for t in tests), **kw)


def _get(tests: list[TestResult], test_id: str) -> TestResult:
    return next(t for t in tests if t.test_id == test_id)


def _summary(arr) -> ArraySummary:
    arr = np.asarray(arr)
    return ArraySummary(shape=list(arr.shape), dtype=str(arr.dtype), preview=arr.tolist())


def _hide_secrets(tests: list[TestResult]) -> None:
    """Give every non-visible test details a student must never see."""
    for t in tests:
        if t.visibility == "visible":
            continue
        t.hint = SECRET_HINT
        t.summary = f"summary mentioning {SECRET_INPUT}"
        t.cases = [CaseResult(
            case_id="secret", description=f"V = 1 case {SECRET_INPUT}", passed=t.status == Status.PASSED,
            message=f"mismatch {SECRET_INPUT}", reproducer=f"from word2vec import skipgram  # {SECRET_INPUT}",
            output_name="gradOutsideVecs", expected=ArraySummary([1], "float64", [SECRET_EXPECTED]),
            got=ArraySummary([1], "float64", [0.0]))]


def _speed(function: str, ratio: float, growth: float, loops: bool = False) -> SpeedVerdict:
    base = {"sigmoid": 0.0031, "naiveSoftmaxLossAndGradient": 0.0012, "negSamplingLossAndGradient": 0.00009,
            "skipgram": 0.0051}[function]
    label = {"sigmoid": "n=1000000", "skipgram": "V={V}, d=50, window=5"}.get(function, "V={V}, d=50, K=10")
    ms = [SpeedMeasurement(function, label.format(V=20000), base * ratio, base, ratio, 5),
          SpeedMeasurement(function, label.format(V=80000), base * ratio * growth, base * 1.3, ratio * growth / 1.3, 5)]
    if function == "sigmoid":
        ms = ms[:1]
    verdict = "fast" if ratio <= 3 else "slow" if ratio <= 10 else "too_slow"
    return SpeedVerdict(function, ms, ratio, growth if function != "sigmoid" else None,
                        1.3 if function != "sigmoid" else None, loops, verdict,
                        "Within 3× of the reference." if verdict == "fast" else
                        f"{ratio:.1f}× the reference's time; full credit needs 3× or less.")


def _add_speed(tests: list[TestResult]) -> None:
    for fn, ratio, growth in (("sigmoid", 1.1, 1.0), ("naiveSoftmaxLossAndGradient", 1.4, 1.2),
                              ("negSamplingLossAndGradient", 2.1, 1.0), ("skipgram", 1.6, 1.3)):
        _get(tests, f"{fn}.speed").speed = _speed(fn, ratio, growth)


def _add_gradchecks(tests: list[TestResult]) -> None:
    for fn, param in (("naiveSoftmaxLossAndGradient", "outsideVectors"), ("negSamplingLossAndGradient", "centerWordVec"),
                      ("skipgram", "wordVectors")):
        _get(tests, f"{fn}.gradcheck").gradcheck = GradcheckDetail(param, [3, 1], 0.1234567, 0.1234566, 4.1e-9, 1e-5)


# -- scenarios -------------------------------------------------------------------------------------


def scenario_all_passed() -> GradeResult:
    """Everything passed; three after_published tests (1.5 points) pending; float32 note."""
    tests = base_tests()
    _add_speed(tests)
    _add_gradchecks(tests)
    _hide_secrets(tests)
    _get(tests, "sigmoid.correctness").cases[0].notes.append("Your sigmoid returns float32; accepted at float32 precision.")
    return _result(tests)


def scenario_failing() -> GradeResult:
    """A failing visible test with a matrix error, reproducer and hint; a gradcheck failure; a slow function."""
    tests = base_tests()
    _add_speed(tests)
    _add_gradchecks(tests)
    _hide_secrets(tests)
    rng = np.random.default_rng(3)
    expected = rng.normal(size=(8, 5)).round(6)
    got = expected.copy()
    got[[2, 6]] *= 0.5  # repeated negative samples counted once
    t = _get(tests, "negSamplingLossAndGradient.correctness.repeats")
    t.status, t.score = Status.FAILED, 0.0
    t.summary = "gradOutsideVecs is wrong when a negative sample repeats (2 of 3 cases failed)."
    t.hint = ("Repeated negative samples must each add to the gradient; `grad[idx] += g` with repeated indices keeps "
              "only one update. Use np.add.at or loop over the K samples.")
    t.cases = [
        CaseResult(
            case_id="repeats-1", description="V=8, d=5, K=4, negative samples [2, 6, 2, 6]", passed=False,
            message="gradOutsideVecs differs from the expected value at index [2, 0] (yours is half of it).",
            reproducer=("import numpy as np\nfrom word2vec import negSamplingLossAndGradient\n"
                        "rng = np.random.default_rng(0)\ncenter = rng.normal(size=5)\noutside = rng.normal(size=(8, 5))\n"
                        "# the dataset returns the negative samples [2, 6, 2, 6]\n"
                        "loss, g_center, g_outside = negSamplingLossAndGradient(center, 1, outside, dataset, K=4)\n"
                        "print(g_outside[2])"),
            output_name="gradOutsideVecs", expected=_summary(expected), got=_summary(got), first_mismatch=[2, 0],
            max_abs_error=float(np.abs(got - expected).max()), error_matrix=np.abs(got - expected).tolist()),
        CaseResult(case_id="repeats-2", description="V=20, d=3, K=10, sample 7 drawn three times", passed=False,
                   message="gradOutsideVecs differs at index [7, 1].", output_name="gradOutsideVecs",
                   expected=ArraySummary([20, 3], "float64", [[0.1, 0.2, 0.3]] * 4, truncated=True),
                   got=ArraySummary([20, 3], "float64", [[0.1, 0.2, 0.1]] * 4, truncated=True),
                   first_mismatch=[7, 1], max_abs_error=0.2),
        CaseResult(case_id="repeats-3", description="no repeats", passed=True),
    ]
    # loss returned with the wrong shape
    t2 = _get(tests, "naiveSoftmaxLossAndGradient.correctness.starter")
    t2.status, t2.score = Status.FAILED, 0.0
    t2.summary = "loss has shape (1,) but should be a scalar."
    t2.hint = "Return the loss as a Python float or a 0-d array, not a length-1 vector (check your np.dot arguments)."
    t2.cases = [CaseResult(
        case_id="starter", description="the starter's dummy vectors (V=5, d=3)", passed=False,
        message="loss has the wrong shape.", output_name="loss",
        reproducer="from word2vec import naiveSoftmaxLossAndGradient\n...",
        expected=ArraySummary(None, "float", 2.3054), got=ArraySummary([1], "float64", [2.3054]), first_mismatch=[])]
    g = _get(tests, "naiveSoftmaxLossAndGradient.gradcheck")
    g.status, g.score = Status.FAILED, 0.0
    g.summary = "Your gradient disagrees with your loss."
    g.hint = "A sign error or a missing transpose in gradCenterVec usually looks like this."
    g.gradcheck = GradcheckDetail("centerWordVec", [2], 0.83121, -0.83120, 1.0, 1e-5)
    s = _get(tests, "naiveSoftmaxLossAndGradient.speed")
    s.status, s.score = Status.PARTIAL, 0.43
    s.speed = _speed("naiveSoftmaxLossAndGradient", 7.0, 4.1, loops=True)
    s.summary = "7.0× the reference's time; it grows with the vocabulary like a loop."
    return _result(tests, student=StudentInfo(submission_id="555", names=["Grace Hopper"]))


def scenario_crash() -> GradeResult:
    """skipgram crashes (traceback with grader frames to trim); sgd times out; output truncated."""
    tests = base_tests()
    _add_speed(tests)
    _hide_secrets(tests)
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/grader/grader/worker/runner.py", line 249, in run_call\n'
        "    value = fn(*args)\n"
        '  File "/tmp/sub/word2vec.py", line 201, in skipgram\n'
        "    loss, gc, go = word2vecLossAndGradient(centerWordVectors[c], o, outsideVectors, dataset)\n"
        '  File "/tmp/sub/word2vec.py", line 88, in naiveSoftmaxLossAndGradient\n'
        "    scores = outsideVectors @ centerWordVec.T[0]\n"
        '  File "/usr/lib/python3/dist-packages/numpy/core/fromnumeric.py", line 59, in _wrapfunc\n'
        "    return bound(*args, **kwds)\n"
        "IndexError: too many indices for array: array is 1-dimensional, but 2 were indexed"
    )
    for tid in ("skipgram.correctness.starter", "skipgram.correctness.random", "skipgram.gradcheck",
                "skipgram.speed", "skipgram.integration"):
        t = _get(tests, tid)
        t.status, t.score, t.speed = Status.ERROR, 0.0, None
        t.summary = "skipgram raised IndexError."
        t.cases = []
    st = _get(tests, "skipgram.correctness.starter")
    st.events = [SandboxEvent("crash", "skipgram raised IndexError: too many indices for array", traceback, "skipgram")]
    for tid in ("sgd.correctness.trajectory", "sgd.correctness.postprocessing", "sgd.correctness.anneal",
                "sgd.correctness.progress"):
        t = _get(tests, tid)
        t.status, t.score, t.cases = Status.ERROR, 0.0, []
        t.summary = "sgd did not return within 20 s."
    _get(tests, "sgd.correctness.trajectory").events = [
        SandboxEvent("timeout", "sgd did not return within 20 seconds and was stopped.", "", "sgd")]
    events = [
        SandboxEvent("output_truncated", "Your code printed 4.2 MB; only the first 64 KB are kept.",
                     "iter 1 loss 2.3\n" * 40, None),
        SandboxEvent("memory_limit", "A worker ran out of memory (2048 MB).", "MemoryError", "naiveSoftmaxLossAndGradient"),
    ]
    return _result(tests, events=events, student=StudentInfo(submission_id="777", names=["Alan Turing"]))


def scenario_xss() -> GradeResult:
    """Student-controlled text full of HTML: output, exception message, file name, description, values."""
    tests = base_tests()
    _hide_secrets(tests)
    t = _get(tests, "sigmoid.correctness")
    t.status, t.score = Status.FAILED, 0.0
    t.summary = f"sigmoid raised ValueError: {XSS_SCRIPT}"
    t.cases = [CaseResult(case_id="x", description=f"scalar {XSS_IMG}", passed=False,
                          message=f"exception text {XSS_SCRIPT}{XSS_IMG}", reproducer=f"print('{XSS_SCRIPT}')",
                          output_name=XSS_IMG, expected=ArraySummary(None, "float", 0.5),
                          got=ArraySummary(None, "str", f"{XSS_SCRIPT} {XSS_IMG}"))]
    t.events = [SandboxEvent("crash", f"ValueError: {XSS_IMG}", f"Traceback (your code only):\n"
                             f'  File "word2vec.py", line 3, in sigmoid\nValueError: {XSS_SCRIPT}', "sigmoid")]
    events = [SandboxEvent("note", f"stdout: {XSS_SCRIPT}", f"{XSS_IMG}\n</pre></code><b>bold</b>\x1b[31mred\x1b[0m")]
    sub = SubmissionFiles(root="/autograder/submission", word2vec=f"nested/{XSS_IMG}/word2vec.py", sgd="sgd.py",
                          notes=[f"Found {XSS_SCRIPT} next to your files."])
    return _result(tests, events=events, submission=sub,
                   student=StudentInfo(submission_id=XSS_IMG, names=[f"Mallory {XSS_SCRIPT}"]))


def scenario_huge_output() -> GradeResult:
    """A student who printed megabytes: the report stays small and says it cut the text."""
    tests = base_tests()
    _hide_secrets(tests)
    t = _get(tests, "sgd.correctness.trajectory")
    t.status, t.score = Status.FAILED, 0.0
    t.summary = "sgd's iterates diverge from the reference's after iteration 3."
    huge = "x" * 2_000_000
    t.cases = [CaseResult(case_id="big", description="long run", passed=False, message=huge[:100_000],
                          reproducer="from sgd import sgd\n" + "# pad\n" * 50_000, output_name="x",
                          expected=ArraySummary([3], "float64", "1.0 " * 100_000),
                          got=ArraySummary([3], "float64", "2.0 " * 100_000))]
    events = [SandboxEvent("output_truncated", "Your code printed 2 MB; only the first 64 KB are kept.",
                           "HUGE-START " + huge + " HUGE-END")]
    return _result(tests, events=events, student=StudentInfo(submission_id="888", names=["Verbose Student"]))


def scenario_internal_error() -> GradeResult:
    """The grader failed: no tests ran."""
    return _result([], internal_error="RuntimeError: worker protocol violated (grader bug) — see logs",
                   execution_time=1.2, student=StudentInfo(submission_id="999", names=["Unlucky Student"]))


def scenario_check_mode() -> GradeResult:
    """`w2v-grader check`: visible tests ran, hidden ones skipped and absent from the score."""
    tests = base_tests()
    for t in tests:
        if t.visibility != "visible":
            t.status, t.score, t.cases = Status.SKIPPED, 0.0, []
    return _result(tests, mode="check", student=StudentInfo())


SCENARIOS = {
    "all_passed": scenario_all_passed,
    "failing": scenario_failing,
    "crash": scenario_crash,
    "xss": scenario_xss,
    "huge_output": scenario_huge_output,
    "internal_error": scenario_internal_error,
    "check_mode": scenario_check_mode,
}
