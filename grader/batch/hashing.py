"""Content hashes that decide what ``--resume`` may reuse.

A finished result is reused only when the *input hash* recorded with it
equals the input hash computed now: sha256 over the submission's content,
the rubric file's bytes and the grader version.  Timestamps never enter
it, so copying or re-extracting an export does not force a regrade, while
any edit to a student's file, to the rubric, or a grader upgrade does.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

from grader.batch.layout import IGNORED_NAMES

HASH_SCHEME = "w2v-batch-1"


def _skipped(rel_parts: tuple[str, ...]) -> bool:
    return any(part in IGNORED_NAMES or part.startswith("._") for part in rel_parts)


def _files(folder: Path) -> list[tuple[str, Path]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath)
        rel_dir = base.relative_to(folder).parts
        dirnames[:] = sorted(d for d in dirnames if not _skipped(rel_dir + (d,)))
        for name in filenames:
            if _skipped(rel_dir + (name,)):
                continue
            out.append(("/".join(rel_dir + (name,)), base / name))
    return sorted(out)


def submission_hash(path: Path) -> str:
    """sha256 of a submission folder (relative paths + bytes, junk folders skipped) or of a zip's bytes."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_file():
        h.update(b"zip\0")
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    if not path.is_dir():
        raise FileNotFoundError(f"submission {path} no longer exists")
    h.update(b"dir\0")
    for rel, file in _files(path):
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        if file.is_symlink():
            h.update(b"link\0" + os.readlink(file).encode("utf-8", "surrogateescape"))
        else:
            data = file.read_bytes()
            h.update(len(data).to_bytes(8, "big"))
            h.update(data)
    return h.hexdigest()


def input_hash(content_hash: str, rubric_hash: str, grader_version: str) -> str:
    """The hash stored with each result: submission content + rubric + grader version."""
    h = hashlib.sha256()
    for part in (HASH_SCHEME, content_hash, rubric_hash, grader_version):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def pack_submission(path: Path) -> bytes:
    """The submission as zip bytes, to ship to a remote worker (zips are sent as they are).

    Folders are zipped deterministically (sorted names, fixed timestamps),
    skipping the same junk the hash skips; symbolic links are not followed.
    """
    path = Path(path)
    if path.is_file():
        return path.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel, file in _files(path):
            if file.is_symlink() or not file.is_file():
                continue
            info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, file.read_bytes())
    return buf.getvalue()
