"""Building the student self-check kit (``w2v-grader build-kit``): ``w2v-grader check`` without the solution.

The kit is a wheel (:mod:`grader.kit.wheel`) students install with
``pip install w2v_check_kit-VERSION-py3-none-any.whl``: no build step, and
its only dependencies are numpy, jinja2 and nh3.  It holds the grader's checking code, the provided ``utils`` package and,
in ``grader/kit_data/`` (see :mod:`grader.expected.kit_store`):

* the reference's outputs for the rubric's **visible** tests only (their
  inputs and expected values are shown in reports anyway);
* per timed call, the reference/calibration CPU ratio and the digest of the
  reference's output, measured here on the instructor's machine.

It never holds ``reference/word2vec.py``, ``sgd.py``, ``run.py``, the sympy
derivations, the written-answer checker (it embeds the written solutions),
expected values of hidden or later-released tests, or the instructor
commands.  Files are chosen from an allowlist, so a new module is left out
until someone decides it belongs in students' hands.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import statistics
import tempfile
from pathlib import Path
from typing import Iterator, Optional

from grader.kit.wheel import WheelMetadata, wheel_path, write_wheel
from grader.packaging import BuildError, load_build_rubric, read, walk

REPO_ROOT = Path(__file__).resolve().parents[2]
KIT_ALLOWLIST = (
    "grader/__init__.py", "grader/__main__.py", "grader/cli.py",
    "grader/pipeline.py",
    "grader/machine.py", "grader/results.py", "grader/rubric.py", "grader/course_secrets.py",
    "grader/commands/__init__.py", "grader/commands/_common.py", "grader/commands/check.py",
    "grader/checks/", "grader/discover/", "grader/expected/", "grader/report/", "grader/sandbox/", "grader/score/",
    "grader/worker/",
)
"""Everything of the grader that ships in a kit (folders end with /)."""
REFERENCE_STUB = b'"""The provided utils package only: the reference solution is not part of the self-check kit."""\n'
CALIBRATION_BLOCKS = 7


def build_kit(out: Path, *, rubric_path: Optional[Path] = None, repo_root: Path = REPO_ROOT) -> dict:
    """Write the kit's wheel into folder ``out`` (or to ``out``, its exact wheel name).

    Returns a summary: ``path`` (the wheel), ``entries``, ``expected_calls``, ``speed_scale``,
    ``names`` (the installed files) and ``seconds``.  BuildError before anything is computed if
    ``out`` cannot be a wheel's place.
    """
    import time

    from grader import __version__
    from grader.expected import kit_store

    started = time.monotonic()
    wheel_name = wheel_path(Path(out), _metadata(__version__, "")).name  # a wrong --out fails now, not after calibration
    if kit_store.manifest() is not None:
        raise BuildError("this is a self-check kit itself (it has no reference solution to build from)")
    rubric, rubric_bytes = load_build_rubric(rubric_path)
    files = _collect(repo_root)
    files["grader/rubric_default.toml"] = rubric_bytes
    expected = _visible_expected_values(rubric)
    for name, data in expected.items():
        files[f"grader/kit_data/expected/{name}"] = data
    scale, digests = _speed_calibration(rubric)
    from grader.expected.cache import sources_digest

    manifest = kit_store.KitManifest(sources_digest=sources_digest().hex(),
                               rubric_sha256=hashlib.sha256(rubric_bytes).hexdigest(), grader_version=__version__,
                               speed_scale=scale, speed_digests=digests)
    files["grader/kit_data/manifest.json"] = manifest.to_json().encode()
    path = write_wheel(Path(out), files, _metadata(__version__, _readme(rubric, wheel_name)))
    return {"path": path, "entries": len(files), "expected_calls": sum(n.endswith(".json") for n in expected),
            "speed_scale": scale, "names": sorted(files), "seconds": time.monotonic() - started}


def _collect(repo_root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for entry in KIT_ALLOWLIST:
        if entry.endswith("/"):
            for path in walk(repo_root / entry):
                files[path.relative_to(repo_root).as_posix()] = read(path)
        else:
            files[entry] = read(repo_root / entry)
    for path in walk(repo_root / "reference" / "utils"):
        files[path.relative_to(repo_root).as_posix()] = read(path)
    files["reference/__init__.py"] = REFERENCE_STUB
    return files


@contextlib.contextmanager
def _private_cache() -> Iterator[Path]:
    """A fresh, empty expected-value cache for this process (so exactly the visible calls land in it)."""
    before = os.environ.get("W2V_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="w2v-kit-") as tmp:
        os.environ["W2V_CACHE_DIR"] = tmp
        try:
            yield Path(tmp) / "expected"
        finally:
            if before is None:
                os.environ.pop("W2V_CACHE_DIR", None)
            else:
                os.environ["W2V_CACHE_DIR"] = before


def _visible_expected_values(rubric) -> dict[str, bytes]:
    """File name → bytes of the reference's outputs on every visible non-speed test's calls."""
    import shutil

    from grader.expected.outcomes import reference_files
    from grader.pipeline import grade_submission

    visible = rubric.__class__(**{**rubric.__dict__, "tests": tuple(
        t for t in rubric.tests if t.visibility == "visible" and t.check != "speed")})
    with _private_cache() as cache, tempfile.TemporaryDirectory() as submission:
        for name, path in reference_files().items():
            shutil.copyfile(path, Path(submission) / name)
        result = grade_submission(Path(submission), visible, mode="check")
        if result.internal_error or result.score < visible.max_score:
            raise BuildError(f"the reference did not pass its own visible tests ({result.score}/{visible.max_score})")
        return {path.name: path.read_bytes() for path in sorted(cache.glob("*")) if path.is_file()}


def _speed_calibration(rubric) -> tuple[dict[str, float], dict[str, object]]:
    """Per timed function: reference CPU / calibration CPU (median over blocks), measured here, once."""
    from grader.checks import speed_controller
    from grader.checks.speed_controller import SPEED_ORDER
    from grader.expected import kit_store
    from grader.expected.outcomes import reference_files
    from grader.sandbox.jobs import start_worker

    functions = [f for f in SPEED_ORDER if any(t.function == f and t.check == "speed" and t.visibility == "visible"
                                               for t in rubric.tests)]
    if not functions:
        return {}, {}
    more_blocks = rubric.__class__(**{**rubric.__dict__, "speed": rubric.speed.__class__(
        **{**rubric.speed.__dict__, "blocks": max(CALIBRATION_BLOCKS, rubric.speed.blocks)})})
    # The reference plays the student's side, the calibration workload the reference's.
    timer = speed_controller.ReferenceTimer(kit_store.CALIBRATION_FILES, more_blocks).start()
    session = start_worker(reference_files(), {"modules": ["word2vec"], "calls": []}, {}, rubric.limits, serve=True)
    try:
        sample = speed_controller.measure(functions, lambda: session, timer, more_blocks, verify=False)
    finally:
        session.close()
        session.cleanup()
        timer.close()
    scale = {}
    for function in functions:
        timing = sample.timings.get(function)
        if timing is None or not timing.student or not timing.reference or timing.failure or timing.stopped_early:
            raise BuildError(f"could not calibrate the timing of {function} (the reference was not measured)")
        scale[function] = round(statistics.median(timing.student) / statistics.median(timing.reference), 6)
    return scale, {}


def _metadata(version: str, readme: str) -> WheelMetadata:
    return WheelMetadata(
        name="w2v-check-kit", version=version,
        summary="Self-check for the CS224n word2vec assignment (visible tests; no solution inside)",
        requires_python=">=3.9",
        requires=("numpy>=1.24,<3", "jinja2>=3.1,<4", "nh3>=0.2,<1", "tomli>=2; python_version < '3.11'"),
        scripts=(("w2v-grader", "grader.cli:main"),), readme=readme)


def _readme(rubric, wheel_name: str) -> str:
    visible = [t for t in rubric.tests if t.visibility == "visible"]
    return f"""# w2v-check-kit: self-check for the word2vec assignment

Install it once (in the environment you use for the assignment):

    pip install {wheel_name}

Then, in your assignment folder (where word2vec.py and sgd.py are):

    w2v-grader check

It runs the {len(visible)} visible tests of the course's rubric in the same sandbox as the
course's grader, prints one line per function and writes `w2v-report.html` with reproducers and
hints. It exits 1 if anything failed.

- The kit does not contain the solution. Expected values are stored for the visible tests only
  (the same inputs and values the report shows you). Hidden and later-released tests run only on
  the course's grader; the report lists them as pending.
- Speed is an **estimate**: the kit cannot time the reference, so it times a calibration workload
  on your machine and scales it by the reference/calibration ratio measured by the course staff.
  The course's grader times your code against the reference itself.
"""
