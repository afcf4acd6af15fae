"""The ``uid`` layer's pool of unprivileged users: one user per concurrent run, leased, and its kill-all.

As root, each run leases its own user from a pool (:data:`SANDBOX_USER`, ``w2vsandbox1`` ..
``w2vsandbox15``, created with ``useradd`` on first use; else the shared ``nobody``), so
concurrent runs neither share RLIMIT_NPROC nor can touch each other's files, and the kill-all
fallback only hits this run.  :func:`uid_lease` holds a user for one run (an ``flock`` on a
per-uid lock file); :func:`kill_uid` SIGKILLs every process of a user (used without pidns at
the end of a run, never for ``nobody``).  The switch to the user happens in the worker
(:mod:`grader.sandbox.trampoline`); the workdir is handed over by
:mod:`grader.sandbox.environment`.  Gradescope's ``setup.sh`` creates the same users.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import pwd
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .layers import IsolationInfo, SandboxError
from .trampoline import SCRIPT

SANDBOX_USER = "w2vsandbox"
UID_POOL_SIZE = 16
"""Users ``w2vsandbox``, ``w2vsandbox1`` .. ``w2vsandbox15``: one per concurrent run (a grading uses up to 3)."""
_LOCK_DIR = Path("/run/w2v-sandbox") if Path("/run").is_dir() else Path("/tmp/w2v-sandbox-locks")
_UID_POOL: list[tuple[str, int, int]] = []
"""The pool found (and created) by the uid probe: (name, uid, gid) of each user."""


def with_pool_uid(info: IsolationInfo) -> IsolationInfo | str:
    """``info`` plus the uid layer of the pool's first user (pool created and remembered), or why not."""
    global _UID_POOL
    if os.geteuid() != 0:
        return "not running as root (cannot switch to a dedicated uid)"
    pool = _ensure_pool()
    if isinstance(pool, str):
        return pool
    _UID_POOL = pool
    name, uid, gid = pool[0]
    return info.with_layer(f"uid:{name}", uid=uid, gid=gid)


def _ensure_user(name: str) -> tuple[str, int, int] | None:
    """(name, uid, gid) of system user ``name``, created (useradd) if missing."""
    for attempt in range(2):
        try:
            pw = pwd.getpwnam(name)
            return name, pw.pw_uid, pw.pw_gid
        except KeyError:
            pass
        useradd = shutil.which("useradd")
        if attempt == 0 and useradd:
            subprocess.run([useradd, "--system", "--user-group", "--no-create-home",
                            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                            name], capture_output=True, timeout=30, check=False)
    return None


def _ensure_pool() -> list[tuple[str, int, int]] | str:
    """The uid pool: ``w2vsandbox``, ``w2vsandbox1``.. (created if missing), else ``nobody``."""
    names = [SANDBOX_USER] + [f"{SANDBOX_USER}{i}" for i in range(1, UID_POOL_SIZE)]
    pool = [user for user in map(_ensure_user, names) if user is not None]
    if pool:
        return pool
    try:
        pw = pwd.getpwnam("nobody")
        return [("nobody", pw.pw_uid, pw.pw_gid)]
    except KeyError:
        return f"could not create user {SANDBOX_USER!r} and no 'nobody' user exists"



@contextlib.contextmanager
def uid_lease(info: IsolationInfo, wait_seconds: float) -> Iterator[IsolationInfo]:
    """Hold an exclusive pool uid for one run (flock on a per-uid lock file).

    Yields ``info`` with ``uid``/``gid`` set to the leased user.  Concurrent runs thus
    never share a uid (no shared RLIMIT_NPROC, no access to each other's files, and
    the fallback kill-all only hits this run).  ``nobody`` is shared, never leased.
    """
    pool = _UID_POOL if info.uid is not None else []
    if not pool or pool[0][0] == "nobody":
        yield info
        return
    _LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    start = os.getpid() + threading.get_ident()
    while True:
        for i in range(len(pool)):
            _, uid, gid = pool[(start + i) % len(pool)]
            fd = os.open(_LOCK_DIR / f"uid-{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield dataclasses.replace(info, uid=uid, gid=gid)
            finally:
                os.close(fd)
            return
        if time.monotonic() > deadline:
            raise SandboxError("no free sandbox uid (too many concurrent runs)")
        time.sleep(0.05)


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` atomically (kill(-1) from a helper with that uid)."""
    try:
        subprocess.run([sys.executable, "-I", "-S", SCRIPT, "killall", str(uid)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        pass
