"""Stage 1 — discover: find ``word2vec.py`` / ``sgd.py`` in a folder or .zip and vet them statically.

Nothing here executes student code.  Problems (missing file, notebook
instead of .py, non-UTF-8 bytes, syntax error, missing function, wrong
signature) become :class:`~grader.results.SandboxEvent` objects with a
message that names the file and the fix; the rest of the submission is
still graded.

:func:`discover` finds the files (at any depth; junk folders ignored; a zip, or a folder holding
only a zip, is extracted by :mod:`grader.discover.archive`, the one extraction routine of the
grader) and hands each to :func:`grader.discover.vet.vet_source`.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from grader.results import SandboxEvent, SubmissionFiles

from .archive import SUBMISSION_ZIP, ArchiveError, extract_zip
from .vet import REQUIRED_FUNCTIONS, StaticReport, suspicious_constructs, vet_source

__all__ = ["REQUIRED_FILES", "REQUIRED_FUNCTIONS", "Discovery", "DiscoveryError", "StaticReport", "discover",
           "suspicious_constructs", "vet_source"]

REQUIRED_FILES = ("word2vec.py", "sgd.py")
JUNK_PARTS = ("__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git")


class DiscoveryError(Exception):
    """The path cannot be read as a submission at all (not a folder/zip, corrupt zip)."""


@dataclass
class Discovery:
    """Result of discovery: where the files are, what is usable, and the problems found."""

    files: SubmissionFiles
    root: Path  # folder holding the extracted submission
    paths: dict[str, Path]  # "word2vec.py" -> absolute path of the file used
    reports: dict[str, StaticReport]
    _tmp: Optional[tempfile.TemporaryDirectory] = None

    def usable_functions(self) -> set[str]:
        names: set[str] = set()
        for report in self.reports.values():
            names |= report.available_functions
        return names

    def cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def discover(path: Path) -> Discovery:
    """Locate and vet the submission at ``path`` (a folder or a .zip)."""
    path = Path(path)
    tmp = None
    if path.is_file() and zipfile.is_zipfile(path):
        tmp = tempfile.TemporaryDirectory(prefix="w2v-zip-")
        root = Path(tmp.name)
        _safe_extract(path, root)
    elif path.is_dir():
        root = path
        inner = _lone_zip(path)
        if inner is not None:
            tmp = tempfile.TemporaryDirectory(prefix="w2v-zip-")
            root = Path(tmp.name)
            _safe_extract(inner, root)
    elif path.exists():
        raise DiscoveryError(f"{path} is neither a folder nor a .zip archive")
    else:
        raise DiscoveryError(f"{path} does not exist")
    files = SubmissionFiles(root=str(path))
    if path.is_dir() and tmp is not None:
        files.notes.append(f"No .py files were found next to {inner.name}; the files inside that zip were graded.")
    paths: dict[str, Path] = {}
    reports: dict[str, StaticReport] = {}
    for name in REQUIRED_FILES:
        found = _find(root, name, files)
        if found is None:
            files.problems.append(_missing_event(root, name))
            reports[name] = StaticReport()
            continue
        paths[name] = found
        rel = found.relative_to(root).as_posix()
        setattr(files, name.removesuffix(".py"), rel)
        reports[name] = vet_source(found, rel, files.problems)
    w2v = paths.get("word2vec.py")
    if w2v is not None and (w2v.parent / "utils").is_dir():
        files.notes.append("Your own utils/ folder was ignored; the grader provides the assignment's utils package.")
    return Discovery(files=files, root=root, paths=paths, reports=reports, _tmp=tmp)


def _lone_zip(folder: Path) -> Optional[Path]:
    """The single .zip of a folder that holds no Python files (a zipped submission uploaded as is)."""
    visible = [p for p in folder.rglob("*") if p.is_file() and not _is_junk(p, folder)]
    zips = [p for p in visible if p.suffix.lower() == ".zip" and zipfile.is_zipfile(p)]
    if len(zips) == 1 and not any(p.suffix == ".py" for p in visible):
        return zips[0]
    return None




def _safe_extract(archive: Path, dest: Path) -> None:
    """Extract a submission zip (the safety rules are :func:`grader.discover.archive.extract_zip`'s)."""
    try:
        extract_zip(archive, dest, SUBMISSION_ZIP)
    except ArchiveError as exc:
        raise DiscoveryError(str(exc)) from exc


def _is_junk(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return any(part in JUNK_PARTS or part.startswith("._") for part in rel.parts)


def _find(root: Path, name: str, files: SubmissionFiles) -> Optional[Path]:
    """The shallowest regular file called ``name`` (exact case) outside junk folders."""
    candidates = sorted(
        (p for p in root.rglob(name) if p.is_file() and not p.is_symlink() and not _is_junk(p, root)),
        key=lambda p: (len(p.relative_to(root).parts), p.as_posix()),
    )
    if not candidates:
        return None
    if len(candidates) > 1:
        others = ", ".join(c.relative_to(root).as_posix() for c in candidates[1:4])
        files.notes.append(f"Several {name} files were found; graded {candidates[0].relative_to(root).as_posix()} "
                           f"(also present: {others}).")
    return candidates[0]


def _missing_event(root: Path, name: str) -> SandboxEvent:
    stem = name.removesuffix(".py")
    visible = [p for p in root.rglob("*") if p.is_file() and not _is_junk(p, root)]
    notebooks = [p for p in visible if p.name.lower() == f"{stem.lower()}.ipynb"]
    wrong_case = [p for p in visible if p.name.lower() == name.lower() and p.name != name]
    if notebooks:
        nb = notebooks[0].relative_to(root).as_posix()
        return SandboxEvent("missing_file", f"{name} is missing: you submitted the notebook {nb} instead.",
                            f"Export it as a Python file (File → Download as → Python .py, or "
                            f"`jupyter nbconvert --to script {notebooks[0].name}`), name it {name} and resubmit.")
    if wrong_case:
        got = wrong_case[0].relative_to(root).as_posix()
        return SandboxEvent("missing_file", f"{name} is missing: found {got}, whose name differs in letter case.",
                            f"Rename it to exactly {name} (file names are case-sensitive on the grading machine).")
    listing = ", ".join(sorted(p.relative_to(root).as_posix() for p in visible)[:12]) or "no files"
    return SandboxEvent("missing_file", f"{name} was not found in your submission.",
                        f"Submission contents: {listing}. Include {name} (run collect_submission.sh).")
