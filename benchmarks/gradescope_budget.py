"""Gradescope budget: the installed autograder on samples, confined like a Gradescope container.

    python benchmarks/gradescope_budget.py [--cpus 0.5] [--memory-mb 768] [SAMPLE ...]

Builds the autograder zip with the default rubric, installs it with ``setup.sh --python-only``
into a fresh virtualenv (pinned packages linked from this environment when their versions
match, as the test suite does), then runs ``run_autograder`` against a simulated
``/autograder`` tree for each sample, inside cgroup-v1 ``cpu`` (CFS quota), ``cpuacct`` and
``memory`` groups. The first run starts with an empty expected-value cache, the later ones
reuse it (``setup.sh`` warms it in a real image). Prints wall time, CPU time (cpuacct, whole
tree), peak memory (``memory.max_usage_in_bytes``, page cache included) and peak anonymous
memory (``total_rss`` sampled every 50 ms), OOM-kill count and the score.
Needs root and a writable cgroup-v1 hierarchy (exits 2 otherwise). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from test_gradescope_autograder import _simulated_root, install_autograder  # noqa: E402 - the suite's installer

from grader.corpus import load_corpus, materialize  # noqa: E402

CGROUP = Path("/sys/fs/cgroup")
DEFAULT_SAMPLES = ("correct_einsum", "correct_einsum", "slow_vocab_loop", "hangs_forever", "hostile_fork_bomb",
                   "hostile_memory")


def simulated_root(installed: dict, name: str, index: int) -> Path:
    """The suite's simulated /autograder tree, with sample ``name`` as the submission."""
    root = _simulated_root(installed, f"root-{index}-{name}")
    expectation = next(e for e in load_corpus() if e.name == name)
    shutil.copytree(materialize(expectation, installed["base"] / f"corpus-{index}"), root / "submission")
    return root


def make_groups(name: str, cpus: float, memory_mb: int) -> dict[str, Path]:
    groups = {kind: CGROUP / kind / name for kind in ("cpu", "cpuacct", "memory")}
    for path in groups.values():
        path.mkdir()
    (groups["cpu"] / "cpu.cfs_period_us").write_text("100000")
    (groups["cpu"] / "cpu.cfs_quota_us").write_text(str(int(cpus * 100000)))
    (groups["memory"] / "memory.limit_in_bytes").write_text(str(memory_mb * 2**20))
    return groups


def run_confined(root: Path, venv: Path, groups: dict[str, Path]) -> dict:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "W2V_AUTOGRADER_ROOT": str(root), "W2V_VENV": str(venv),
           "W2V_CACHE_DIR": str(root.parent / "cache"), "HOME": str(root.parent), "LANG": "C.UTF-8"}
    join = " ".join(f"echo $$ > {g / 'cgroup.procs'};" for g in groups.values())
    peak_rss = [0]
    done = threading.Event()

    def sample_rss() -> None:  # anonymous memory only (max_usage also counts reclaimable page cache)
        while not done.wait(0.05):
            for line in (groups["memory"] / "memory.stat").read_text().splitlines():
                if line.startswith("total_rss "):
                    peak_rss[0] = max(peak_rss[0], int(line.split()[1]))

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    started = time.monotonic()
    proc = subprocess.run(["sh", "-c", f"{join} exec {root / 'run_autograder'}"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - started
    done.set()
    sampler.join()
    data = json.loads((root / "results" / "results.json").read_text())
    oom = [line for line in (groups["memory"] / "memory.oom_control").read_text().splitlines()
           if line.startswith("oom_kill ")]
    return {"wall_s": round(wall, 1), "rc": proc.returncode,
            "cpu_s": round(int((groups["cpuacct"] / "cpuacct.usage").read_text()) / 1e9, 1),
            "peak_mib": round(int((groups["memory"] / "memory.max_usage_in_bytes").read_text()) / 2**20),
            "peak_rss_mib": round(peak_rss[0] / 2**20),
            "oom_kills": int(oom[0].split()[1]) if oom else None,
            "score": data.get("score"), "max": sum(t.get("max_score", 0) for t in data.get("tests", []))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", nargs="*", default=list(DEFAULT_SAMPLES))
    parser.add_argument("--cpus", type=float, default=0.5)
    parser.add_argument("--memory-mb", type=int, default=768)
    args = parser.parse_args()
    if os.geteuid() != 0 or not (CGROUP / "cpu" / "cpu.cfs_quota_us").exists():
        print("needs root and a cgroup-v1 cpu/cpuacct/memory hierarchy", file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="w2v-gs-bench-", dir="/var/tmp"))
    base.chmod(0o755)
    created: list[Path] = []
    try:
        installed = install_autograder(base)
        print(f"{'sample':22s} {'cache':6s} {'wall s':>7s} {'CPU s':>6s} {'peak MiB':>8s} {'RSS MiB':>7s} {'OOM':>4s}"
              "  score")
        for index, name in enumerate(args.samples):
            groups = make_groups(f"w2v-gs-bench-{os.getpid()}-{index}", args.cpus, args.memory_mb)
            created += groups.values()
            row = run_confined(simulated_root(installed, name, index), installed["venv"], groups)
            print(f"{name:22s} {'empty' if index == 0 else 'warm':6s} {row['wall_s']:7.1f} {row['cpu_s']:6.1f} "
                  f"{row['peak_mib']:8d} {row['peak_rss_mib']:7d} {row['oom_kills']!s:>4s}  {row['score']:g} / {row['max']:g}"
                  f"{'' if row['rc'] == 0 else '  rc=' + str(row['rc'])}", flush=True)
    finally:
        for path in created:
            try:
                path.rmdir()
            except OSError:
                pass
        shutil.rmtree(base, ignore_errors=True)
    print(f"(confined to {args.cpus:g} CPU and {args.memory_mb} MiB; load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
