"""Find the submissions in a batch INPUT and who they belong to.

Three layouts are recognised (see docs/batch.md):

* a Gradescope "Export Submissions" folder or zip: ``submission_metadata.yml``
  maps each submission folder (``submission_123456``) to its submitters;
* a folder holding one folder per student;
* a folder holding one ``.zip`` per student (a mix of folders and zips is accepted too).

A zip INPUT is extracted (by :func:`grader.discover.archive.extract_zip`, the grader's one
extraction routine: no absolute paths, no ``..``, no links, bounded size) into a temporary
folder and then read like a folder.  A
single wrapper folder (``assignment_42_export/``) is looked through.
Anything else raises :class:`LayoutError` with a description of what was
found.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from grader.discover.archive import EXPORT_ZIP, ArchiveError, extract_zip
from grader.results import StudentInfo

METADATA_NAMES = ("submission_metadata.yml", "submission_metadata.yaml")
SUBMISSION_FILES = ("word2vec.py", "sgd.py")
IGNORED_NAMES = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git", ".DS_Store", "Thumbs.db"}
SLUG_MAX = 64


class LayoutError(ValueError):
    """INPUT is not a batch layout this command understands; the message says what was found."""


@dataclass
class BatchItem:
    """One submission of the batch."""

    key: str  # output folder name: filesystem-safe, unique in the batch, stable across runs
    path: Path  # folder or .zip handed to the engine
    source: str  # path relative to the batch input, for humans and for results.jsonl
    student: StudentInfo
    label: str  # "Jane Doe (12345)"

    @property
    def display_id(self) -> str:
        return ";".join(self.student.student_ids) or self.student.submission_id or self.key


@dataclass
class BatchInput:
    """The detected layout and its submissions (sorted by key)."""

    layout: str  # "gradescope", "folders", "zips", "folders+zips"
    root: Path  # folder the submissions were found in (a temp folder for zip inputs)
    items: list[BatchItem]
    notes: list[str] = field(default_factory=list)
    _tmp: Optional[tempfile.TemporaryDirectory] = None

    def cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> BatchInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


# ---------------------------------------------------------------------------
# slugs


def slugify(text: str, fallback: str = "student") -> str:
    """Lower-case ASCII letters, digits, ``-`` and ``_``; never empty, never starts with a dot."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9_]+", "-", text).strip("-_")
    text = re.sub(r"-{2,}", "-", text)[:SLUG_MAX].strip("-_")
    return text or fallback


def assign_keys(candidates: list[tuple[str, str]]) -> list[str]:
    """Unique keys for ``(preferred_slug, source)`` pairs, independent of their order.

    A slug shared by several submissions gets the slug of its source (the
    submission folder or zip name, unique in the input) appended, so keys
    stay stable across runs as long as the same set of names is present.
    """
    counts: dict[str, int] = {}
    for slug, _ in candidates:
        counts[slug] = counts.get(slug, 0) + 1
    keys = [slug if counts[slug] == 1 else f"{slug}--{slugify(source, 'x')}" for slug, source in candidates]
    seen: dict[str, int] = {}
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
    if len(seen) == len(keys):
        return keys
    # Still colliding (sources that differ only in characters the slug drops): add an order-free digest.
    import hashlib

    return [k if seen[k] == 1 else f"{k}-{hashlib.sha256(src.encode()).hexdigest()[:8]}"
            for k, (_, src) in zip(keys, candidates)]


def label_for(student: StudentInfo, fallback: str) -> str:
    name = " & ".join(n for n in student.names if n) or fallback
    ids = ", ".join(s for s in student.student_ids if s)
    return f"{name} ({ids})" if ids else name


# ---------------------------------------------------------------------------
# detection


def detect_layout(input_path: Path) -> BatchInput:
    """Detect the layout of ``input_path`` and list its submissions; raises :class:`LayoutError`."""
    input_path = Path(input_path)
    if not input_path.exists():
        raise LayoutError(f"{input_path} does not exist")
    tmp = None
    if input_path.is_file():
        if not zipfile.is_zipfile(input_path):
            raise LayoutError(
                f"{input_path} is a file but not a zip archive. Give a Gradescope export (folder or zip), "
                "a folder of per-student folders, or a folder of per-student zips.")
        tmp = tempfile.TemporaryDirectory(prefix="w2v-batch-input-")
        try:
            extract_zip(input_path, Path(tmp.name), EXPORT_ZIP)
            batch = _detect_folder(Path(tmp.name), shown=input_path.name, from_zip=True)
        except ArchiveError as exc:
            tmp.cleanup()
            raise LayoutError(str(exc)) from exc
        except BaseException:
            tmp.cleanup()
            raise
        batch._tmp = tmp
        return batch
    if not input_path.is_dir():
        raise LayoutError(f"{input_path} is neither a folder nor a zip archive")
    return _detect_folder(input_path, shown=str(input_path), from_zip=False)


def _visible_entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and not p.name.startswith("._") and p.name not in IGNORED_NAMES)


def _metadata_file(folder: Path) -> Optional[Path]:
    for name in METADATA_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def _looks_like_one_submission(folder: Path) -> bool:
    return any((folder / name).is_file() for name in SUBMISSION_FILES) or any(
        p.suffix == ".ipynb" for p in folder.glob("*.ipynb"))


def _detect_folder(folder: Path, *, shown: str, from_zip: bool) -> BatchInput:
    root = folder
    # Look through single wrapper folders ("assignment_42_export/"), a few levels at most.
    for _ in range(3):
        if _metadata_file(root) or _looks_like_one_submission(root):
            break
        entries = _visible_entries(root)
        if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() and (
                _metadata_file(entries[0]) or not _looks_like_one_submission(entries[0])):
            inner = entries[0]
            if _metadata_file(inner) or any(e.is_dir() or e.suffix.lower() == ".zip" for e in _visible_entries(inner)):
                root = inner
                continue
        break
    metadata = _metadata_file(root)
    if metadata is not None:
        return _gradescope(root, metadata)
    if _looks_like_one_submission(root):
        found = ", ".join(p.name for p in _visible_entries(root)[:8])
        raise LayoutError(
            f"{shown} looks like a single submission (it contains {found}), not a class. "
            "Grade it with `w2v-grader grade`, or put each student's submission in its own folder or zip.")
    entries = _visible_entries(root)
    folders = [p for p in entries if p.is_dir() and not p.is_symlink()]
    zips = [p for p in entries if p.is_file() and p.suffix.lower() == ".zip"]
    others = [p for p in entries if p not in folders and p not in zips]
    if not folders and not zips:
        raise LayoutError(_unknown_message(shown, folders, zips, others))
    notes = []
    if others:
        notes.append(f"ignored {len(others)} file(s) that are neither folders nor zips: "
                     + ", ".join(p.name for p in others[:5]) + (" ..." if len(others) > 5 else ""))
    candidates = []
    for p in folders + zips:
        name = p.name if p.is_dir() else p.stem
        student = StudentInfo(submission_id=name, names=[name])
        candidates.append((p, name, student))
    layout = "folders+zips" if folders and zips else ("folders" if folders else "zips")
    keys = assign_keys([(slugify(name), p.name) for p, name, _ in candidates])
    items = [BatchItem(key=k, path=p, source=p.relative_to(root).as_posix(), student=s, label=label_for(s, n))
             for k, (p, n, s) in zip(keys, candidates)]
    items.sort(key=lambda it: it.key)
    return BatchInput(layout=layout, root=root, items=items, notes=notes)


def _unknown_message(shown: str, folders: list[Path], zips: list[Path], others: list[Path]) -> str:
    def some(paths: list[Path]) -> str:
        return (" (" + ", ".join(p.name for p in paths[:6]) + (", ..." if len(paths) > 6 else "") + ")") if paths else ""

    found = (f"{len(folders)} folder(s){some(folders)}, {len(zips)} zip file(s){some(zips)}, "
             f"{len(others)} other file(s){some(others)}")
    return (f"Cannot tell how {shown} is organised. Expected one of:\n"
            "  - a Gradescope 'Export Submissions' folder or zip (with submission_metadata.yml),\n"
            "  - a folder with one folder per student,\n"
            "  - a folder with one .zip per student.\n"
            f"Found: {found}.")


# ---------------------------------------------------------------------------
# Gradescope export


def _strip_colons(value: Any) -> Any:
    """Gradescope writes Ruby symbols as keys (``:name``); accept keys with or without the colon."""
    if isinstance(value, dict):
        return {(k.lstrip(":") if isinstance(k, str) else k): _strip_colons(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_colons(v) for v in value]
    return value


def load_metadata(path: Path) -> dict[str, dict[str, Any]]:
    """Parse ``submission_metadata.yml`` into ``{folder: {submitters: [...], ...}}``, colons stripped.

    Unknown YAML tags (Ruby objects in some exports) are read as plain maps,
    lists or strings.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def unknown(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", unknown)
    Loader.add_multi_constructor("tag:", unknown)
    try:
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise LayoutError(f"{path.name} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LayoutError(f"{path.name} should map submission folders to their submitters; "
                          f"it holds a {type(data).__name__}")
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in _strip_colons(data).items()}


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _gradescope(root: Path, metadata_path: Path) -> BatchInput:
    metadata = load_metadata(metadata_path)
    notes: list[str] = []
    candidates = []
    for folder_name, info in sorted(metadata.items()):
        path = root / folder_name
        if not path.exists():
            zipped = root / f"{folder_name}.zip"
            if zipped.is_file():
                path = zipped
            else:
                notes.append(f"{metadata_path.name} lists {folder_name} but there is no such folder; skipped")
                continue
        submitters = info.get("submitters") or []
        if isinstance(submitters, dict):
            submitters = [submitters]
        submitters = [s for s in submitters if isinstance(s, dict)]
        student = StudentInfo(
            submission_id=folder_name,
            names=[_text(s.get("name")) for s in submitters if _text(s.get("name"))],
            emails=[_text(s.get("email")) for s in submitters if _text(s.get("email"))],
            student_ids=[_text(s.get("sid")) for s in submitters if _text(s.get("sid"))],
        )
        first = student.names[0] if student.names else ""
        sid = student.student_ids[0] if student.student_ids else ""
        preferred = slugify(f"{first} {sid}".strip(), fallback=slugify(folder_name))
        candidates.append((path, folder_name, student, preferred))
    listed = set(metadata)
    for p in _visible_entries(root):
        if p.is_dir() and not p.is_symlink() and p.name not in listed:
            notes.append(f"{p.name} is not in {metadata_path.name}; graded without a student name")
            candidates.append((p, p.name, StudentInfo(submission_id=p.name, names=[]), slugify(p.name)))
    if not candidates:
        raise LayoutError(f"{metadata_path} lists no submission that exists in {root}")
    keys = assign_keys([(c[3], c[1]) for c in candidates])
    items = [BatchItem(key=k, path=p, source=p.relative_to(root).as_posix(), student=s, label=label_for(s, name))
             for k, (p, name, s, _) in zip(keys, candidates)]
    items.sort(key=lambda it: it.key)
    return BatchInput(layout="gradescope", root=root, items=items, notes=notes)
