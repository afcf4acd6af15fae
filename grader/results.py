"""Plain typed result objects passed between the pipeline stages.

discover → sandbox-run → check → score → report.  Every stage after the
sandbox works only on these dataclasses; nothing here holds student code
or live objects produced by it (arrays that came back from a worker were
copied and validated on receipt).

All objects round-trip through JSON with :func:`to_jsonable` /
:meth:`GradeResult.from_dict`, which is how batch mode stores results and
how reports are re-rendered.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Optional

FUNCTIONS: tuple[str, ...] = (
    "sigmoid",
    "naiveSoftmaxLossAndGradient",
    "negSamplingLossAndGradient",
    "skipgram",
    "sgd",
)
"""Graded functions, in handout order (also the tag ``function:<name>``)."""

CHECK_KINDS: tuple[str, ...] = ("correctness", "gradcheck", "stability", "speed", "integration")
"""Kinds of check (also the tag ``check:<kind>``)."""

VISIBILITIES: tuple[str, ...] = ("visible", "after_due_date", "after_published", "hidden")


class Status(str, enum.Enum):
    """Outcome of one graded test (Gradescope only knows passed/failed)."""

    PASSED = "passed"
    FAILED = "failed"
    PARTIAL = "partial"  # some points, not all; rendered as "failed" for Gradescope
    ERROR = "error"  # the submission could not be run for this test (crash, timeout, missing function)
    SKIPPED = "skipped"  # not run (e.g. budget exhausted, or not part of a `check` run)


@dataclass
class SandboxEvent:
    """Something the sandbox observed while running student code.

    kind: one of ``timeout``, ``crash``, ``exit``, ``output_truncated``, ``memory_limit``,
    ``cpu_limit``, ``process_limit``, ``file_size_limit``, ``import_error``, ``syntax_error``,
    ``missing_file``, ``missing_function``, ``bad_signature``, ``suspicious``, ``note``.
    ``detail`` is plain text controlled partly by the student: always escape it.
    """

    kind: str
    message: str
    detail: str = ""
    function: Optional[str] = None


@dataclass
class ArraySummary:
    """A value as shown to a human: shape, dtype and a (possibly truncated) nested list."""

    shape: Optional[list[int]]  # None for a Python scalar
    dtype: str  # numpy dtype name or Python type name ("float", "NoneType", "tuple", ...)
    preview: Any  # JSON-able nested lists / number / string, truncated for size
    truncated: bool = False


@dataclass
class CaseResult:
    """One input case of a test (one call, or one sgd trajectory)."""

    case_id: str
    description: str
    passed: bool
    message: str = ""  # why it failed, in plain English
    reproducer: str = ""  # runnable Python snippet (only for visible tests)
    output_name: str = ""  # which output failed: "loss", "gradCenterVec", "gradOutsideVecs", ...
    expected: Optional[ArraySummary] = None
    got: Optional[ArraySummary] = None
    first_mismatch: Optional[list[int]] = None  # index into the output array
    max_abs_error: Optional[float] = None
    error_matrix: Optional[list[list[float]]] = None  # |got-expected| for matrix outputs (downsampled)
    notes: list[str] = field(default_factory=list)  # accepted-but-noted differences (float32, 0-d array loss...)
    # What went wrong, for charging each bug once (set by compare_call when the call returned):
    returned: bool = False  # the call finished and returned (no crash, timeout or exception)
    wrong_outputs: list[str] = field(default_factory=list)  # every output that is not acceptable
    overflow: bool = False  # some output is nan/inf where the correct value is finite
    mutated_inputs: list[str] = field(default_factory=list)  # arguments the function modified in place


@dataclass
class GradcheckDetail:
    """Worst coordinate of a numerical-vs-analytic gradient comparison."""

    parameter: str  # "centerWordVec", "outsideVectors", "wordVectors"
    worst_index: list[int]
    analytic: float
    numerical: float
    relative_error: float
    threshold: float


@dataclass
class SpeedMeasurement:
    """Timing of one function, measured as kernel CPU seconds per call."""

    function: str
    size_label: str  # e.g. "V=20000, d=50, K=10"
    student_seconds: float  # median CPU seconds per call
    reference_seconds: float
    ratio: float  # student / reference (median of interleaved ratios)
    samples: int  # number of interleaved student/reference pairs


@dataclass
class SpeedVerdict:
    """Speed of one function against the reference plus how it grows with V."""

    function: str
    measurements: list[SpeedMeasurement]
    ratio: float  # the ratio the verdict is based on
    growth_student: Optional[float]  # time(4V)/time(V) for the student
    growth_reference: Optional[float]
    loops_over_vocabulary: bool
    verdict: str  # "fast", "slow", "too_slow", "wrong_output", "not_measured"
    explanation: str
    extra_ns_per_unit: Optional[float] = None
    """The student's extra CPU time per vocabulary word (per element for sigmoid) over the reference's, in ns."""
    loop_ns_per_unit: Optional[float] = None
    """CPU time of one iteration of a plain Python loop over the vocabulary (the elements), on the grading machine."""
    unit: str = "row"
    full_passes: bool = False
    """Negative sampling makes full passes over all V rows where only the K+1 sampled ones are needed."""
    verified_calls: int = 0
    """Timed calls whose outputs the grader read back and compared with the reference's."""
    estimated: bool = False
    """The reference's time is an estimate (self-check kit: a calibration workload)."""


@dataclass
class CauseEvidence:
    """One known mistake that reproduces some of a function's outputs (see :mod:`grader.diagnose`)."""

    cause_id: str  # stable catalogue id, e.g. "neg.repeats_overwritten" ("a+b" for two mistakes together)
    title: str  # short name of the mistake
    explanation: str  # student-facing: what the code does wrong and what to do instead (words only)
    outputs: list[str] = field(default_factory=list)  # the outputs it reproduces on every compared case
    output_labels: list[str] = field(default_factory=list)  # the same, in words for the student ("the step sizes")
    cases: int = 0  # cases compared (every case where the function returned or raised)
    failing_cases: int = 0  # failing cases among them that it reproduces


@dataclass
class Diagnosis:
    """The likely cause of a function's failures: the known mistake its outputs match, if any.

    ``status``: "match" (one mistake reproduces every output on every compared case), "partial"
    (some outputs are reproduced, by one or more mistakes; ``unexplained`` lists the others) or
    "none" (no known mistake reproduces any wrong output).  Never changes a status or a point.
    """

    function: str
    status: str
    cause_id: str = ""  # the full match's id ("" unless status == "match")
    causes: list[CauseEvidence] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)  # other ids that reproduce the same outputs
    summary: str = ""  # one student-facing sentence
    tests: list[str] = field(default_factory=list)  # the tests whose cases were compared

    def describe(self) -> str:
        """Plain student-facing text (terminal, Gradescope, Markdown): the summary and each cause's explanation."""
        lines = [("Likely cause: " if self.status == "match" else "Diagnosis: ") + self.summary]
        for cause in self.causes:
            lines.append(f"  - {cause.title} [{cause.cause_id}]: {cause.explanation}")
        if self.alternatives:
            lines.append("  (other known mistakes give the same outputs: " + ", ".join(self.alternatives) + ")")
        return "\n".join(lines)


@dataclass
class TestResult:
    """One graded test: a (function, check) pair or a part of one.  Maps to one Gradescope test."""

    test_id: str  # stable id, e.g. "naiveSoftmaxLossAndGradient.correctness.random"
    name: str
    number: str  # Gradescope ordering, "2.1"
    function: str  # one of FUNCTIONS
    check: str  # one of CHECK_KINDS
    score: float
    max_score: float
    status: Status
    visibility: str = "visible"
    summary: str = ""  # one line, student-facing
    hint: str = ""  # what this failure pattern usually means
    cases: list[CaseResult] = field(default_factory=list)
    gradcheck: Optional[GradcheckDetail] = None
    speed: Optional[SpeedVerdict] = None
    events: list[SandboxEvent] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    computes_nothing: str = ""
    """Set on a function's correctness tests when it computes nothing yet (why, in words)."""
    diagnosis: Optional[Diagnosis] = None
    """The likely cause (known mistake) behind this failing test's function, from :mod:`grader.diagnose`."""

    @property
    def hidden_from_student(self) -> bool:
        """True when a student must not see inputs/expected values of this test now."""
        return self.visibility != "visible"


@dataclass
class StudentInfo:
    """Who submitted (from Gradescope metadata or a batch export), when known."""

    submission_id: str = ""
    names: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    student_ids: list[str] = field(default_factory=list)


@dataclass
class SubmissionFiles:
    """What discovery found: paths relative to the submission root."""

    root: str
    word2vec: Optional[str] = None
    sgd: Optional[str] = None
    problems: list[SandboxEvent] = field(default_factory=list)  # missing file, notebook, encoding...
    notes: list[str] = field(default_factory=list)


@dataclass
class GradeResult:
    """Everything known about one graded submission."""

    submission: SubmissionFiles
    tests: list[TestResult]
    score: float
    max_score: float
    execution_time: float  # wall seconds for the whole grade
    grader_version: str
    rubric_name: str
    rubric_hash: str
    isolation_layers: list[str] = field(default_factory=list)  # e.g. ["rlimits", "process_group", "netns"]
    events: list[SandboxEvent] = field(default_factory=list)  # submission-level events
    student: StudentInfo = field(default_factory=StudentInfo)
    internal_error: Optional[str] = None  # grader-side failure (never student-controlled text only)
    mode: str = "grade"  # "grade" (all tests) or "check" (visible tests only)
    numpy_version: str = ""
    """The NumPy that ran the student's code ("" for results written before it was recorded)."""
    integrity: str = ""
    """"strong" when student code could not read the grader's secrets, "weak" otherwise
    (:func:`grader.sandbox.integrity`); "" for results written before it was recorded."""

    def tests_for(self, function: str) -> list[TestResult]:
        return [t for t in self.tests if t.function == function]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeResult:
        """Rebuild from :func:`to_jsonable` output (batch results.jsonl, report re-rendering)."""
        return _from_dict(cls, data)


def to_jsonable(obj: Any) -> Any:
    """Convert a result dataclass (recursively) into JSON-able dicts/lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, float) and obj != obj:  # NaN is not valid JSON
        return None
    return obj


def _from_dict(cls: Any, data: Any) -> Any:
    import typing

    if data is None:
        return None
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)


def _convert(tp: Any, value: Any) -> Any:
    import typing

    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:  # Optional[X]
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if inner else value
    if origin is list:
        return [_convert(args[0], v) for v in value] if args else list(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, value)
    return value
