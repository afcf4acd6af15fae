"""Expected outcomes and the timing baseline: what a student's results are compared with.

:func:`expected_outcomes` gives the reference's outcome of each call: from the disk cache
(:mod:`grader.expected.cache`), else by running the reference through the very same worker and
job as the student's code (a sandboxed worker, :func:`grader.sandbox.jobs.run_job`); in a
self-check kit, which has no reference, only from the values the kit ships
(:mod:`grader.expected.kit_store`).  :func:`timing_baseline` is what the speed check times
student code against: the reference, or in a kit the calibration workload.  Expected values never
enter a student's worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from grader.results import SandboxEvent
from grader.rubric import Rubric
from grader.sandbox.jobs import CallOutcome, read_outcome, run_job

from . import cache, kit_store
from .cache import REFERENCE_DIR


def reference_files() -> dict[str, Path]:
    """The reference solution's two files, as a submission's would be."""
    return {"word2vec.py": REFERENCE_DIR / "word2vec.py", "sgd.py": REFERENCE_DIR / "sgd.py"}


def timing_baseline() -> tuple[dict[str, Path], Optional[kit_store.KitManifest]]:
    """What student code is timed against: the reference, or in a self-check kit the calibration workload."""
    manifest = kit_store.manifest()
    return (kit_store.CALIBRATION_FILES, manifest) if manifest is not None else (reference_files(), None)


def expected_outcomes(calls: list[dict[str, Any]], arrays: dict[str, np.ndarray],
                      rubric: Rubric) -> dict[str, CallOutcome]:
    """Reference outcomes for ``calls``, cached on disk per call (any subset of a job hits the cache)."""
    if not calls:
        return {}
    sources = cache.sources_digest()
    keys = {c["id"]: cache.call_key(c, arrays, sources) for c in calls}
    in_kit = kit_store.manifest() is not None
    folder = kit_store.expected_dir() if in_kit else cache.cache_dir()
    outcomes: dict[str, CallOutcome] = {}
    for call in calls:
        if (folder / f"{keys[call['id']]}.json").exists():
            cached = read_outcome(folder, keys[call["id"]])
            if cached.meta is not None:
                outcomes[call["id"]] = CallOutcome(call["id"], meta=cached.meta, arrays=cached.arrays)
    missing = [c for c in calls if c["id"] not in outcomes]
    if missing and in_kit:  # the kit never contains the reference: nothing to compute these with
        for call in missing:
            outcomes[call["id"]] = CallOutcome(call["id"], event=SandboxEvent(
                "note", "The self-check kit has no expected value for this case: it was built for another "
                "rubric or grader version. Ask the course staff for the current kit."))
        return outcomes
    if missing:
        run = run_job(reference_files(), {"modules": ["word2vec", "sgd"], "calls": missing}, arrays, rubric.limits)
        for call in missing:
            outcomes[call["id"]] = run.get(call["id"])
            cache.store(folder, keys[call["id"]], outcomes[call["id"]])
    return outcomes


