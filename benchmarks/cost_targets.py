"""Grading cost against the targets of issue #14, measured side by side in one run.

    python benchmarks/cost_targets.py [--repeats 5] [--class-size 200] [--quick] [--out FILE.json]

Prints one table: each target, the value measured now, and that value as a ratio to the floor
(``python -c "import numpy"``, measured in the same run).  Rows:

* ``grade`` as a whole command on a correct submission (``correct_einsum``): wall p50, CPU seconds of
  the whole process tree (``RUSAGE_CHILDREN`` of a wrapper that ran only that command) and the
  largest RSS and PSS summed over the command's tree (sampled every 0.1 s from /proc; the wrapper left out);
* self-check ``check`` from an installed kit on the same submission (wall);
* ``batch -j 2`` on the bundled corpus and on a synthetic class of ``--class-size`` submissions (the
  corpus replicated, each copy perturbed by a comment so nothing is shared by content): submissions
  per minute, CPU seconds per submission, tree RSS;
* the Gradescope simulation (``benchmarks/gradescope_budget.py``: ½ CPU, 768 MiB; root and cgroup v1
  only) on a correct submission with a warm cache: wall and peak memory;
* speed-verdict stability: three samples graded ``--stability`` times while another process keeps a
  core busy (``benchmarks/grading_benchmark.py``'s rule): distinct verdicts per sample (target 1).

The repository's modules are byte-compiled first (``compileall``), as any installation has them:
where ``PYTHONDONTWRITEBYTECODE`` is set, every command would otherwise compile ~80 modules again
(~0.1 CPU-s a command, not a cost of grading).

``--quick`` skips the synthetic class, the Gradescope run and the stability rounds.  Numbers are
this machine's; a busy machine makes them worse, never better.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from batch_throughput import WRAPPER, _tree_memory_kb, build_export, run_batch  # noqa: E402

from grader.corpus import load_corpus, materialize  # noqa: E402

SAMPLE = "correct_einsum"


def _timed(cmd: list[str], env: dict | None = None, cwd: Path = REPO, pss: bool = False) -> dict:
    """Run ``cmd`` under the rusage wrapper: wall, tree CPU seconds, tree peak RSS and PSS sums (MB), exit code."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", WRAPPER, *cmd], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak, peak_pss, stop = [0], [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss, shared = _tree_memory_kb(proc.pid, pss=pss, skip_root=True)  # the wrapper is not measured
            peak[0], peak_pss[0] = max(peak[0], rss), max(peak_pss[0], shared)
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    usage = json.loads([line for line in stderr.splitlines() if line.startswith("{")][-1])
    return {"wall": wall, "cpu": usage["cpu_children_s"], "rss_mb": peak[0] / 1024, "pss_mb": peak_pss[0] / 1024,
            "rc": usage["rc"]}


def floor(repeats: int) -> float:
    walls = []
    for _ in range(repeats):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import numpy"], check=True)
        walls.append(time.monotonic() - started)
    return statistics.median(walls)


def grade_command(folder: Path, repeats: int) -> dict:
    runs = [_timed([sys.executable, "-m", "grader", "grade", str(folder), "--quiet",
                    "--json", str(folder.parent / "grade.json")], pss=True) for _ in range(repeats)]
    return {"wall_p50": statistics.median(r["wall"] for r in runs), "cpu_p50": statistics.median(r["cpu"] for r in runs),
            "rss_mb": max(r["rss_mb"] for r in runs), "pss_mb": max(r["pss_mb"] for r in runs),
            "rc": max(r["rc"] for r in runs), "runs": runs}


def kit_check(folder: Path, work: Path, repeats: int) -> dict:
    """Build the kit, install it with pip --target, time ``w2v-grader check`` from it (kit modules only)."""
    from grader.kit.build import build_kit

    zip_path = build_kit(work)["path"]
    target = work / "kit"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(zip_path)], check=True)
    script = ("import sys\nsys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in repr(f)]\n"
              "from grader.cli import main\nsys.exit(main(['check', sys.argv[1]]))\n")
    env = {**os.environ, "PYTHONPATH": str(target)}
    runs = [_timed([sys.executable, "-c", script, str(folder)], env=env, cwd=work) for _ in range(repeats)]
    return {"wall_p50": statistics.median(r["wall"] for r in runs), "cpu_p50": statistics.median(r["cpu"] for r in runs),
            "rc": max(r["rc"] for r in runs)}


def synthetic_class(corpus: Path, dest: Path, size: int) -> Path:
    """``size`` submissions: the corpus' folders in turn, each copy's .py files given a distinct comment."""
    folders = sorted(p for p in corpus.iterdir() if p.is_dir() and (p / "expected.toml").exists())
    dest.mkdir(parents=True)
    for index in range(size):
        source = folders[index % len(folders)]
        copy = dest / f"{index:04d}_{source.name}"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("expected.toml"))
        for py in copy.rglob("*.py"):
            with open(py, "ab") as handle:
                handle.write(f"\n# synthetic copy {index}\n".encode())
    return dest


def batch(folder: Path, out: Path, n: int) -> dict:
    info = run_batch(folder, out, 2, None, [])
    return {"per_min": n / info["wall"] * 60, "wall": info["wall"], "cpu_per_sub": info.get("cpu_children_s", 0) / n,
            "rss_mb": info["tree_peak_kb"] / 1024, "rc": info["rc"]}


def gradescope() -> dict | None:
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gradescope_budget.py"), SAMPLE, SAMPLE],
                          capture_output=True, text=True, cwd=REPO)
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith(SAMPLE)]
    if proc.returncode != 0 or len(rows) < 2:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        return None
    warm = rows[-1]  # sample, cache, wall, cpu, peak MiB, RSS MiB, OOM, score...
    return {"wall": float(warm[2]), "cpu": float(warm[3]), "peak_mib": float(warm[4]), "rss_mib": float(warm[5])}


def stability(dest: Path, repeats: int) -> dict:
    from grading_benchmark import stability as rounds

    return rounds(dest, repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--class-size", type=int, default=200)
    parser.add_argument("--stability", type=int, default=10)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scaling", default="", help="comma-separated class sizes: batch -j 2 on each (and -j 1 "
                        "pinned to one core with taskset on the smallest), printed as a growth table; skips the rest")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="w2v-cost-"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "grader"), str(REPO / "reference")],
                   check=True)
    report: dict = {"load_average_start": os.getloadavg()[0]}
    if args.scaling:
        try:
            scaling(work, [int(n) for n in args.scaling.split(",")])
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    try:
        corpus = work / "corpus"
        expectations = load_corpus()
        for e in expectations:
            materialize(e, corpus)
        report["floor_s"] = base = floor(args.repeats)
        print(f"floor (python -c 'import numpy'): {base:.3f} s", flush=True)
        report["grade"] = grade_command(corpus / SAMPLE, args.repeats)
        print(f"grade: {report['grade']['wall_p50']:.2f} s", flush=True)
        report["check"] = kit_check(corpus / SAMPLE, work, args.repeats)
        print(f"check: {report['check']['wall_p50']:.2f} s", flush=True)
        export = work / "export"
        n = build_export(REPO / "submissions", export, None)
        report["batch_corpus"] = {**batch(export, work / "out-corpus", n), "n": n}
        print(f"batch corpus: {report['batch_corpus']['per_min']:.1f}/min", flush=True)
        if not args.quick:
            synthetic = synthetic_class(REPO / "submissions", work / "class", args.class_size)
            report["batch_class"] = {**batch(synthetic, work / "out-class", args.class_size), "n": args.class_size}
            print(f"batch class: {report['batch_class']['per_min']:.1f}/min", flush=True)
            report["gradescope"] = gradescope()
            report["stability"] = stability(work / "stability", args.stability)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["load_average_end"] = os.getloadavg()[0]
    print_table(report)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, default=str))
    return 0


def scaling(work: Path, sizes: list[int]) -> None:
    """Batch wall time and CPU by class size (-j 2 on all cores; -j 1 and -j 2 on one core for the smallest > 1)."""
    rows = []
    for n in sizes:
        folder = synthetic_class(REPO / "submissions", work / f"class-{n}", n)
        configs = [("-j 2, 2 cores", [])]
        if n == min(x for x in sizes if x > 1):
            configs += [("-j 2, 1 core (taskset)", ["taskset", "-c", "0"])]
        for label, prefix in configs:
            started = time.monotonic()
            info = _timed([*prefix, sys.executable, "-m", "grader", "batch", str(folder), "--out",
                           str(work / f"out-{n}-{len(rows)}"), "-j", "2", "--quiet"])
            rows.append((n, label, info["wall"], info["cpu"], n / info["wall"] * 60, info["rc"]))
            print(f"  {n} submissions, {label}: {time.monotonic() - started:.1f} s", flush=True)
    print(f"\n{'class':>6s} {'configuration':24s} {'wall s':>8s} {'CPU s':>8s} {'per min':>8s} {'CPU/sub':>8s}")
    for n, label, wall, cpu, per_min, rc in rows:
        print(f"{n:6d} {label:24s} {wall:8.1f} {cpu:8.1f} {per_min:8.1f} {cpu / n:8.2f}{'  rc=' + str(rc) if rc else ''}")
    print(f"(load average {os.getloadavg()[0]:.2f})")


def print_table(r: dict) -> None:
    base = r["floor_s"]
    rows = [("grade p50 wall (s)", "<= 3.0", r["grade"]["wall_p50"], True),
            ("grade CPU, whole tree (s)", "<= 4.0", r["grade"]["cpu_p50"], True),
            ("grade tree peak RSS, summed (MB)", "<= 250", r["grade"]["rss_mb"], False),
            ("grade tree peak PSS, summed (MB)", "(info)", r["grade"]["pss_mb"], False),
            ("kit check p50 wall (s)", "<= 2.0", r["check"]["wall_p50"], True)]
    for key, label in (("batch_corpus", "corpus"), ("batch_class", "synthetic class")):
        if key in r:
            b = r[key]
            rows += [(f"batch -j2 {label} ({b['n']}) per min", ">= 40", b["per_min"], False),
                     (f"batch -j2 {label} CPU per submission (s)", "<= 3.0", b["cpu_per_sub"], True),
                     (f"batch -j2 {label} tree peak RSS (MB)", "(info)", b["rss_mb"], False)]
    if r.get("gradescope"):
        g = r["gradescope"]
        rows += [("Gradescope ½ CPU wall, warm (s)", "<= 8.0", g["wall"], True),
                 ("Gradescope peak memory (MiB)", "<= 400", g["peak_mib"], False)]
    print(f"\n{'target':44s} {'goal':>8s} {'measured':>9s} {'÷ floor':>8s}")
    for name, goal, value, ratio in rows:
        print(f"{name:44s} {goal:>8s} {value:9.2f} {value / base if ratio else float('nan'):8.1f}")
    for name, v in (r.get("stability") or {}).items():
        print(f"stability {name:34s} {'1':>8s} {v['distinct_verdicts']:9d}")
    failed = [k for k in ("grade", "check", "batch_corpus", "batch_class") if (r.get(k) or {}).get("rc")]
    if failed:
        print(f"FAILED commands (non-zero exit; their numbers are not measurements): {', '.join(failed)}")
    print(f"(floor {base:.3f} s; load average {r['load_average_start']:.2f} → {r['load_average_end']:.2f})")


if __name__ == "__main__":
    sys.exit(main())
