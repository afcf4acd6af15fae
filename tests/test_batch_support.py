"""Helpers shared by the batch tests (no tests here): fake class exports built from submissions/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
SUBMISSIONS = REPO / "submissions"
REFERENCE = REPO / "reference"
if str(REPO) not in sys.path:  # when pytest is run without the repo on sys.path (not installed)
    sys.path.insert(0, str(REPO))

# Small rubric for tests: a few correctness tests plus the speed tests (cheap settings).
SMALL_RUBRIC = """
name = "batch-test"

[speed]
blocks = 2
block_cpu = 0.008
vocab_size = 20000
sigmoid_size = 200000

[limits]
budget_seconds = 120

[[tests]]
id = "sigmoid.correctness"
number = "1.1"
points = 1.0

[[tests]]
id = "naiveSoftmaxLossAndGradient.correctness.starter"
number = "2.1"
points = 1.0

[[tests]]
id = "naiveSoftmaxLossAndGradient.speed"
number = "2.2"
points = 1.0

[[tests]]
id = "sgd.correctness.trajectory"
number = "3.1"
points = 1.0
"""

NO_SPEED_RUBRIC = """
name = "batch-test-nospeed"

[[tests]]
id = "sigmoid.correctness"
number = "1.1"
points = 1.0

[[tests]]
id = "naiveSoftmaxLossAndGradient.correctness.starter"
number = "2.1"
points = 1.0

[[tests]]
id = "sgd.correctness.trajectory"
number = "3.1"
points = 1.0
"""

HANG_RUBRIC = NO_SPEED_RUBRIC.replace('name = "batch-test-nospeed"', 'name = "batch-test-hang"') + """
[[tests]]
id = "skipgram.correctness.starter"
number = "4.1"
points = 1.0
"""

STUDENTS = [
    # (submission source, name, sid, email)
    ("reference", "Ada Lovelace", "1000001", "ada@example.edu"),
    ("bug_sign_error", "Alan Turing", "1000002", "alan@example.edu"),
    ("slow_vocab_loop", "José Núñez-O'Brien", "1000003", "jose@example.edu"),
    ("starter_untouched", "=HYPERLINK(\"http://evil\")", "1000004", "eve@example.edu"),
]


def copy_submission(name: str, dest: Path) -> Path:
    """Copy submissions/<name> (without expected.toml) to ``dest``; 'reference' uses reference/."""
    if name == "reference":
        dest.mkdir(parents=True, exist_ok=True)
        for file in ("word2vec.py", "sgd.py"):
            shutil.copy2(REFERENCE / file, dest / file)
        return dest
    shutil.copytree(SUBMISSIONS / name, dest, ignore=shutil.ignore_patterns("expected.toml"), dirs_exist_ok=True)
    return dest


def have_submissions(*names: str) -> bool:
    return all(n == "reference" or (SUBMISSIONS / n / "word2vec.py").exists() for n in names)


def metadata_yaml(entries: list[tuple[str, str, str, str]], colons: bool = True) -> str:
    c = ":" if colons else ""
    lines = []
    for folder, name, sid, email in entries:
        lines += [
            f"{folder}:",
            f"  {c}submitters:",
            f"  - {c}name: {yaml_str(name)}",
            f"    {c}sid: '{sid}'",
            f"    {c}email: {email}",
            f"  {c}created_at: 2024-01-2{len(lines) % 9} 10:00:00.000000000 -08:00",
            f"  {c}score: 0.0",
        ]
    return "\n".join(lines) + "\n"


def yaml_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def make_gradescope_export(root: Path, students: Optional[list[tuple[str, str, str, str]]] = None,
                           colons: bool = True, wrapper: str = "assignment_1234_export") -> Path:
    """A fake Gradescope 'Export Submissions' folder (with a wrapper folder, as in the real zip)."""
    students = students or STUDENTS
    export = root / wrapper
    export.mkdir(parents=True)
    entries = []
    for i, (source, name, sid, email) in enumerate(students):
        folder = f"submission_{2000001 + i}"
        copy_submission(source, export / folder)
        entries.append((folder, name, sid, email))
    (export / "submission_metadata.yml").write_text(metadata_yaml(entries, colons), encoding="utf-8")
    return export


def zip_folder(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, (Path(prefix) / path.relative_to(folder)).as_posix())
    return archive


def write_rubric(tmp: Path, text: str = SMALL_RUBRIC, name: str = "rubric.toml") -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_cli(*args: Any, timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout, **kwargs)


TIMING_KEYS = {"execution_time", "started_at", "finished_at", "duration", "worker", "student_seconds",
               "reference_seconds", "ratio", "growth_student", "growth_reference", "samples", "explanation"}


def strip_timing(value: Any) -> Any:
    """Drop timing fields (and speed measurement numbers) recursively, for run-to-run comparisons."""
    if isinstance(value, dict):
        return {k: strip_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [strip_timing(v) for v in value]
    return value
