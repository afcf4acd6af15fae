"""The Docker image's steps without Docker: build the zip, install it with its own setup.sh into a
fresh virtualenv, then run its run_autograder against a simulated /autograder tree.

* ``build-autograder`` with a test rubric (smaller speed sizes, leaderboard on);
* the zip is extracted as ``ROOT/source`` and ``setup.sh --python-only`` runs from there with
  ``W2V_VENV`` pointing at a fresh virtualenv (the system and user steps need apt and a Docker
  build; the user step is what grader/sandbox/uid_pool.py also does on first use).  To keep this fast,
  distributions of the test environment whose version equals the pin are linked into the new
  venv (a .pth file) instead of being unpacked again; everything else, the grader and the
  reference above all, is really installed by pip from the zip's contents.  Set
  ``W2V_TEST_FULL_INSTALL=1`` to install every pinned package from the index instead;
* ``ROOT/run_autograder`` (copied from the zip, as the image build does) grades a correct sample
  and a hostile one as root, with student code run by the engine as the sandbox user, and once
  more entirely as ``nobody`` where that user can reach the interpreter and the venv;
* every results.json is validated against the schema.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader.gradescope.results_json import validate_results

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "submissions"
CORRECT_SAMPLE = SAMPLES / "correct_einsum"
LEAK_MARK = "HOSTILE-LEAK"
CONTROL_MARK = "HOSTILE-CONTROL-READ-OK"

pytestmark = pytest.mark.skipif(not (REPO / "grader" / "pipeline.py").exists(),
                                reason="the grading engine (grader/pipeline.py) is not in this checkout yet")


def _test_rubric() -> str:
    """The default rubric with small speed sizes (fast on 2 cores), a shorter budget and the leaderboard on."""
    text = (REPO / "grader" / "rubric_default.toml").read_text()
    changes = {"blocks": "2", "block_cpu": "0.008", "vocab_size": "4000", "sigmoid_size": "40000",
               "budget_seconds": "200"}
    for key, value in changes.items():
        text, count = re.subn(rf"^{key}\s*=\s*[^\n#]+", f"{key} = {value}  ", text, count=1, flags=re.M)
        assert count == 1, key
    return "leaderboard = true\n" + text.replace('name = "cs224n-a2-word2vec"', 'name = "gradescope-test"', 1)


def _without_speed_tests(rubric: str) -> str:
    """The rubric minus its speed tests (for the runs that do not need timings: much faster)."""
    head, *blocks = rubric.split("\n[[tests]]")
    kept = [b for b in blocks if not re.search(r'^id = "[^"]*\.speed"', b, flags=re.M)]
    assert len(kept) < len(blocks)
    return head + "".join("\n[[tests]]" + b for b in kept)


def _base_python() -> str:
    """A Python 3.11 outside /root if possible (like Gradescope's apt python3.11), so 'nobody' can run it."""
    for candidate in ("/usr/bin/python3.11", getattr(sys, "_base_executable", ""), sys.executable):
        if candidate and os.path.exists(candidate):
            proc = subprocess.run([candidate, "-c", "import ensurepip, venv, sys; print(sys.version_info[:2])"],
                                  capture_output=True, text=True)
            if proc.returncode == 0 and proc.stdout.strip() == "(3, 11)":
                return candidate
    pytest.fail("no Python 3.11 with venv/ensurepip available to create the autograder virtualenv")


def _pins(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name] = version
    return pins


def _link_pinned_distributions(pins: dict[str, str], into: Path) -> list[str]:
    """Symlink the installed distributions whose version equals the pin into ``into``; their names."""
    into.mkdir()
    linked = []
    for name, version in pins.items():
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if dist.version != version or dist.files is None:
            continue
        base = Path(dist.locate_file(""))
        if name != "pip" and base.resolve().is_relative_to("/tmp"):
            continue  # sandboxed workers get a fresh /tmp: links into it break there; setup.sh installs it
        tops = {Path(f).parts[0] for f in dist.files if not str(f).startswith("..")}
        for top in sorted(tops):
            source = base / top
            if source.exists() and not (into / top).exists() and not top.endswith(".pth") and top != "__pycache__":
                (into / top).symlink_to(source)
        linked.append(name)
    return linked


def _make_world_accessible(path: Path) -> None:
    for parent in [path, *path.parents]:
        mode = stat.S_IMODE(parent.stat().st_mode)
        if parent == path:
            parent.chmod(mode | 0o755)
        elif not mode & 0o001:
            return


def install_autograder(base: Path, rubric: Path | None = None) -> dict:
    """Build the zip (with ``rubric``, default: the bundled one), extract it in ``base`` and install it
    with setup.sh into a fresh venv. Also used by ``benchmarks/gradescope_budget.py``."""
    zip_path = base / "autograder.zip"
    argv = [sys.executable, "-m", "grader", "build-autograder", "--out", str(zip_path)]
    proc = subprocess.run(argv + (["--rubric", str(rubric)] if rubric else []), cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    source = base / "source"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(source)
        for info in archive.infolist():  # zipfile does not restore modes; Gradescope's unzip does
            (source / info.filename).chmod((info.external_attr >> 16) & 0o777)

    venv = base / "venv"
    python = _base_python()
    env = dict(os.environ, W2V_VENV=str(venv), W2V_PYTHON=python, PIP_DISABLE_PIP_VERSION_CHECK="1")
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(key, None)
    linked: list[str] = []
    if os.environ.get("W2V_TEST_FULL_INSTALL") != "1":
        # setup.sh reuses an existing venv; this one gets pip from the test environment too
        # (ensurepip alone takes ~10 s here).
        subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        site = next((venv / "lib").glob("python3.*/site-packages"))
        pins = _pins(source / "requirements.txt")
        pins["pip"] = importlib.metadata.version("pip")
        linked = _link_pinned_distributions(pins, base / "reused-site")
        (site / "zz_reused_test_environment.pth").write_text(str(base / "reused-site") + "\n")
    proc = subprocess.run(["bash", str(source / "setup.sh"), "--python-only"], cwd=source, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "setup.sh: done" in proc.stdout
    for path in (venv, base / "reused-site"):
        if path.exists():
            _make_world_accessible(path)
    return {"base": base, "source": source, "venv": venv, "rubric": rubric, "linked": linked,
            "setup_log": proc.stdout}


@pytest.fixture(scope="module")
def install(tmp_path_factory) -> dict:
    """Zip built, extracted and installed with setup.sh into a fresh venv (under /var/tmp when root)."""
    base = Path(tempfile.mkdtemp(prefix="w2v-gradescope-test-", dir="/var/tmp" if os.geteuid() == 0 else None))
    base.chmod(0o755)
    try:
        rubric = base / "test_rubric.toml"
        rubric.write_text(_test_rubric())
        yield install_autograder(base, rubric)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_setup_installs_the_grader_from_the_zip(install: dict) -> None:
    venv = install["venv"]
    code = ("import grader, reference, grader.gradescope.results_json, grader.pipeline, json, sys; "
            "print(json.dumps([grader.__file__, reference.__file__, grader.__version__, sys.prefix]))")
    proc = subprocess.run([str(venv / "bin" / "python"), "-P", "-c", code], capture_output=True, text=True,
                          cwd="/", env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    grader_file, reference_file, version, prefix = json.loads(proc.stdout)
    site = next((venv / "lib").glob("python3.*/site-packages")).resolve()
    assert Path(grader_file).resolve().is_relative_to(site), grader_file  # installed, not the checkout
    assert Path(reference_file).resolve().is_relative_to(site), reference_file
    assert (Path(grader_file).parent / "schemas" / "results.schema.json").is_file()
    installed = (Path(grader_file).parent / "rubric_default.toml").read_bytes()
    assert installed == install["rubric"].read_bytes()  # the --rubric given to build-autograder
    assert not (Path(reference_file).parent / "derivations.py").exists()
    for package in ("grader", "reference"):  # every file of the zip was installed (templates, scripts...)
        shipped = {p.relative_to(install["source"]).as_posix() for p in (install["source"] / package).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts}
        installed = {p.relative_to(site).as_posix() for p in (site / package).rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts}
        assert shipped == installed, (sorted(shipped - installed), sorted(installed - shipped))
    check = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert (venv / "bin" / "w2v-grader").exists()


def _hostile_submission(folder: Path, root: Path, venv: Path, control: Path, cache: Path) -> None:
    """The correct sample plus import-time code that tries to read secrets and write results.

    Positive control: the attack reads its own sibling ``sgd.py`` (a file the sandbox does show): that
    proves it really ran with ordinary file access (sigmoid then raises CONTROL_MARK, which its visible
    test shows).  ``control`` (a world-readable file outside the run) must NOT be readable: the mount
    namespace shows nothing outside the system folders and the run's own.
    """
    folder.mkdir(parents=True)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    reads = [site / "reference" / "word2vec.py", root / "source" / "reference" / "word2vec.py",
             root / "source" / "rubric.toml", root / "submission_metadata.json", root / "results",
             cache, cache / "expected"]
    writes = [root / "results" / "pwned.txt", root / "source" / "pwned.txt", cache / "pwned.txt"]
    attack = f'''
import json as _json, os as _os

def _attack():
    got = []
    for path in {[str(p) for p in reads]!r}:
        try:
            if _os.path.isdir(path):
                _os.listdir(path)
            else:
                with open(path) as handle:
                    handle.read(20)
            got.append("read " + path)
        except Exception:
            pass
    for path in {[str(p) for p in writes]!r}:
        try:
            with open(path, "w") as handle:
                handle.write("pwned")
            got.append("wrote " + path)
        except Exception:
            pass
    try:
        with open({str(root / "results" / "results.json")!r}, "w") as handle:
            _json.dump({{"score": 1000, "tests": []}}, handle)
        got.append("wrote results.json")
    except Exception:
        pass
    return got

_LEAKED = _attack()
try:
    with open(_os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "sgd.py")) as _handle:
        _CONTROL = {CONTROL_MARK!r} if "def sgd" in _handle.read() else ""
except Exception:
    _CONTROL = ""
try:
    with open({str(control)!r}) as _handle:
        _LEAKED.append("read a file outside the sandbox: " + _handle.read(40))
except Exception:
    pass
'''
    source = (CORRECT_SAMPLE / "word2vec.py").read_text()
    source = source.replace("\ndef sigmoid(x):", attack + "\ndef sigmoid(x):\n"
                            f"    if _LEAKED:\n        raise RuntimeError({LEAK_MARK!r} + repr(_LEAKED))\n"
                            "    if _CONTROL:\n        raise RuntimeError(_CONTROL)\n"
                            "    return _sigmoid_impl(x)\n\n\ndef _sigmoid_impl(x):", 1)
    assert attack in source
    (folder / "word2vec.py").write_text(source)
    shutil.copy(CORRECT_SAMPLE / "sgd.py", folder / "sgd.py")


def _simulated_root(install: dict, name: str, *, speed: bool = True) -> Path:
    """ROOT with source/ (the extracted zip), run_autograder, results/ and the metadata.

    ``speed=False`` puts a rubric without the speed tests in ROOT/source/rubric.toml, which
    run-autograder reads instead of the installed default.
    """
    root = install["base"] / name
    root.mkdir()
    shutil.copytree(install["source"], root / "source", symlinks=True,
                    ignore=shutil.ignore_patterns("build", "*.egg-info"))
    if not speed:
        (root / "source" / "rubric.toml").write_text(_without_speed_tests(install["rubric"].read_text()))
    shutil.copy2(install["source"] / "run_autograder", root / "run_autograder")  # as the image build does
    (root / "results").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps({
        "id": 777, "created_at": "2026-03-01T12:00:00Z", "assignment": {"title": "A2"},
        "users": [{"name": "Test Student", "email": "test@example.edu", "id": 5}]}))
    return root


def _cache(root: Path, user: str | None = None) -> Path:
    """The expected-value cache of a run (shared by the runs of one user, as in one image)."""
    return root.parent / f"cache-{user or 'root'}"


def _run(root: Path, install: dict, *, user: str | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "W2V_AUTOGRADER_ROOT": str(root), "W2V_VENV": str(install["venv"]),
           "W2V_CACHE_DIR": str(_cache(root, user)), "HOME": str(root.parent), "LANG": "C.UTF-8"}
    argv = [str(root / "run_autograder")]
    if user:
        argv = [shutil.which("runuser") or "runuser", "-u", user, "--", "env", *(f"{k}={v}" for k, v in env.items()), *argv]
    proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=400)
    (root.parent / f"{root.name}.log").write_text(proc.stdout + proc.stderr)
    if os.environ.get("W2V_TEST_KEEP_LOGS"):
        shutil.copy(root.parent / f"{root.name}.log", os.environ["W2V_TEST_KEEP_LOGS"] + f"/{root.name}.log")
        shutil.copy(root / "results" / "results.json", os.environ["W2V_TEST_KEEP_LOGS"] + f"/{root.name}.json")
    path = root / "results" / "results.json"
    assert path.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(path.read_text())
    validate_results(data)
    return proc, data


def _assert_graded(data: dict, proc: subprocess.CompletedProcess, *, correct: bool = True) -> None:
    log = proc.stdout[-5000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, log
    assert not data["extra_data"].get("internal_error"), data["extra_data"].get("internal_error", "")[-3000:] + log
    assert all(t["name"] != "Autograder error" for t in data["tests"]), log
    assert data["extra_data"]["submission_id"] == "777"
    assert not data["output"].lstrip().startswith("Total:"), "the report summary fell back to the plain one"
    assert "leaderboard" in data  # switched on in the test rubric
    # The test rubric has after_published tests: the output states the visible points and the pending ones.
    visible = [t for t in data["tests"] if t.get("visibility", "visible") == "visible"]
    earned, possible = sum(t["score"] for t in visible), sum(t["max_score"] for t in visible)
    assert f"**Score: {earned:g} of {possible:g} visible points;" in data["output"], data["output"][:300]
    if not correct:
        return
    correctness = [t for t in data["tests"] if "check:correctness" in t["tags"]]
    assert correctness and all(t["status"] == "passed" for t in correctness), \
        [(t["name"], t.get("output", "")[:300]) for t in correctness if t["status"] != "passed"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the engine runs student code as the sandbox user")
def test_run_autograder_as_root_on_correct_and_hostile_submissions(install: dict) -> None:
    root = _simulated_root(install, "root-correct")
    shutil.copytree(CORRECT_SAMPLE, root / "submission" / "nested" / "a2")  # any nesting
    proc, data = _run(root, install)
    _assert_graded(data, proc)
    assert any(layer.startswith("uid:") for layer in data["extra_data"]["isolation_layers"]), \
        data["extra_data"]["isolation_layers"]
    for path in (root / "source", root / "results", root / "submission_metadata.json"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path
    reference = next((install["venv"] / "lib").glob("python3.*/site-packages")) / "reference" / "word2vec.py"
    assert stat.S_IMODE(reference.stat().st_mode) & 0o004 == 0, "the installed reference is readable by others"

    # A submission that knows this tree's paths and attacks them at import time.
    hostile = _simulated_root(install, "root-hostile", speed=False)
    control = install["base"] / "control.txt"
    control.write_text(CONTROL_MARK)
    control.chmod(0o644)
    _hostile_submission(hostile / "submission", hostile, install["venv"], control, _cache(hostile))
    assert any(_cache(hostile).rglob("*.json")), "the cache the attack targets is filled by the first run"
    proc, data = _run(hostile, install)
    _assert_graded(data, proc, correct=False)
    sigmoid = next(t for t in data["tests"] if t["extra_data"]["test_id"] == "sigmoid.correctness")
    assert CONTROL_MARK in sigmoid["output"], "the attack did not run (positive control): " + sigmoid["output"][:500]
    text = json.dumps(data)
    assert LEAK_MARK not in text, [t.get("output", "")[:500] for t in data["tests"] if LEAK_MARK in t.get("output", "")]
    assert not (hostile / "results" / "pwned.txt").exists() and not (hostile / "source" / "pwned.txt").exists()
    assert not (_cache(hostile) / "pwned.txt").exists()
    assert stat.S_IMODE(_cache(hostile).stat().st_mode) & 0o007 == 0
    assert sorted(os.listdir(hostile / "results")) == ["results.json"]
    assert data["score"] < sum(t["max_score"] for t in data["tests"])  # its sigmoid raised

    # The project's hostile samples: writing a fake results.json / printing one, and (opt-in) the others.
    names = ["hostile_fake_results"]
    if os.environ.get("W2V_TEST_ALL_HOSTILE") == "1":
        names = sorted(p.name for p in SAMPLES.glob("hostile*") if p.is_dir())
    for name in names:
        if not (SAMPLES / name).is_dir():
            continue
        other = _simulated_root(install, f"root-{name}", speed=False)
        shutil.copytree(SAMPLES / name, other / "submission")
        proc, data = _run(other, install)
        _assert_graded(data, proc, correct=False)
        assert sorted(os.listdir(other / "results")) == ["results.json"]
        assert data["output"] != "All tests passed! Great job."
        if name == "hostile_fake_results":
            assert data["score"] < 16


def _can_run_as(user: str, python: Path) -> bool:
    if shutil.which("runuser") is None:
        return False
    proc = subprocess.run(["runuser", "-u", user, "--", str(python), "-P", "-c", "import numpy, scipy, grader"],
                          capture_output=True, cwd="/", timeout=60)
    return proc.returncode == 0


def test_run_autograder_as_a_non_root_user(install: dict) -> None:
    """The whole run_autograder as 'nobody' (no uid switch possible): still graded, still a valid result."""
    venv = install["venv"]
    if os.geteuid() != 0:
        user = None  # already unprivileged: run directly
    elif _can_run_as("nobody", venv / "bin" / "python"):
        user = "nobody"
    else:
        pytest.skip("user 'nobody' cannot run the virtualenv's interpreter and import the grader on this machine")
    # A root run before this one made the installed reference unreadable to others; a deployment
    # that never runs as root never has that done, so undo it.
    site = next((venv / "lib").glob("python3.*/site-packages"))
    subprocess.run(["chmod", "-R", "o+rX", str(site / "reference")], check=True)
    root = _simulated_root(install, "nonroot-correct", speed=False)
    shutil.copytree(CORRECT_SAMPLE, root / "submission")
    if user:
        (install["base"] / f"cache-{user}").mkdir(exist_ok=True)
        subprocess.run(["chown", "-R", f"{user}:", str(root), str(install["base"] / f"cache-{user}")], check=True)
    proc, data = _run(root, install, user=user)
    _assert_graded(data, proc)
    assert not any(layer.startswith("uid:") for layer in data["extra_data"]["isolation_layers"])
    assert "not root" in proc.stdout
