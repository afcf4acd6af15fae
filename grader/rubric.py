"""The rubric: points, tolerances, speed thresholds, limits and visibility, from one TOML file.

Every number the grader uses to decide a verdict lives in the rubric file
(default: ``grader/rubric_default.toml``); this module loads it into typed
objects and validates it, raising :class:`RubricError` with a message that
names the offending key.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from grader.results import CHECK_KINDS, FUNCTIONS, VISIBILITIES

DEFAULT_RUBRIC = Path(__file__).with_name("rubric_default.toml")

KNOWN_TEST_IDS: tuple[str, ...] = (
    "sigmoid.correctness", "sigmoid.stability", "sigmoid.speed",
    "naiveSoftmaxLossAndGradient.correctness.starter", "naiveSoftmaxLossAndGradient.correctness.random",
    "naiveSoftmaxLossAndGradient.correctness.edge", "naiveSoftmaxLossAndGradient.gradcheck",
    "naiveSoftmaxLossAndGradient.stability", "naiveSoftmaxLossAndGradient.speed",
    "negSamplingLossAndGradient.correctness.starter", "negSamplingLossAndGradient.correctness.random",
    "negSamplingLossAndGradient.correctness.repeats", "negSamplingLossAndGradient.gradcheck",
    "negSamplingLossAndGradient.stability", "negSamplingLossAndGradient.speed",
    "skipgram.correctness.starter", "skipgram.correctness.random", "skipgram.correctness.repeats",
    "skipgram.gradcheck", "skipgram.speed", "skipgram.integration",
    "sgd.correctness.trajectory", "sgd.correctness.postprocessing", "sgd.correctness.anneal",
    "sgd.correctness.progress", "sgd.correctness.saved_params", "sgd.integration",
)
"""Every test the engine implements; a rubric may list any subset."""


class RubricError(ValueError):
    """The rubric file is invalid; the message says where and why."""


@dataclass(frozen=True)
class Tolerances:
    rtol: float = 1e-5
    atol: float = 1e-7
    float32_rtol: float = 2e-4
    float32_atol: float = 1e-5
    gradcheck_threshold: float = 1e-5
    gradcheck_step: float = 1e-4


@dataclass(frozen=True)
class SpeedSettings:
    blocks: int = 3
    block_cpu: float = 0.012
    verify_reps: int = 2
    vectorised_fraction: float = 0.35
    loop_fraction: float = 0.7
    partial_credit: float = 0.5
    negative_sampling_full_passes: str = "full"
    full_pass_fraction: float = 2.5
    flood_characters: int = 1_000_000
    vocab_size: int = 10000
    dim: int = 10
    negatives: int = 10
    sigmoid_size: int = 100_000

    CHOICES = {"negative_sampling_full_passes": ("full", "partial", "none")}
    RETIRED = {
        "full_credit_ratio": "speed credit no longer depends on a ratio to the reference; see vectorised_fraction",
        "zero_credit_ratio": "speed credit no longer depends on a ratio to the reference; see loop_fraction",
        "min_reference_cpu": "renamed block_cpu",
        "growth_factor": "functions are timed at one size; loops are recognised from their cost per word",
        "loop_growth_margin": "functions are timed at one size; loops are recognised from their cost per word",
    }


@dataclass(frozen=True)
class Limits:
    call_timeout: float = 10.0  # CPU seconds of one call (a busy machine cannot make a call hit it)
    call_wall_timeout: float = 30.0  # wall seconds of one call (catches calls that block or sleep)
    worker_timeout: float = 120.0
    cpu_seconds: int = 120
    memory_mb: int = 2048
    file_size_mb: int = 64
    max_processes: int = 32
    output_kb: int = 64
    budget_seconds: float = 420.0


@dataclass(frozen=True)
class TestSpec:
    """One rubric entry: which test, how it is shown, what it is worth."""

    id: str
    name: str
    number: str
    points: float
    visibility: str

    @property
    def function(self) -> str:
        return self.id.split(".")[0]

    @property
    def check(self) -> str:
        return self.id.split(".")[1]


@dataclass(frozen=True)
class Environment:
    """The student environment a course grades in: ``numpy`` is a PEP 440 specifier ("" = any the grader
    supports).  Grading refuses to run in an environment that does not satisfy it (the self-check kit
    only warns), so a rubric that says "numpy 1.26" is graded with numpy 1.26 everywhere."""

    numpy: str = ""


@dataclass(frozen=True)
class Rubric:
    name: str
    tests: tuple[TestSpec, ...]
    tolerances: Tolerances = field(default_factory=Tolerances)
    speed: SpeedSettings = field(default_factory=SpeedSettings)
    limits: Limits = field(default_factory=Limits)
    environment: Environment = field(default_factory=Environment)
    leaderboard: bool = False
    source_hash: str = ""
    source_path: str = ""

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)

    def test(self, test_id: str) -> Optional[TestSpec]:
        return next((t for t in self.tests if t.id == test_id), None)

    def ids(self) -> list[str]:
        return [t.id for t in self.tests]


def load_rubric(path: Optional[Path] = None) -> Rubric:
    """Load and validate a rubric TOML file (the default one when ``path`` is None)."""
    path = Path(path) if path else DEFAULT_RUBRIC
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RubricError(f"cannot read rubric {path}: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RubricError(f"{path}: not valid TOML: {exc}") from exc
    rubric = parse_rubric(data, where=str(path))
    return Rubric(**{**rubric.__dict__, "source_hash": hashlib.sha256(raw).hexdigest(),
                     "source_path": str(path)})


def parse_rubric(data: dict[str, Any], where: str = "rubric") -> Rubric:
    """Validate a parsed rubric mapping; raises :class:`RubricError`."""
    _reject_unknown(data, {"name", "tests", "tolerances", "speed", "limits", "environment", "leaderboard"}, where)
    name = data.get("name", "rubric")
    if not isinstance(name, str) or not name:
        raise RubricError(f"{where}: 'name' must be a non-empty string")
    tests = _parse_tests(data.get("tests"), where)
    tolerances = _section(Tolerances, data.get("tolerances", {}), f"{where} [tolerances]")
    speed = _section(SpeedSettings, data.get("speed", {}), f"{where} [speed]")
    limits = _section(Limits, data.get("limits", {}), f"{where} [limits]")
    if not speed.vectorised_fraction < speed.loop_fraction:
        raise RubricError(f"{where} [speed]: vectorised_fraction must be below loop_fraction")
    if speed.partial_credit > 1:
        raise RubricError(f"{where} [speed]: partial_credit is a fraction of the points (at most 1)")
    leaderboard = data.get("leaderboard", False)
    if not isinstance(leaderboard, bool):
        raise RubricError(f"{where}: 'leaderboard' must be true or false")
    environment = _environment(data.get("environment", {}), f"{where} [environment]")
    return Rubric(name=name, tests=tests, tolerances=tolerances, speed=speed, limits=limits, environment=environment,
                  leaderboard=leaderboard)


_SPECIFIER = re.compile(r"^\s*(===|==|!=|~=|<=|>=|<|>)\s*[0-9][0-9A-Za-z.*+!-]*\s*$")


def _environment(values: Any, where: str) -> Environment:
    if not isinstance(values, dict):
        raise RubricError(f"{where}: must be a table")
    _reject_unknown(values, {"numpy"}, where)
    numpy = values.get("numpy", "")
    if not isinstance(numpy, str) or (numpy.strip() and not all(_SPECIFIER.match(p) for p in numpy.split(","))):
        raise RubricError(f"{where}: 'numpy' must be a version specifier such as \"==1.26.*\" or \">=2,<3\", "
                          f"got {numpy!r}")
    return Environment(numpy=numpy.strip())


def _parse_tests(entries: Any, where: str) -> tuple[TestSpec, ...]:
    if not isinstance(entries, list) or not entries:
        raise RubricError(f"{where}: needs at least one [[tests]] entry")
    seen: set[str] = set()
    tests = []
    for index, entry in enumerate(entries, start=1):
        at = f"{where} [[tests]] #{index}"
        if not isinstance(entry, dict):
            raise RubricError(f"{at}: must be a table")
        _reject_unknown(entry, {"id", "name", "number", "points", "visibility"}, at)
        test_id = entry.get("id")
        if test_id not in KNOWN_TEST_IDS:
            raise RubricError(f"{at}: unknown test id {test_id!r}; known ids: {', '.join(KNOWN_TEST_IDS)}")
        if test_id in seen:
            raise RubricError(f"{at}: test id {test_id!r} listed twice")
        seen.add(test_id)
        points = entry.get("points", 0.0)
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise RubricError(f"{at} ({test_id}): 'points' must be a number ≥ 0, got {points!r}")
        visibility = entry.get("visibility", "visible")
        if visibility not in VISIBILITIES:
            raise RubricError(f"{at} ({test_id}): visibility {visibility!r} not one of {', '.join(VISIBILITIES)}")
        tests.append(TestSpec(id=test_id, name=str(entry.get("name", test_id)), number=str(entry.get("number", index)),
                              points=float(points), visibility=visibility))
    assert all(t.function in FUNCTIONS and t.check in CHECK_KINDS for t in tests)
    return tuple(tests)


def _section(cls: type, values: Any, where: str):
    if not isinstance(values, dict):
        raise RubricError(f"{where}: must be a table")
    defaults = cls()
    for key, why in getattr(cls, "RETIRED", {}).items():
        if key in values:
            raise RubricError(f"{where}: '{key}' is no longer used ({why}); remove it")
    _reject_unknown(values, set(defaults.__dataclass_fields__), where)
    kwargs = {}
    choices = getattr(cls, "CHOICES", {})
    for key, value in values.items():
        expected = type(getattr(defaults, key))
        if key in choices:
            if value not in choices[key]:
                raise RubricError(f"{where}: '{key}' must be one of {', '.join(map(repr, choices[key]))}, got {value!r}")
            kwargs[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RubricError(f"{where}: '{key}' must be a number, got {value!r}")
        if value <= 0:
            raise RubricError(f"{where}: '{key}' must be positive, got {value!r}")
        if expected is int and not float(value).is_integer():
            raise RubricError(f"{where}: '{key}' must be a whole number, got {value!r}")
        kwargs[key] = expected(value)
    return cls(**kwargs)


def _reject_unknown(mapping: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise RubricError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
