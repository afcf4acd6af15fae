"""The exit codes of ``grade``, ``check`` and a batch's rows for the bundled bad submissions, side by side.

    .venv/bin/python benchmarks/exit_codes.py [--out DIR]

Samples: a zip holding only a notebook (made here), ``nested_zip``, ``syntax_error``,
``missing_sgd``, ``non_utf8_source``. ``grade`` and ``check`` are run as commands; the batch grades
a folder of copies and its ``grades.csv`` has one ``exit`` per row.  One scheme for all three
(README, "Exit codes").
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = ("notebook_only_zip", "nested_zip", "syntax_error", "missing_sgd", "non_utf8_source")


def prepare(root: Path) -> dict[str, Path]:
    """Each sample as a batch input entry (a folder, or a zip of its own)."""
    paths = {}
    for name in SAMPLES:
        if name == "notebook_only_zip":
            path = root / f"{name}.zip"
            with zipfile.ZipFile(path, "w") as archive:
                archive.write(next((REPO / "submissions" / "notebook_instead").glob("*.ipynb")), "word2vec.ipynb")
        else:
            path = root / name
            shutil.copytree(REPO / "submissions" / name, path, ignore=shutil.ignore_patterns("expected.toml"))
        paths[name] = path
    return paths


def cli(*args: str) -> int:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=900).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the batch output here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = root / "class"
        inputs.mkdir()
        paths = prepare(inputs)
        out = args.out or root / "grades"
        rows = {}
        graded = {name: cli("grade", str(path), "--quiet") for name, path in paths.items()}
        checked = {name: cli("check", str(path), "--html", str(root / f"{name}.html")) for name, path in paths.items()}
        cli("batch", str(inputs), "--out", str(out), "-j", "2", "--quiet")
        with open(out / "grades.csv", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                key = Path(row["submission"]).name.removesuffix(".zip")
                rows[key] = row["exit"]
        print(f"{'sample':<20} {'grade':>5} {'check':>5} {'batch row':>9}")
        for name in SAMPLES:
            print(f"{name:<20} {graded[name]:>5} {checked[name]:>5} {rows.get(name, '?'):>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
