"""The grader's one zip extraction: every archive it opens (a submission, a class export) goes through here.

Safety rules, the same for every caller: a member whose name is absolute or contains ``..``
(zip-slip) is skipped, and so is a symbolic link; backslashes count as folder separators; the
number of members and the total uncompressed size are bounded *before* anything is written
(:class:`ZipLimits`: :data:`SUBMISSION_ZIP` for one student's upload, :data:`EXPORT_ZIP` for a
whole class).  A zip that breaks a rule or cannot be read raises :class:`ArchiveError`; callers
turn it into their own error (``DiscoveryError``, ``LayoutError``) with the same message.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class ArchiveError(ValueError):
    """The zip is unreadable or over its limits; the message names the archive and the reason."""


@dataclass(frozen=True)
class ZipLimits:
    """Bounds checked before extracting: member count and total uncompressed bytes."""

    max_members: int
    max_bytes: int
    members_word: str
    """How the members are called in the message: "more than 5000 files in the zip"."""


SUBMISSION_ZIP = ZipLimits(max_members=5000, max_bytes=200 * 1024**2, members_word="files in the zip")
EXPORT_ZIP = ZipLimits(max_members=200_000, max_bytes=4 * 1024**3, members_word="entries")


def extract_zip(archive: Path, dest: Path, limits: ZipLimits) -> None:
    """Extract ``archive`` into the folder ``dest`` without zip-slip, links or unbounded size."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > limits.max_members:
                raise ArchiveError(f"{archive.name}: more than {limits.max_members} {limits.members_word}")
            if sum(m.file_size for m in members) > limits.max_bytes:
                raise ArchiveError(f"{archive.name}: uncompressed size is over {_size(limits.max_bytes)}")
            for member in members:
                name = PurePosixPath(member.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or not name.parts:
                    continue
                if stat.S_ISLNK(member.external_attr >> 16):
                    continue
                target = dest.joinpath(*name.parts)
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"{archive.name} is not a readable zip archive: {exc}") from exc


def _size(n: int) -> str:
    """200 MB, 4 GB."""
    return f"{n // 1024**3} GB" if n % 1024**3 == 0 else f"{n // 1024**2} MB"
