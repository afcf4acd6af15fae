"""Where one grading's CPU goes: the grader process, each sandboxed run, and a worker's start-up alone.

    python benchmarks/cost_breakdown.py [--sample correct_einsum] [--repeats 5]

Grades the sample in this process (warm expected-value cache: one grading first, not counted), as
``grade`` does after its imports, and prints medians over ``--repeats`` gradings:

* the grader process's own CPU (``time.process_time``: every thread of this process), split into the
  pipeline's stages by wrapping them (their CPU includes the threads that follow the workers);
* every sandboxed run, named by the thread that started it (the isolation probes, the correctness
  job's worker ``student``, the speed check's ``reference`` worker): CPU seconds of the whole run
  as the kernel counted it (its cgroup when it has one: trampoline, init, worker and children) and
  wall seconds;
* the start-up alone: a sandboxed run of ``python -I -S -B -c pass`` (trampoline, init and an
  interpreter) and of ``-c "import numpy"`` (what every worker pays before its first call), with
  the same isolation layers;
* the imports of a ``grade`` command (``python -X importtime``-free: one fresh interpreter importing
  the pipeline and the report, timed whole).

Numbers are this machine's, now; a busy machine makes them larger.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader import pipeline  # noqa: E402
from grader.corpus import load_corpus, materialize  # noqa: E402
from grader.sandbox import SandboxLimits, detect_isolation, probes, run_sandboxed, supervisor  # noqa: E402
from grader.sandbox.environment import make_workdir  # noqa: E402
from grader.sandbox.import_path import outside_targets, student_site_dir  # noqa: E402

STAGES = ("_plan", "_judge", "_measure_speed", "_reference_timer")
"""Pipeline functions whose CPU is reported (the rest of a grading is the correctness job's wait)."""


_RUNS: list[tuple[str, float, float]] = []
"""(thread name, CPU s, wall s) of every sandboxed run since the last clear."""
_STAGES: dict[str, float] = collections.defaultdict(float)
"""CPU seconds per pipeline stage since the last clear."""


def _instrument() -> None:
    """Record every sandboxed run and the CPU of each of :data:`STAGES` (once per process)."""
    original_run = supervisor.run

    def run(*args, **kwargs):
        started = time.monotonic()
        result = original_run(*args, **kwargs)
        name = threading.current_thread().name.removeprefix("w2v-")
        _RUNS.append((name if name != "MainThread" else "probe", result.cpu_seconds, time.monotonic() - started))
        return result

    supervisor.run = run
    for stage in STAGES:
        original = getattr(pipeline, stage)

        def wrapped(*args, _original=original, _stage=stage, **kwargs):
            before = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                _STAGES[_stage] += time.process_time() - before

        setattr(pipeline, stage, wrapped)


def _startup(code: str, repeats: int) -> float:
    """Median CPU seconds of a sandboxed ``python -I -S -B -c code`` run (the whole run, as counted), with
    the workers' import path (``code`` may import numpy) and readable paths."""
    info = detect_isolation()
    site = student_site_dir()
    spent = []
    for _ in range(repeats):
        workdir = make_workdir("w2v-bench-")
        run = run_sandboxed([sys.executable, "-I", "-S", "-B", "-c", f"import sys; sys.path.append({str(site)!r}); {code}"],
                            workdir, SandboxLimits(wall_seconds=30), isolation=info,
                            readable_paths=[site, *outside_targets()])
        if run.returncode != 0:
            raise RuntimeError(f"the start-up run failed: {run.stderr_tail[-500:]}")
        spent.append(run.cpu_seconds)
    return statistics.median(spent)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", default="correct_einsum")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    expectation = next(e for e in load_corpus() if e.name == args.sample)
    _instrument()
    probe_started = time.monotonic()
    probes._probe_all()  # what detect_isolation does once per command
    probe_wall = time.monotonic() - probe_started
    probe_runs = list(_RUNS)
    totals, per_stage, by_run = [], collections.defaultdict(list), collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        folder = materialize(expectation, Path(tmp))
        pipeline.grade_submission(folder)  # warms the expected-value cache; not counted
        for _ in range(args.repeats):
            _RUNS.clear()
            _STAGES.clear()
            before = time.process_time()
            pipeline.grade_submission(folder)
            totals.append(time.process_time() - before)
            for stage in STAGES:
                per_stage[stage].append(_STAGES.get(stage, 0.0))
            for name, cpu, wall in _RUNS:
                by_run[name].append((cpu, wall))
        numpy_run = _startup("import numpy", args.repeats)
        bare_run = _startup("pass", args.repeats)
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import grader.pipeline, grader.report, grader.cli"], check=True, cwd=REPO)
    imports = time.monotonic() - started
    rows = [("grader process, all its threads", statistics.median(totals), None)]
    rows += [(f"  of which {stage}", statistics.median(per_stage[stage]), None) for stage in STAGES]
    for name, values in sorted(by_run.items()):
        rows.append((f"sandboxed run '{name}' (x{len(values) / args.repeats:g} per grading)",
                     statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)))
    rows += [(f"isolation probes, once per command (x{len(probe_runs)})", sum(r[1] for r in probe_runs), probe_wall),
             ("start-up alone: sandboxed python -c pass", bare_run, None),
             ("start-up alone: sandboxed python -c 'import numpy'", numpy_run, None),
             ("a grade command's imports (fresh interpreter, wall)", None, imports)]
    print(f"\nOne grading of {args.sample}, in process (medians of {args.repeats})\n")
    print(f"{'where':56s} {'CPU s':>7s} {'wall s':>7s}")
    for label, cpu, wall in rows:
        print(f"{label:56s} {'' if cpu is None else f'{cpu:7.3f}':>7s} {'' if wall is None else f'{wall:7.3f}':>7s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
