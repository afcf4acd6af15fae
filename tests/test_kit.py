"""The student self-check kit: installable, no solution inside, and it agrees with the full grader.

The kit is built once (it runs the reference on the visible tests and calibrates the speed
estimate), installed with pip into a folder (no dependencies: this venv provides them) and
run as a student would run it, in a subprocess whose ``grader`` is the kit's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader import __version__
from grader.kit.build import build_kit
from grader.packaging import BuildError
from grader.pipeline import _plan, grade_submission
from grader.rubric import load_rubric

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("kit")
    info = build_kit(folder)
    zip_path = info["path"]
    target = folder / "installed"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                           str(zip_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return {"zip": zip_path, "info": info, "target": target}


def run_kit_check(kit: dict, submission: Path, tmp_path: Path) -> tuple[int, dict]:
    """``w2v-grader check`` from the installed kit; returns (exit code, {test id: (status, score)})."""
    script = ("import json, sys\n"
              # only the kit's own modules: not the test environment's editable install of the repository
              "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in repr(f)]\n"
              "from grader.expected import kit_store\nassert kit_store.manifest() is not None, 'not the kit'\n"
              "from grader.pipeline import grade_submission\n"
              "from grader.cli import main\n"
              "code = main(['check', sys.argv[1], '--html', sys.argv[2]])\n"
              "r = grade_submission(sys.argv[1], mode='check')\n"
              "print('RESULT' + json.dumps({t.test_id: [t.status.value, t.score, t.summary] for t in r.tests}))\n"
              "sys.exit(code)\n")
    env = {**os.environ, "PYTHONPATH": str(kit["target"]), "W2V_CACHE_DIR": str(tmp_path / "no-cache")}
    proc = subprocess.run([sys.executable, "-c", script, str(submission), str(tmp_path / "report.html")],
                          capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
    assert line is not None, proc.stdout + proc.stderr
    return proc.returncode, json.loads(line[len("RESULT"):])


def test_kit_contains_no_solution_and_only_visible_expected_values(kit: dict) -> None:
    names = set(zipfile.ZipFile(kit["zip"]).namelist())
    for forbidden in ("reference/word2vec.py", "reference/sgd.py", "reference/run.py", "reference/derivations.py"):
        assert forbidden not in names
    assert not any(n.startswith(("grader/written/", "grader/batch/", "submissions/", "tests/")) for n in names)
    assert "grader/commands/check.py" in names and "grader/commands/grade.py" not in names
    # No line of the reference's function bodies appears in any file of the kit.
    solution = (REPO / "reference" / "word2vec.py").read_text() + (REPO / "reference" / "sgd.py").read_text()
    distinctive = {ln.strip() for ln in solution.splitlines()
                   if re.search(r"np\.(logaddexp|add\.at|outer|where|exp)|@ v|-= 1\.0|step \* grad", ln)}
    assert len(distinctive) >= 6
    archive = zipfile.ZipFile(kit["zip"])
    for name in names:
        if name.endswith((".py", ".md", ".toml", ".j2")):
            text = archive.read(name).decode()
            leaked = [ln for ln in distinctive if ln in text]
            assert not leaked, f"{name} contains reference solution lines: {leaked}"
    # Expected values: exactly the calls of the visible non-speed tests.
    rubric = load_rubric()
    visible_calls: set[str] = set()
    hidden_calls: set[str] = set()
    for spec in rubric.tests:
        if spec.check == "speed":
            continue
        plan = _plan(spec, {}, rubric, b"kit-test")
        if not plan.needs_expected:  # gradient checks compare the student with themselves
            continue
        calls = {c["id"] for c in plan.calls}
        (visible_calls if spec.visibility == "visible" else hidden_calls).update(calls)
    ids = {json.loads(archive.read(n))["id"] for n in names
           if n.startswith("grader/kit_data/expected/") and n.endswith(".json")}
    assert ids == visible_calls
    assert hidden_calls and not ids & hidden_calls


def test_kit_is_a_wheel_pip_installs_without_building(kit: dict) -> None:
    wheel = kit["zip"]
    assert wheel.name == f"w2v_check_kit-{__version__}-py3-none-any.whl"
    archive = zipfile.ZipFile(wheel)
    info = f"w2v_check_kit-{__version__}.dist-info"
    # RECORD lists every other member with its sha256 (urlsafe base64, unpadded) and size.
    rows = [line.split(",") for line in archive.read(f"{info}/RECORD").decode().splitlines()]
    assert {row[0] for row in rows} == set(archive.namelist())
    for name, digest, size in rows:
        if name == f"{info}/RECORD":
            assert digest == size == ""
            continue
        data = archive.read(name)
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (digest, int(size)) == (f"sha256={expected}", len(data)), name
    metadata = archive.read(f"{info}/METADATA").decode()
    requires = [ln.split(":", 1)[1].strip() for ln in metadata.splitlines() if ln.startswith("Requires-Dist:")]
    assert [r.split(">")[0] for r in requires[:3]] == ["numpy", "jinja2", "nh3"]
    assert not any(r.startswith(("scipy", "matplotlib", "sympy")) for r in requires)
    assert "pip install " + wheel.name in metadata  # the README shown on the package page
    assert "w2v-grader = grader.cli:main" in archive.read(f"{info}/entry_points.txt").decode()
    # pip --target installed it: the files and the dist-info are there, no build happened.
    assert (kit["target"] / "grader" / "cli.py").is_file() and (kit["target"] / info / "RECORD").is_file()
    assert not (kit["target"] / "pyproject.toml").exists()


def test_kit_refuses_an_output_pip_could_not_install(tmp_path: Path) -> None:
    for out, words in ((tmp_path / "w2v-check-kit.zip", "not a .zip file"),
                       (tmp_path / "kit.whl", "pip only installs a wheel named")):
        with pytest.raises(BuildError, match=words):
            build_kit(out)
        assert not out.exists()


def test_kit_check_agrees_with_the_full_grader(kit: dict, corpus_dir: Path, tmp_path: Path) -> None:
    # (The reference passing every visible test is checked by build_kit itself.)
    for name, expect_exit in (("bug_sign_error", 1), ("slow_vocab_loop", 1)):
        code, kit_tests = run_kit_check(kit, corpus_dir / name, tmp_path)
        full = grade_submission(corpus_dir / name, mode="check")
        assert code == expect_exit, (name, kit_tests)
        for test in full.tests:
            status, score, summary = kit_tests[test.test_id]
            if test.check == "speed":  # an estimate in the kit: the verdict class must agree
                assert (score > 0) == (test.score > 0), (name, test.test_id, summary, test.summary)
                if status != "skipped":
                    assert "Estimated by the self-check kit" in summary
            else:  # values, gradient checks, stability: identical
                assert (status, score) == (test.status.value, test.score), (name, test.test_id, summary)
        if name == "bug_sign_error":
            assert "sign is flipped" in kit_tests["naiveSoftmaxLossAndGradient.correctness.starter"][2]
        if name == "slow_vocab_loop":
            assert kit_tests["naiveSoftmaxLossAndGradient.speed"][1] == 0
    assert np.isfinite(list(kit["info"]["speed_scale"].values())).all()
