"""``w2v-grader build-autograder``: the zip to upload as a Gradescope autograder.

Layout of the zip (everything at its root, as Gradescope requires)::

    setup.sh            installs Python 3.11, the sandbox user and the pinned venv
    run_autograder      runs `w2v-grader run-autograder` for each submission
    requirements.txt    pinned runtime dependencies
    pyproject.toml      packaging of grader/ and reference/ (installed with --no-deps)
    rubric.toml         the rubric (also copied over grader/rubric_default.toml)
    BUILD_INFO.json     grader version, rubric name and hash, sha256 of every file
    grader/...          the grader package (no __pycache__)
    reference/...       __init__.py, word2vec.py, sgd.py, utils/ (not run.py, not derivations.py)

No tests, sample submissions (nor ``grader/corpus.py``, their loader),
benchmarks or docs.  The zip is deterministic:
sorted entries, fixed timestamps (1980-01-01), fixed permissions (0755 for
the two scripts, 0644 otherwise), Unix line endings for the scripts, so the
same sources and rubric always give byte-identical zips.

This module imports only the standard library and :mod:`grader.rubric`, so
the Dockerfile can run it (``python -m grader.gradescope.build_autograder``)
in a plain Python image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path
from typing import Iterable, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
EXECUTABLES = ("setup.sh", "run_autograder")
TOP_FILES = ("setup.sh", "run_autograder", "requirements.txt", "pyproject.toml")
REFERENCE_FILES = ("__init__.py", "word2vec.py", "sgd.py")
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".ipynb_checkpoints"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".swp")
EXCLUDED_FILES = {"grader/corpus.py"}
"""Test infrastructure inside the package: the sample-submission corpus loader (used by tests only)."""
BUNDLE = "grader/gradescope/bundle/"
"""The zip's top-level files (TOP_FILES) live here; they are not part of the grader package in the zip."""
GRADESCOPE_TIMEOUT = 600.0


class BuildError(RuntimeError):
    """The zip cannot be built (missing files, invalid rubric)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``build-autograder`` sub-command."""
    parser = subparsers.add_parser(
        "build-autograder",
        help="build the Gradescope autograder zip (setup.sh, run_autograder, grader, reference, rubric)",
        description=(
            "Build the zip to upload in Gradescope's 'Configure Autograder' page: setup.sh and "
            "run_autograder at its root, the grader package, the reference solution, the rubric and "
            "the pinned requirements; no tests and no sample submissions. The zip is deterministic."
        ),
    )
    _add_arguments(parser)
    parser.set_defaults(func=run)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"),
                        help="where to write the zip (default: autograder.zip)")
    parser.add_argument("--rubric", type=Path, default=None,
                        help="rubric TOML to grade with (default: grader/rubric_default.toml)")


def run(args: argparse.Namespace) -> int:
    """Build the zip; 0 on success, 2 if the rubric or a source file is unusable."""
    try:
        info = build_autograder(Path(args.out), rubric_path=args.rubric)
    except BuildError as exc:
        print(f"build-autograder: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({info['entries']} files, rubric {info['rubric_name']!r}, "
          f"{info['max_score']:g} points, budget {info['budget_seconds']:g} s)")
    for warning in info["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def build_autograder(out: Path, *, rubric_path: Optional[Path] = None, repo_root: Path = REPO_ROOT) -> dict:
    """Write the autograder zip to ``out``; returns a summary (entries, rubric, warnings)."""
    rubric, rubric_bytes = load_build_rubric(rubric_path)
    files = collect_files(repo_root)
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


def load_build_rubric(rubric_path: Optional[Path]):
    """(Rubric, its file's bytes) for a build; the default rubric when ``rubric_path`` is None."""
    from grader.rubric import DEFAULT_RUBRIC, RubricError, load_rubric

    rubric_path = Path(rubric_path) if rubric_path else DEFAULT_RUBRIC
    try:
        return load_rubric(rubric_path), rubric_path.read_bytes()
    except RubricError as exc:
        raise BuildError(str(exc)) from exc


def write_zip(out: Path, files: dict[str, bytes], executables: Iterable[str] = ()) -> None:
    """Write ``files`` (member name → bytes) to ``out`` deterministically and atomically."""
    executables = set(executables)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(files):
            entry = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            entry.create_system = 3  # Unix, so that external_attr holds the mode
            entry.external_attr = ((0o100755 if name in executables else 0o100644) & 0xFFFF) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, files[name], compresslevel=9)
    tmp.replace(out)


def collect_files(repo_root: Path) -> dict[str, bytes]:
    """Zip member name → content, for everything except the rubric and BUILD_INFO.json."""
    files: dict[str, bytes] = {}
    gradescope_dir = repo_root / "grader" / "gradescope" / "bundle"
    for name in TOP_FILES:
        data = _read(gradescope_dir / name)
        files[name] = data.replace(b"\r\n", b"\n") if name in EXECUTABLES else data
    for path in _walk(repo_root / "grader"):
        name = path.relative_to(repo_root).as_posix()
        if name not in EXCLUDED_FILES and not name.startswith(BUNDLE):
            files[name] = _read(path)
    reference = repo_root / "reference"
    for name in REFERENCE_FILES:
        files[f"reference/{name}"] = _read(reference / name)
    for path in _walk(reference / "utils"):
        files[path.relative_to(repo_root).as_posix()] = _read(path)
    return files


def _walk(folder: Path) -> Iterable[Path]:
    if not folder.is_dir():
        raise BuildError(f"missing folder {folder}")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in EXCLUDED_PARTS or part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and not path.name.endswith(EXCLUDED_SUFFIXES):
            yield path


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BuildError(f"cannot read {path}: {exc.strerror or exc}") from exc


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


def main(argv: Optional[list[str]] = None) -> int:
    """``python -m grader.gradescope.build_autograder``: same as the sub-command (used by the Dockerfile)."""
    parser = argparse.ArgumentParser(prog="python -m grader.gradescope.build_autograder",
                                     description="Build the Gradescope autograder zip.")
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
