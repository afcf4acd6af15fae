"""The `grade` and `check` commands end to end (real sandbox, real files)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.gradescope.results_json import validate_results

REPO = Path(__file__).resolve().parents[1]
REPORT_RUBRIC = REPO / "tests" / "report_fixtures" / "rubric_report.toml"


@pytest.fixture(scope="module")
def fast_rubric(tmp_path_factory) -> Path:
    """The report tests' small rubric without its speed test: exit codes here must not hinge on timing noise
    (speed verdicts are covered by the corpus with the default rubric and by benchmarks/grading_benchmark.py)."""
    blocks = REPORT_RUBRIC.read_text().split("[[tests]]")
    kept = [blocks[0]] + [b for b in blocks[1:] if ".speed\"" not in b]
    path = tmp_path_factory.mktemp("rubric") / "cli.toml"
    path.write_text("[[tests]]".join(kept))
    return path


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture()
def reference_submission(tmp_path) -> Path:
    folder = tmp_path / "sub"
    folder.mkdir()
    for name in ("word2vec.py", "sgd.py"):
        shutil.copyfile(REPO / "reference" / name, folder / name)
    return folder


def test_help_lists_every_command():
    out = run_cli("--help").stdout
    for command in ("grade", "check", "batch", "build-autograder", "run-autograder", "verify-reference",
                    "written", "warm-cache"):
        assert command in out


def test_grade_writes_valid_results_json_and_report(reference_submission, tmp_path, fast_rubric):
    out_json, out_html = tmp_path / "results.json", tmp_path / "report.html"
    proc = run_cli("grade", str(reference_submission), "--json", str(out_json), "--html", str(out_html),
                   "--rubric", str(fast_rubric))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out_json.read_text())
    validate_results(data)
    assert data["score"] == pytest.approx(sum(t["max_score"] for t in data["tests"]))
    assert all({"function:" in " ".join(t["tags"]), "check:" in " ".join(t["tags"])} == {True} for t in data["tests"])
    assert "<html" in out_html.read_text().lower()
    assert "sigmoid" in proc.stdout and "Total:" in proc.stdout


def test_grade_low_score_still_exits_zero(tmp_path, fast_rubric):
    (tmp_path / "word2vec.py").write_text("def sigmoid(x):\n    return 0\n", encoding="utf-8")
    (tmp_path / "sgd.py").write_text("def sgd(f, x0, step, iterations, postprocessing=None, useSaved=False,\n"
                                     "        PRINT_EVERY=10):\n    return x0\n", encoding="utf-8")
    out_json = tmp_path / "r.json"
    proc = run_cli("grade", str(tmp_path), "--json", str(out_json), "--rubric", str(fast_rubric))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out_json.read_text())
    validate_results(data)
    assert data["score"] == 0


def test_grade_usage_errors_exit_nonzero_and_still_write_json(tmp_path):
    out_json = tmp_path / "r.json"
    proc = run_cli("grade", str(tmp_path / "missing"), "--json", str(out_json))
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    validate_results(json.loads(out_json.read_text()))
    bad_rubric = tmp_path / "bad.toml"
    bad_rubric.write_text("name = 1", encoding="utf-8")
    proc = run_cli("grade", str(tmp_path), "--rubric", str(bad_rubric))
    assert proc.returncode == 2 and "'name' must be a non-empty string" in proc.stderr


def test_check_passes_on_the_reference_and_fails_on_a_bug(reference_submission, tmp_path, fast_rubric):
    proc = run_cli("check", "--rubric", str(fast_rubric), cwd=reference_submission)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (reference_submission / "w2v-report.html").exists()
    assert "[PASS] sigmoid" in proc.stdout
    # the report tells hidden points apart; the self-check never claims them
    buggy = tmp_path / "buggy"
    shutil.copytree(reference_submission, buggy)
    source = (buggy / "sgd.py").read_text()
    (buggy / "sgd.py").write_text(source.replace("x -= step * grad", "x += step * grad"))
    assert "x += step * grad" in (buggy / "sgd.py").read_text()
    proc = run_cli("check", str(buggy), "--rubric", str(fast_rubric))
    assert proc.returncode == 1
    assert "sgd" in proc.stdout and ("FAIL" in proc.stdout or "PART" in proc.stdout)
    assert "expected" in proc.stdout
