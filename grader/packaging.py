"""Deterministic zips of the grader's own files: what the Gradescope autograder and the self-check kit are built from.

Both builders (:mod:`grader.gradescope.build_autograder`, :mod:`grader.kit.build`) pick source
files with :func:`walk` (no caches, no hidden or editor files) and :func:`read`, and write them
with :func:`write_zip`: sorted entries, fixed timestamps (1980-01-01), fixed permissions (0755 for
the listed executables, 0644 otherwise), so the same sources always give byte-identical zips.
Standard library only (plus :mod:`grader.rubric`, imported when a rubric is loaded), so the
Dockerfile's first stage can build in a plain Python image.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterable, Optional

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".ipynb_checkpoints"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".swp")


class BuildError(RuntimeError):
    """The zip cannot be built (missing files, invalid rubric)."""


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


def walk(folder: Path) -> Iterable[Path]:
    """Every file below ``folder``, sorted, without caches, hidden files and editor leftovers."""
    if not folder.is_dir():
        raise BuildError(f"missing folder {folder}")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in EXCLUDED_PARTS or part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and not path.name.endswith(EXCLUDED_SUFFIXES):
            yield path


def read(path: Path) -> bytes:
    """The bytes of ``path`` (BuildError if it cannot be read)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BuildError(f"cannot read {path}: {exc.strerror or exc}") from exc
