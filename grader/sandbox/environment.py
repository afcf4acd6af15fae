"""The worker's environment and files: the ``fresh_tmpdir`` layer, and the permissions of the ``uid`` layer.

``fresh_tmpdir`` (always): :func:`build_env` gives the worker a minimal environment whose HOME,
TMPDIR and MPLCONFIGDIR point inside the run's ``workdir`` (prepared by :func:`prepare_workdir`),
with BLAS pinned to one thread and the control pipe's fd in ``W2V_CONTROL_FD``; nothing of the
caller's environment is inherited except what the caller passes.

``uid`` (files): with a dedicated uid the worker can read only what "others" may read.
:func:`prepare_workdir` chowns ``workdir`` to the leased user (mode 0700);
:func:`ensure_readable` opens the paths the worker needs (o+r, directories o+rx, ancestors o+x),
:func:`ensure_unreadable` closes what it must never read (o-rwx; the grader's sources, results
and expected values).  Both only act as root: without root no dedicated uid exists, so
permission bits cannot protect anything (``hide_paths`` of the mountns layer still can).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .layers import IsolationInfo
from .trampoline import CONFIG_ENV, CONTROL_FD, REQUEST_FD


def make_workdir(prefix: str = "w2v-run-") -> Path:
    """Create a fresh private directory in the system temp dir for one run.

    Its ancestors are searchable by everyone, so the sandbox uid can also use
    absolute paths into it even without ``mountns``.  The caller removes it.
    """
    return Path(tempfile.mkdtemp(prefix=prefix))


def ensure_unreadable(paths: Iterable[Path], *, recursive: bool = False) -> list[Path]:
    """Remove o+rwx from ``paths`` (and below them if ``recursive``) when running as root.

    With the ``uid`` layer the sandbox can then neither list, read nor write them.
    Returns the paths whose mode changed.  Not root: no-op (no dedicated uid can be
    used, so permission bits cannot protect anything; use ``hide_paths`` if possible).
    Symlinks are skipped.
    """
    if os.geteuid() != 0:
        return []
    return [p for p in _walk_all(paths, recursive) if _chmod_bits(p, clear=0o007)]


def ensure_readable(paths: Iterable[Path], *, ancestors: bool = True) -> list[Path]:
    """Make ``paths`` readable by "others" (o+r, dirs o+rx, recursively) when running as root.

    With ``ancestors`` every ancestor directory also gets o+x (search only, no listing).
    Returns the paths whose mode changed; not root: no-op.
    """
    if os.geteuid() != 0:
        return []
    changed = []
    resolved = [Path(p).resolve() for p in paths]
    if ancestors:
        for anc in {a for p in resolved for a in p.parents}:
            if _chmod_bits(anc, add=0o001):
                changed.append(anc)
    for path in _walk_all(resolved, True):
        if _chmod_bits(path, add=0o005 if path.is_dir() else 0o004):
            changed.append(path)
    return changed


def _walk_all(paths: Iterable[Path], recursive: bool) -> Iterable[Path]:
    """Yield each path, and everything below it if ``recursive`` (no symlinks followed)."""
    for path in map(Path, paths):
        yield path
        if recursive and path.is_dir() and not path.is_symlink():
            for root, dirs, files in os.walk(path):
                yield from (Path(root, name) for name in dirs + files)


def _chmod_bits(path: Path, *, add: int = 0, clear: int = 0) -> bool:
    """Set/clear mode bits of a non-symlink path; True if the mode changed."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if stat.S_ISLNK(st.st_mode):
        return False
    mode = stat.S_IMODE(st.st_mode)
    new = (mode | add) & ~clear
    if new != mode:
        os.chmod(path, new)
    return new != mode


def prepare_workdir(workdir: Path, info: IsolationInfo) -> None:
    """Create HOME/TMPDIR helpers; hand the tree to the sandbox uid."""
    for sub in (".tmp", ".mplconfig"):
        (workdir / sub).mkdir(exist_ok=True)
    if info.uid is None:
        return
    for path in _walk_all([workdir], True):
        # The speed check may open gates (create + rename files) in this tree while it is walked.
        with contextlib.suppress(FileNotFoundError):
            os.lchown(path, info.uid, info.gid if info.gid is not None else -1)
    os.chmod(workdir, 0o700)


def build_env(workdir: Path, extra: dict[str, str] | None, *, request: bool = False) -> dict[str, str]:
    """Minimal worker environment merged with ``extra`` (``request``: the run has a request pipe)."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8", "HOME": str(workdir), "TMPDIR": str(workdir / ".tmp"),
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(workdir / ".mplconfig"),
        # Fixed malloc thresholds: arrays up to 64 MiB come from the heap, which keeps freed memory for
        # reuse.  glibc otherwise moves its mmap threshold as large blocks are freed, so a worker that ran
        # many calls gets reused (memset-zeroed) memory where a fresh one gets new, lazily zeroed pages,
        # and equal code timed in two workers would differ by page faults alone.
        "MALLOC_MMAP_THRESHOLD_": str(64 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20),
    }
    env.update(extra or {})
    env["W2V_CONTROL_FD"] = str(CONTROL_FD)
    if request:
        env["W2V_REQUEST_FD"] = str(REQUEST_FD)
    env.pop(CONFIG_ENV, None)
    return env
