"""Batch grading throughput, peak memory and the resume path, on the sample corpus.

    python benchmarks/batch_throughput.py [--corpus submissions] [--rubric FILE] [--configs 1,2]
                                          [--limit N] [--no-resume] [--keep DIR]

Builds a fake Gradescope export from every folder of the corpus (the
reference solution included), then for each configuration runs
``w2v-grader batch`` as a subprocess and reports submissions per minute,
wall time, and peak memory:

* ``largest process``: ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a
  wrapper process that ran only that batch (the biggest single process of
  the run: batch process, pool workers, sandboxes);
* ``tree (sampled)``: the largest sum of RSS over the batch's whole process
  tree, sampled every 0.1 s from /proc.

The resume check runs the batch with the largest ``-j``, SIGKILLs it once a
third of the results is on disk, resumes with ``--resume`` and compares the
outputs with the uninterrupted run of the same ``-j``: results.jsonl with
timing fields removed (wall times, worker ids, speed measurements),
grades.csv, and the list of files.

Configurations: ``N`` is ``-j N``; ``N:nolock`` adds ``--no-speed-lock``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WRAPPER = r"""
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": proc.returncode, "cpu_children_s": usage.ru_utime + usage.ru_stime,
                  "maxrss_children_kb": usage.ru_maxrss,
                  "maxrss_self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), file=sys.stderr)
"""


def build_export(corpus: Path, dest: Path, limit: int | None) -> int:
    """A Gradescope-style export of the corpus: submission_N folders + submission_metadata.yml.

    Every corpus folder with an ``expected.toml`` is one submission, copied as it is (nested
    folders, zips, notebooks included; expected.toml left out); ``reference`` gets the
    reference solution's files.
    """
    names = sorted(p.name for p in corpus.iterdir() if (p / "expected.toml").is_file())
    if limit and limit < len(names):  # evenly spaced, so every category (bug, correct, hostile...) is sampled
        names = [names[round(i * (len(names) - 1) / max(1, limit - 1))] for i in range(limit)]
    dest.mkdir(parents=True)
    lines = []
    for i, name in enumerate(names):
        folder = dest / f"submission_{100001 + i}"
        if "from_reference = true" in (corpus / name / "expected.toml").read_text(encoding="utf-8"):
            folder.mkdir()
            for file in ("word2vec.py", "sgd.py"):
                shutil.copy2(REPO / "reference" / file, folder / file)
        else:
            shutil.copytree(corpus / name, folder, ignore=shutil.ignore_patterns("expected.toml"))
        lines += [f"{folder.name}:", "  :submitters:", f"  - :name: {name}", f"    :sid: '{900000 + i}'",
                  f"    :email: {name}@example.edu", "  :created_at: 2024-01-20 10:00:00.000000000 -08:00"]
    (dest / "submission_metadata.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(names)


def _tree_rss_kb(root_pid: int, *, skip_root: bool = False) -> int:
    """Resident set sizes summed over ``root_pid`` and its descendants (shared pages once per process)."""
    return _tree_memory_kb(root_pid, skip_root=skip_root)[0]


def _tree_memory_kb(root_pid: int, *, pss: bool = False, skip_root: bool = False) -> tuple[int, int]:
    """(RSS sum, PSS sum) in KiB over ``root_pid``'s tree; PSS (proportional set size, from
    /proc/PID/smaps_rollup) shares each page among the processes mapping it, so its sum counts a
    page once: numpy's libraries, mapped by every worker, are not counted once per worker.
    PSS is only read when ``pss`` (it costs a page-table walk per process); else it is 0.
    ``skip_root``: leave the root out (the benchmark's own rusage wrapper, not the measured command)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * page_kb
        except (OSError, ValueError, IndexError):
            continue
    total, shared, stack, seen = 0, 0, [root_pid], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        stack.extend(children.get(pid, []))
        if skip_root and pid == root_pid:
            continue
        total += rss.get(pid, 0)
        if pss:
            shared += _pss_kb(pid)
    return total, shared


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def run_batch(export: Path, out: Path, jobs: int, rubric: str | None, extra: list[str],
              kill_after_lines: int | None = None) -> dict:
    cmd = [sys.executable, "-m", "grader", "batch", str(export), "--out", str(out), "-j", str(jobs), "--quiet",
           *extra]
    if rubric:
        cmd += ["--rubric", rubric]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if kill_after_lines is None:
        cmd = [sys.executable, "-c", WRAPPER, *cmd]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid, skip_root=kill_after_lines is None))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    killed_at = None
    if kill_after_lines is not None:
        jsonl = out / "results.jsonl"
        while proc.poll() is None:
            if jsonl.exists() and jsonl.read_bytes().count(b"\n") >= kill_after_lines:
                proc.send_signal(signal.SIGKILL)
                killed_at = jsonl.read_bytes().count(b"\n")
                break
            time.sleep(0.05)
    stdout, stderr = proc.communicate()
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    info = {"rc": proc.returncode, "wall": wall, "tree_peak_kb": peak[0], "stdout": stdout, "killed_at": killed_at}
    if kill_after_lines is None:
        last = [line for line in stderr.splitlines() if line.startswith("{")]
        info.update(json.loads(last[-1]) if last else {})
        info["stderr"] = "\n".join(line for line in stderr.splitlines() if not line.startswith("{"))
    return info


TIMING = ("worker", "started_at", "finished_at", "duration")
RUN_DIR = re.compile(r"/tmp/w2v-run-[A-Za-z0-9_]+/")  # the engine's per-run sandbox folder, in warnings


def _untemp(value):
    if isinstance(value, str):
        return RUN_DIR.sub("<run>/", value)
    if isinstance(value, dict):
        return {k: _untemp(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untemp(v) for v in value]
    return value


def normalized_records(out: Path) -> list[dict]:
    records = []
    for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines():
        record = {k: v for k, v in json.loads(line).items() if k not in TIMING}
        result = record.get("result") or {}
        result.pop("execution_time", None)
        for i, test in enumerate(result.get("tests", [])):
            if test.get("check") == "speed":
                speed = test.get("speed") or {}
                result["tests"][i] = {"test_id": test["test_id"], "score": test["score"], "status": test["status"],
                                      "verdict": speed.get("verdict"), "loops": speed.get("loops_over_vocabulary")}
        records.append(_untemp(record))
    return records


def speed_verdicts(out: Path) -> dict[str, list]:
    """Per submission: (test id, verdict or status) of every speed test."""
    verdicts = {}
    for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        tests = (record.get("result") or {}).get("tests", [])
        verdicts[record["key"]] = [(t["test_id"].split(".")[0], (t.get("speed") or {}).get("verdict") or t["status"])
                                   for t in tests if t.get("check") == "speed"]
    return verdicts


def listing(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if not p.name.startswith("."))


def _first_difference(x, y, path=""):
    if type(x) is not type(y):
        return path or "."
    if isinstance(x, dict):
        for key in sorted(set(x) | set(y)):
            found = _first_difference(x.get(key), y.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(x, list):
        if len(x) != len(y):
            return f"{path} (length)"
        for i, (p, q) in enumerate(zip(x, y)):
            found = _first_difference(p, q, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if x == y else path


def compare(a: Path, b: Path) -> list[str]:
    problems = []
    ra, rb = normalized_records(a), normalized_records(b)
    if [r["key"] for r in ra] != [r["key"] for r in rb]:
        problems.append("different submissions in results.jsonl")
    for x, y in zip(ra, rb):
        if x != y:
            scores_equal = [(t["test_id"], t["score"], t["status"]) for t in (x.get("result") or {}).get("tests", [])] \
                == [(t["test_id"], t["score"], t["status"]) for t in (y.get("result") or {}).get("tests", [])]
            problems.append(f"{x['key']}: first difference at {_first_difference(x, y)}"
                            + (" (same scores and statuses)" if scores_equal else " (SCORES DIFFER)"))
    if (a / "grades.csv").read_text() != (b / "grades.csv").read_text():
        problems.append("grades.csv differs")
    if listing(a) != listing(b):
        problems.append("different output files")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "submissions")
    parser.add_argument("--rubric", default=None, help="rubric TOML (default: the bundled one)")
    parser.add_argument("--configs", default="1,2", help="comma-separated: N (-j N) or N:nolock")
    parser.add_argument("--limit", type=int, default=None, help="only N submissions, evenly spaced in name order")
    parser.add_argument("--no-resume", action="store_true", help="skip the SIGKILL/resume comparison")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("DIR_A", "DIR_B"),
                        help="only compare two batch output folders and exit")
    parser.add_argument("--keep", type=Path, default=None, help="keep outputs in this folder")
    args = parser.parse_args()
    if args.compare:
        problems = compare(*args.compare)
        print("identical apart from timing fields" if not problems else "\n".join(problems))
        return 0 if not problems else 1

    work = Path(tempfile.mkdtemp(prefix="w2v-batch-bench-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    export = work / "export"
    if export.exists():
        shutil.rmtree(export)
    n = build_export(args.corpus, export, args.limit)
    print(f"corpus: {n} submissions from {args.corpus}; cores: {os.cpu_count()}; rubric: {args.rubric or 'default'}")
    rows = []
    outs = {}
    load_before = f"{os.getloadavg()[0]:.2f}"
    for config in args.configs.split(","):
        jobs, _, flag = config.partition(":")
        extra = ["--no-speed-lock"] if flag == "nolock" else []
        out = work / f"out-j{jobs}{'-' + flag if flag else ''}"
        shutil.rmtree(out, ignore_errors=True)
        info = run_batch(export, out, int(jobs), args.rubric, extra)
        outs[config] = out
        if info["rc"] not in (0, 1):
            print(info["stdout"], info.get("stderr", ""), file=sys.stderr)
        rows.append((config, info))
        print(f"  -j {config}: rc={info['rc']} wall={info['wall']:.1f}s", flush=True)

    print()
    print(f"load average before/after: {load_before} / {os.getloadavg()[0]:.2f} (other work on the machine counts)")
    print(f"{'config':<12}{'wall s':>9}{'subs/min':>10}{'CPU s':>9}{'cores used':>12}{'largest proc MB':>17}"
          f"{'tree peak MB':>14}")
    for config, info in rows:
        cpu = info.get("cpu_children_s", 0.0)
        print(f"{'-j ' + config:<12}{info['wall']:>9.1f}{n / info['wall'] * 60:>10.2f}{cpu:>9.0f}"
              f"{cpu / info['wall']:>12.2f}{info.get('maxrss_children_kb', 0) / 1024:>17.0f}"
              f"{info['tree_peak_kb'] / 1024:>14.0f}")
    for config, info in rows:
        summary = [line for line in info["stdout"].splitlines() if line.strip()]
        print(f"\n-j {config} summary:\n  " + "\n  ".join(summary[-4:]))

    base = next((c for c, _ in rows if c == "1"), None)
    if base is not None:
        print("\nspeed verdicts compared with -j 1 (each submission graded with nothing else of the batch running):")
        reference = speed_verdicts(outs[base])
        for config, _ in rows:
            if config == base:
                continue
            other = speed_verdicts(outs[config])
            differing = sorted(k for k in reference if other.get(k) != reference[k])
            print(f"  -j {config}: {len(reference) - len(differing)}/{len(reference)} submissions with identical "
                  "speed verdicts" + (": differ: " + ", ".join(differing) if differing else ""))
            for key in differing:
                print(f"      {key}: -j 1 {reference[key]}  vs  -j {config} {other.get(key)}")

    if not args.no_resume:
        config, _ = max(((c, i) for c, i in rows if ":" not in c), key=lambda ci: int(ci[0]))
        out = work / f"out-j{config}-killed"
        shutil.rmtree(out, ignore_errors=True)
        killed = run_batch(export, out, int(config), args.rubric, [], kill_after_lines=max(1, n // 3))
        resumed = run_batch(export, out, int(config), args.rubric, ["--resume"])
        problems = compare(outs[config], out)
        reused = next((line for line in resumed["stdout"].splitlines() if "reused" in line), "").strip()
        print(f"\nresume path (-j {config}): SIGKILL after {killed['killed_at']} result line(s) "
              f"({killed['wall']:.1f}s); resume rc={resumed['rc']} in {resumed['wall']:.1f}s; {reused}")
        print("  grades.csv identical: " + ("NO" if "grades.csv differs" in problems else "YES")
              + "; file list identical: " + ("NO" if "different output files" in problems else "YES"))
        print("  results.jsonl identical apart from timing fields and sandbox temp paths: "
              + ("YES" if not problems else "NO\n    " + "\n    ".join(problems)))
    print(f"\noutputs in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
