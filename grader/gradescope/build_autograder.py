"""The Gradescope autograder zip (``w2v-grader build-autograder``): what is uploaded as the autograder.

Layout of the zip (everything at its root, as Gradescope requires)::

    setup.sh            installs Python 3.11, the sandbox user and the pinned venv
    run_autograder      runs `w2v-grader run-autograder` for each submission
    requirements.txt    pinned runtime dependencies
    pyproject.toml      packaging of grader/ and reference/ (installed with --no-deps)
    rubric.toml         the rubric (also copied over grader/rubric_default.toml)
    BUILD_INFO.json     grader version, rubric name and hash, sha256 of every file
    grader/...          the grader package (no __pycache__)
    reference/...       __init__.py, word2vec.py, sgd.py, utils/ (not run.py, not derivations.py)

The four top-level files come from ``grader/gradescope/bundle/`` (and are left out of the
``grader/`` tree in the zip).  No tests, sample submissions (nor ``grader/corpus.py``, their
loader), benchmarks or docs.  The zip is deterministic (:mod:`grader.packaging`), with Unix line
endings for the scripts, so the same sources and rubric always give byte-identical zips.

This module imports only the standard library, :mod:`grader.packaging` and :mod:`grader.rubric`,
so the Dockerfile can run it (``python -m grader.commands.build_autograder``) in a plain Python
image.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

from grader.packaging import BuildError, load_build_rubric, read, walk, write_zip

REPO_ROOT = Path(__file__).resolve().parents[2]
EXECUTABLES = ("setup.sh", "run_autograder")
TOP_FILES = ("setup.sh", "run_autograder", "requirements.txt", "pyproject.toml")
REFERENCE_FILES = ("__init__.py", "word2vec.py", "sgd.py")
EXCLUDED_FILES = {"grader/corpus.py"}
"""Test infrastructure inside the package: the sample-submission corpus loader (used by tests only)."""
BUNDLE = "grader/gradescope/bundle/"
"""The zip's top-level files (TOP_FILES) live here; they are not part of the grader package in the zip."""
GRADESCOPE_TIMEOUT = 600.0


def build_autograder(out: Path, *, rubric_path: Optional[Path] = None, repo_root: Path = REPO_ROOT) -> dict:
    """Write the autograder zip to ``out``; returns a summary (entries, rubric, warnings)."""
    rubric, rubric_bytes = load_build_rubric(rubric_path)
    files = collect_files(repo_root)
    _require_rubric_numpy(rubric, files)
    files["rubric.toml"] = rubric_bytes
    files["grader/rubric_default.toml"] = rubric_bytes
    files["BUILD_INFO.json"] = _build_info(files, rubric)

    write_zip(out, files, executables=EXECUTABLES)

    warnings = []
    budget = rubric.limits.budget_seconds
    if budget + 60 > GRADESCOPE_TIMEOUT - 30:
        warnings.append(
            f"budget_seconds = {budget:g} plus the 60 s watchdog grace is close to or above Gradescope's default "
            f"{GRADESCOPE_TIMEOUT:g} s timeout: raise the timeout in the assignment's autograder settings "
            "(up to 40 min), or lower [limits] budget_seconds")
    return {"entries": len(files), "rubric_name": rubric.name, "max_score": rubric.max_score,
            "budget_seconds": budget, "warnings": warnings, "names": sorted(files)}


def collect_files(repo_root: Path) -> dict[str, bytes]:
    """Zip member name → content, for everything except the rubric and BUILD_INFO.json."""
    files: dict[str, bytes] = {}
    for name in TOP_FILES:
        data = read(repo_root / BUNDLE / name)
        files[name] = data.replace(b"\r\n", b"\n") if name in EXECUTABLES else data
    for path in walk(repo_root / "grader"):
        name = path.relative_to(repo_root).as_posix()
        if name not in EXCLUDED_FILES and not name.startswith(BUNDLE):
            files[name] = read(path)
    reference = repo_root / "reference"
    for name in REFERENCE_FILES:
        files[f"reference/{name}"] = read(reference / name)
    for path in walk(reference / "utils"):
        files[path.relative_to(repo_root).as_posix()] = read(path)
    return files


def _require_rubric_numpy(rubric, files: dict[str, bytes]) -> None:
    """The image's pinned numpy must satisfy the rubric's ``[environment] numpy`` (BuildError if not)."""
    wanted = rubric.environment.numpy
    if not wanted:
        return
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError as exc:  # a plain Python image (the Dockerfile's first stage builds with no rubric numpy)
        raise BuildError("checking the rubric's [environment] numpy needs the 'packaging' library "
                         "(pip install packaging)") from exc
    requirements = next((v for k, v in files.items() if k.endswith("requirements.txt")), b"").decode()
    pinned = next((line.split("==", 1)[1].strip() for line in requirements.splitlines()
                   if line.strip().startswith("numpy==")), None)
    if pinned is None or pinned not in SpecifierSet(wanted):
        raise BuildError(f"the rubric grades with numpy {wanted}, but the image pins numpy {pinned}: build the "
                         "autograder from an environment with that numpy (pip install 'numpy" + wanted + "', then "
                         "update grader/gradescope/bundle/requirements.txt) or change the rubric's [environment]")


def _build_info(files: dict[str, bytes], rubric) -> bytes:
    from grader import __version__

    info = {
        "grader_version": __version__,
        "rubric_name": rubric.name,
        "rubric_sha256": hashlib.sha256(files["rubric.toml"]).hexdigest(),
        "max_score": rubric.max_score,
        "budget_seconds": rubric.limits.budget_seconds,
        "leaderboard": rubric.leaderboard,
        "files": {name: hashlib.sha256(files[name]).hexdigest() for name in sorted(files)},
    }
    return (json.dumps(info, indent=2, sort_keys=True) + "\n").encode()
