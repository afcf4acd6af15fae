"""The ``mountns`` layer's plan: what the worker's file system hides, and what it shows again.

In the run's private mount namespace (set up by init, :mod:`grader.sandbox.trampoline`; it needs
pidns for a private /proc) the worker gets: a fresh /proc showing only sandbox processes; an empty
read-only tmpfs over every top-level directory that is not a system one (:data:`SYSTEM_DIRS`:
/usr, /lib*, /bin, /sbin, /etc, /dev, /proc, /sys) -- so /home, /root, /opt, /srv, /var, /work...
show nothing -- and over the caller's ``hide_paths`` (the grader's secrets,
:func:`grader.course_secrets.protected_paths`, even where they lie inside a hole); empty writable tmpfs
over /tmp and /dev/shm (``SandboxLimits.tmpfs_bytes``).  ``workdir``, the caller's readable paths and the
interpreter are bind-mounted back in ("holes"), and any ancestor of those that the sandbox uid
could not search is masked the same way, so no permission of the host has to be loosened.
:func:`mount_plan` computes the masks; init applies them in order.  Without mountns,
:func:`reach_warnings` says which absolute paths the sandbox uid cannot reach.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from .layers import IsolationInfo
from .limits import SandboxLimits


def interpreter_paths(argv: list[str]) -> list[Path]:
    """Installation dirs the worker's Python needs, plus an absolute ``argv[0]``."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    if os.path.isabs(argv[0]):
        paths.add(argv[0])
    return [Path(p).resolve() for p in paths if os.path.exists(p)]


def _searchable(path: Path, uid: int | None, gid: int | None) -> bool:
    """Could ``uid``/``gid`` (no supplementary groups) search directory ``path``?"""
    if uid is None:
        return True
    try:
        st = os.stat(path)
    except OSError:
        return False
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def reach_warnings(workdir: Path, argv: list[str], info: IsolationInfo) -> list[str]:
    """Warn when the sandbox uid cannot reach ``workdir`` or the program by absolute path."""
    out = []
    targets = [("workdir", workdir)]
    if os.path.isabs(argv[0]):
        targets.append(("program", Path(argv[0]).resolve()))
    for what, path in targets:
        blocked = [a for a in reversed(path.parents) if not _searchable(a, info.uid, info.gid)]
        if blocked:
            out.append(f"{what} {path}: ancestor {blocked[0]} is not searchable by the sandbox "
                       "uid (without mountns only paths relative to workdir work)")
    return out


SYSTEM_DIRS = frozenset({"usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin", "etc", "dev", "proc", "sys",
                         "tmp"})
"""Top-level directories a worker sees (read-only, as the host has them; /tmp is a fresh tmpfs)."""


def _non_system_dirs(root: Path = Path("/")) -> list[Path]:
    """Top-level directories other than :data:`SYSTEM_DIRS` (symbolic links are left alone)."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    return [root / n for n in sorted(names)
            if n not in SYSTEM_DIRS and (root / n).is_dir() and not (root / n).is_symlink()]


def _under(path: Path, top: Path) -> bool:
    """True if ``path`` is strictly below ``top``."""
    return path != top and path.is_relative_to(top)


def mount_plan(holes: list[Path], hides: list[Path], info: IsolationInfo,
                limits: SandboxLimits) -> list[dict]:
    """Masks (tmpfs over a dir, /dev/null over a file) with holes bind-mounted back.

    Masks are ordered shallow-first; a mask inside another mask is dropped unless it
    lies inside one of that mask's holes.  A mask equal to a hole is dropped.
    """
    tmp = f"mode=1777,size={limits.tmpfs_bytes}"
    masks: dict[Path, dict] = {Path("/root"): {"rw": False}, Path("/home"): {"rw": False},
                               Path("/tmp"): {"rw": True, "opts": tmp},
                               Path("/dev/shm"): {"rw": True, "opts": tmp}}
    for hide in [*_non_system_dirs(), *hides]:
        masks.setdefault(hide, {"rw": False})
    for hole in holes:
        blocked = [a for a in reversed(hole.parents)
                   if a != Path("/") and not _searchable(a, info.uid, info.gid)]
        if blocked:
            masks.setdefault(blocked[0], {"rw": False})
    hole_set = set(holes)
    plan: list[dict] = []
    for path in sorted(masks, key=lambda p: len(p.parts)):
        if path in hole_set or path == Path("/") or not path.exists() or path.is_symlink():
            continue
        if _already_hidden(path, plan):
            continue
        inner = [h for h in hole_set if _under(h, path)]
        minimal = [h for h in inner if not any(_under(h, o) for o in inner)]
        plan.append({"path": str(path), "is_dir": path.is_dir(), "rw": masks[path]["rw"],
                     "opts": masks[path].get("opts", "mode=755,size=1m"),
                     "holes": [[str(h), h.is_dir()] for h in sorted(minimal)]})
    return plan


def _already_hidden(path: Path, plan: list[dict]) -> bool:
    """True if a planned mask covers ``path`` and none of its holes re-exposes it."""
    for mask in plan:
        holes = [Path(h) for h, _ in mask["holes"]]
        if _under(path, Path(mask["path"])) and not any(
                path == h or _under(path, h) for h in holes):
            return True
    return False
