"""Grading benchmark: wall time per submission, `check` time, speed-verdict stability, separation.

Prints, in one run:
1. ``grade`` wall time over the sample corpus (median, max; in-process, as batch and Gradescope run it), the
   ``check`` wall time, and three ``w2v-grader grade`` command lines timed whole (new interpreter);
2. the speed check's stability: a fast and a slow sample graded N times while another process
   keeps one core busy — the verdicts must never change (exit 1 if they do);
3. separation: the largest gradient-check error of any correct sample vs the smallest of any
   wrong one, and the largest speed ratio of any vectorised sample vs the smallest of any
   loop-over-vocabulary one.

Usage: python benchmarks/grading_benchmark.py [--repeats 10] [--only-stability] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.corpus import load_corpus, materialize  # noqa: E402
from grader.pipeline import grade_submission  # noqa: E402
from grader.results import Status  # noqa: E402

FAST, SLOW = "reference", "slow_vocab_loop"
LOOP_OVER_K = "correct_2019_starter"  # vectorised over V, Python loop over the K negatives: must stay "fast"
CLI_SAMPLES = ("reference", "correct_2019_starter", "bug_sign_error")
LOOP_SAMPLES = {"slow_vocab_loop", "hostile_sleep_speed", "hostile_memo_speed"}


def burn(stop) -> None:
    """Keep one core busy until ``stop`` is set."""
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def grade_corpus(dest: Path) -> list[dict]:
    rows = []
    for expectation in load_corpus():
        folder = materialize(expectation, dest)
        started = time.monotonic()
        result = grade_submission(folder)
        rows.append({"name": expectation.name, "category": expectation.category,
                     "wall": time.monotonic() - started, "score": result.score, "result": result})
        print(f"  {expectation.name:30s} {rows[-1]['wall']:6.2f} s  {result.score:5.2f}", flush=True)
    return rows


def separation(rows: list[dict]) -> dict:
    grad_ok, grad_bad, ratio_fast, ratio_loop = [], [], [], []
    for row in rows:
        for test in row["result"].tests:
            if test.check == "gradcheck" and test.gradcheck is not None:
                (grad_ok if test.status == Status.PASSED else grad_bad).append(test.gradcheck.relative_error)
            if test.check == "speed" and test.speed is not None and test.speed.ratio == test.speed.ratio:
                if row["name"] in LOOP_SAMPLES and test.function == "naiveSoftmaxLossAndGradient":
                    ratio_loop.append(test.speed.ratio)
                elif test.status == Status.PASSED:
                    ratio_fast.append(test.speed.ratio)
    return {"gradcheck_max_correct": max(grad_ok, default=None), "gradcheck_min_wrong": min(grad_bad, default=None),
            "speed_ratio_max_vectorised": max(ratio_fast, default=None),
            "speed_ratio_min_loop": min(ratio_loop, default=None)}


def cli_walls(dest: Path) -> dict[str, float]:
    """``w2v-grader grade`` as a user runs it (a new interpreter: imports and the isolation probe included)."""
    walls = {}
    for name in CLI_SAMPLES:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "grader", "grade", str(dest / name), "--json", str(dest / "cli.json")],
                       check=True, capture_output=True, cwd=REPO)
        walls[name] = round(time.monotonic() - started, 2)
        print(f"  CLI grade {name:24s} {walls[name]:6.2f} s", flush=True)
    return walls


def stability(dest: Path, repeats: int) -> dict:
    verdicts: dict[str, list[str]] = {FAST: [], SLOW: [], LOOP_OVER_K: []}
    stop = multiprocessing.Event()
    busy = multiprocessing.Process(target=burn, args=(stop,), daemon=True)
    busy.start()
    try:
        for i in range(repeats):
            for name in verdicts:
                expectation = next(e for e in load_corpus() if e.name == name)
                result = grade_submission(materialize(expectation, dest))
                speed = {t.function: (t.speed.verdict if t.speed else t.status.value)
                         for t in result.tests if t.check == "speed"}
                verdicts[name].append(json.dumps(speed, sort_keys=True))
            print(f"  round {i + 1}/{repeats} done", flush=True)
    finally:
        stop.set()
        busy.join(timeout=5)
    return {name: {"distinct_verdicts": len(set(v)), "verdict": v[0] if v else None} for name, v in verdicts.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--only-stability", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp)
        if not args.only_stability:
            print("grading the corpus (grade mode)…")
            rows = grade_corpus(dest)
            walls = [r["wall"] for r in rows]
            report["grade_wall_median_s"] = statistics.median(walls)
            report["grade_wall_max_s"] = max(walls)
            report["grade_wall_max_name"] = max(rows, key=lambda r: r["wall"])["name"]
            started = time.monotonic()
            grade_submission(dest / FAST, mode="check")
            report["check_wall_s"] = time.monotonic() - started
            report["grade_cli_wall_s"] = cli_walls(dest)
            report.update(separation(rows))
        print(f"speed-verdict stability: {', '.join((FAST, SLOW, LOOP_OVER_K))}, {args.repeats} times each, "
              "one core kept busy…")
        report["stability"] = stability(dest, args.repeats)
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    unstable = [n for n, v in report["stability"].items() if v["distinct_verdicts"] != 1]
    if unstable:
        print(f"UNSTABLE speed verdicts: {unstable}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
