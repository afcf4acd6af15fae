"""Which optional isolation layers this platform permits: each one proved by a real sandboxed child.

:func:`detect_isolation` probes once per process (thread-safe).  Fast path: beside the subreaper
probe, one sandboxed child checks every other layer at once (what the separate probes check, the
same way); only when either fails are the layers probed one by one (:data:`_GROUPS`, in dependency
order, independent layers side by side), so the platform still gets the strongest set it permits.
A failing probe only disables its layer, with the reason in ``IsolationInfo.unavailable``.  As
root the first probe creates the uid pool's users (:mod:`grader.sandbox.uid_pool`).
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import cgroups, supervisor
from .environment import make_workdir
from .layers import (
    BASE_LAYERS,
    DISABLE_ENV,
    L_CGROUP,
    L_MOUNTNS,
    L_NETNS,
    L_NNP,
    L_PIDNS,
    L_SECCOMP,
    L_SUBREAPER,
    IsolationInfo,
)
from .limits import SandboxLimits
from .supervisor import SandboxRun
from .trampoline import signal_quietly
from .uid_pool import with_pool_uid

_DETECT_LOCK = threading.Lock()
_DETECTED: IsolationInfo | None = None


def detect_isolation(refresh: bool = False) -> IsolationInfo:
    """Probe (once per process; thread-safe) which isolation layers this platform permits.

    Each optional layer is verified by running a real sandboxed child.  As root this
    creates the pool users ``w2vsandbox``.. (useradd) if missing.  Returns a copy.
    """
    global _DETECTED
    with _DETECT_LOCK:
        if _DETECTED is None or refresh:
            _DETECTED = _probe_all()
        return copy.deepcopy(_DETECTED)


def detect_isolation_in_background() -> None:
    """Start :func:`detect_isolation` in a daemon thread: its probe children run while the caller imports."""
    threading.Thread(target=detect_isolation, daemon=True, name="w2v-isolation-probe").start()


def _probe_all() -> IsolationInfo:
    """Probe every optional layer: the fast path, or layer by layer (independent layers at once).

    Fast path (no layer disabled): the subreaper probe and one child that checks every other layer
    at once run side by side.  When either fails, the layers are probed one by one in dependency
    order (:data:`_GROUPS`): each probe on top of the layers that passed before it, the probes of one
    group side by side; the platform still gets the strongest set it permits.
    """
    info = IsolationInfo(layers=list(BASE_LAYERS), unavailable={})
    disabled = {x.strip() for x in os.environ.get(DISABLE_ENV, "").split(",") if x.strip()}
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="w2v-probe") as pool:
        subreaper = pool.submit(_probe_subreaper, info) if L_SUBREAPER not in disabled else None
        every = _probe_every_layer(info) if not disabled else None
        first = subreaper.result() if subreaper is not None else f"disabled by {DISABLE_ENV}"
    if isinstance(first, str):
        info.unavailable[L_SUBREAPER] = first
    else:
        info = first
        if every is not None:
            every.layers.sort(key=_canonical_position)
            return every
    for group in _GROUPS:
        info = _probe_group(info, group, disabled)
    info.layers.sort(key=_canonical_position)
    return info


def _canonical_position(layer: str) -> int:
    """Where ``layer`` goes in ``IsolationInfo.layers``: base layers, then the fast path's order."""
    name = "uid" if layer.startswith("uid:") else layer
    return _ORDER.index(name) if name in _ORDER else -1


def _probe_group(info: IsolationInfo, group: Sequence[str], disabled: set[str]) -> IsolationInfo:
    """Probe the layers of ``group`` side by side, each on top of ``info``; ``info`` plus those that passed."""
    names = [name for name in group if name not in disabled]
    for name in group:
        if name in disabled:
            info.unavailable[name] = f"disabled by {DISABLE_ENV}"
    if not names:
        return info
    with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="w2v-probe") as pool:
        results = list(pool.map(lambda name: _PROBE_OF[name](info), names))
    merged = copy.deepcopy(info)
    for name, result in zip(names, results):
        if isinstance(result, str):
            merged.unavailable[name] = result
            continue
        merged.layers.extend(layer for layer in result.layers if layer not in merged.layers)
        if result.uid is not None:
            merged.uid, merged.gid = result.uid, result.gid
    if L_SECCOMP in merged.layers and L_NNP in merged.unavailable and os.geteuid() != 0:
        merged.unavailable[L_SECCOMP] = "requires no_new_privs (not running as root)"
    merged.layers = [layer for layer in merged.layers if layer not in merged.unavailable]
    return merged


def _probe_run(info: IsolationInfo, code: str, hide: Sequence[Path] = ()) -> SandboxRun | str:
    """Run ``python -c code`` with exactly ``info``'s layers; a str is a failure reason."""
    workdir = make_workdir("w2v-probe-")
    try:
        return supervisor.run(argv=[sys.executable, "-I", "-c", code], workdir=workdir,
                              limits=SandboxLimits(wall_seconds=30.0), info=info, env=None,
                              readable_paths=(), hide_paths=hide, on_control_line=None, on_spawn=None)
    except Exception as exc:  # noqa: BLE001 - a failing probe only disables its layer
        return f"probe failed: {type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _expect(info: IsolationInfo, layer_info: IsolationInfo, code: str, want: str,
            hide: Sequence[Path] = ()) -> IsolationInfo | str:
    """Return ``layer_info`` if the probe prints ``want``, else a reason."""
    run = _probe_run(layer_info, code, hide)
    if isinstance(run, str):
        return run
    got = run.stdout.strip()
    if run.returncode == 0 and got == want:
        return layer_info
    tail = run.stderr.strip().splitlines()[-1:] or [""]
    return f"probe failed: rc={run.returncode} sig={run.signal} out={got!r} err={tail[0]!r}"


def _probe_every_layer(info: IsolationInfo) -> IsolationInfo | None:
    """Every optional layer but the subreaper verified by one child, or None (probe them one by one).

    The child checks what the separate probes check, the same way: it is pid 2 of its own pid
    namespace, a hidden directory is invisible, a host port is unreachable and only ``lo`` exists, it
    runs as a pool user without groups under no_new_privs, unshare and ptrace fail with EPERM while
    threads and fork work (seccomp), and it is in its run's cgroup (when this platform has them).
    """
    candidate = with_pool_uid(info.with_layer(L_SUBREAPER).with_layer(L_PIDNS).with_layer(L_MOUNTNS)
                              .with_layer(L_NETNS))
    if isinstance(candidate, str):
        return None
    candidate = candidate.with_layer(L_NNP).with_layer(L_SECCOMP)
    in_cgroup = "True"
    reason = cgroups.unavailable_reason()
    if reason is None:
        candidate = candidate.with_layer(L_CGROUP)
        in_cgroup = _IN_RUN_CGROUP
    else:
        candidate.unavailable[L_CGROUP] = reason
    hidden = Path(tempfile.mkdtemp(prefix="w2v-probe-hide-"))
    try:
        secret = hidden / "secret"
        secret.write_text("x")
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]
            code = (f"import ctypes, os, socket, threading; s = socket.socket(); s.settimeout(3)\n"
                    f"try:\n s.connect(('127.0.0.1', {port})); net = 'CONNECTED'\nexcept OSError:\n net = 'BLOCKED'\n"
                    "nnp = [l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0]\n"
                    f"{_SECCOMP_CHECK}"
                    f"print([os.getpid(), os.path.exists({str(secret)!r}), "
                    "sum(p.isdigit() for p in os.listdir('/proc')) <= 3, os.path.isdir(os.getcwd()), net, "
                    "[n for _, n in socket.if_nameindex()], os.getuid() != 0, os.getgid() != 0, os.getgroups(), nnp, "
                    f"seccomp, {in_cgroup}])")
            want = "[2, False, True, True, 'BLOCKED', ['lo'], True, True, [], '1', '-1 1 -1 1', True]"
            result = _expect(info, candidate, code, want, [hidden])
        if isinstance(result, str) or str(hidden) in Path("/proc/self/mountinfo").read_text():
            return None
        return result
    finally:
        shutil.rmtree(hidden, ignore_errors=True)


def _probe_subreaper(info: IsolationInfo) -> IsolationInfo | str:
    """An orphaned ``setsid`` grandchild must be gone when the run returns."""
    code = ("import os, sys, time\nr, w = os.pipe()\nif os.fork() == 0:\n os.setsid()\n if os.fork() == 0:\n"
            "  print(os.getpid(), flush=True); os.write(w, b'x'); time.sleep(60)\n os._exit(0)\n"
            "os.read(r, 1)")
    run = _probe_run(info.with_layer(L_SUBREAPER), code)
    if isinstance(run, str):
        return run
    orphan = run.stdout.strip()
    if run.returncode != 0 or not orphan.isdigit():
        return f"probe failed: rc={run.returncode} out={orphan!r} err={run.stderr_tail[-200:]!r}"
    if os.path.exists(f"/proc/{orphan}"):
        signal_quietly(int(orphan), signal.SIGKILL, group=False)
        return "probe failed: the orphaned grandchild survived the run"
    return info.with_layer(L_SUBREAPER)


def _probe_pidns(info: IsolationInfo) -> IsolationInfo | str:
    """Worker must be pid 2 (init is 1) of a fresh pid namespace."""
    return _expect(info, info.with_layer(L_PIDNS), "import os; print(os.getpid())", "2")


def _probe_mountns(info: IsolationInfo) -> IsolationInfo | str:
    """Hidden dir invisible, /proc private, host mount table untouched."""
    if not info.has(L_PIDNS):
        return "requires pidns (for a private /proc)"
    hidden = Path(tempfile.mkdtemp(prefix="w2v-probe-hide-"))
    try:
        secret = hidden / "secret"
        secret.write_text("x")
        code = (f"import os; s={str(secret)!r}; n=sum(p.isdigit() for p in os.listdir('/proc'));"
                "print(os.path.exists(s), n <= 3, os.path.isdir(os.getcwd()))")
        result = _expect(info, info.with_layer(L_MOUNTNS), code, "False True True", [hidden])
        if str(hidden) in Path("/proc/self/mountinfo").read_text():
            return "probe failed: a sandbox mount leaked into the host mount namespace"
        return result
    finally:
        shutil.rmtree(hidden, ignore_errors=True)


def _probe_netns(info: IsolationInfo) -> IsolationInfo | str:
    """A connect to a listening host port on 127.0.0.1 must fail; only ``lo`` exists."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        code = ("import socket; s=socket.socket(); s.settimeout(3)\n"
                f"try:\n s.connect(('127.0.0.1', {port})); print('CONNECTED')\n"
                "except OSError:\n print('BLOCKED', [n for _, n in socket.if_nameindex()])")
        return _expect(info, info.with_layer(L_NETNS), code, "BLOCKED ['lo']")


def _probe_uid(info: IsolationInfo) -> IsolationInfo | str:
    """Worker must run as a pool user, without groups, and reach the interpreter."""
    cand = with_pool_uid(info)
    if isinstance(cand, str):
        return cand
    code = "import os; print(os.getuid() != 0, os.getgid() != 0, os.getgroups())"
    return _expect(info, cand, code, "True True []")


def _probe_nnp(info: IsolationInfo) -> IsolationInfo | str:
    """/proc/self/status must show NoNewPrivs: 1."""
    code = "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0])"
    return _expect(info, info.with_layer(L_NNP), code, "1")


_SECCOMP_CHECK = ("libc = ctypes.CDLL(None, use_errno=True)\n"
                  "a = libc.unshare(0x10000000); ea = ctypes.get_errno()\n"
                  "b = libc.ptrace(0, 0, None, None); eb = ctypes.get_errno()\n"
                  "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
                  "pid = os.fork()\nif pid == 0:\n os._exit(0)\nos.waitpid(pid, 0)\nseccomp = f'{a} {ea} {b} {eb}'\n")
"""Python that sets ``seccomp`` to "-1 1 -1 1" when unshare and ptrace fail with EPERM and threads and fork work."""


_IN_RUN_CGROUP = f"any({cgroups.PARENT_NAME + '/run-'!r} in line for line in open('/proc/self/cgroup'))"
"""A Python expression that is True in a process that is in its run's own cgroup(s)."""


def _probe_seccomp(info: IsolationInfo) -> IsolationInfo | str:
    """With the filter loaded, unshare and ptrace must fail with EPERM while threads and fork still
    work.  Not as root, the filter needs no_new_privs: then it is probed under it."""
    code = f"import ctypes, os, threading\n{_SECCOMP_CHECK}print(seccomp)"
    under = info if info.has(L_NNP) or os.geteuid() == 0 else info.with_layer(L_NNP)
    return _expect(info, under.with_layer(L_SECCOMP), code, "-1 1 -1 1")


def _probe_cgroup(info: IsolationInfo) -> IsolationInfo | str:
    """The worker must find itself in its run's own cgroup(s)."""
    reason = cgroups.unavailable_reason()
    if reason is not None:
        return reason
    return _expect(info, info.with_layer(L_CGROUP), f"print({_IN_RUN_CGROUP})", "True")


_PROBE_OF: dict[str, Callable[[IsolationInfo], IsolationInfo | str]] = {
    L_PIDNS: _probe_pidns, L_NETNS: _probe_netns, L_NNP: _probe_nnp, L_CGROUP: _probe_cgroup,
    L_MOUNTNS: _probe_mountns, L_SECCOMP: _probe_seccomp, "uid": _probe_uid,
}
_ORDER = (L_SUBREAPER, L_PIDNS, L_MOUNTNS, L_NETNS, "uid", L_NNP, L_SECCOMP, L_CGROUP)
"""The optional layers in the order every path lists them."""
_GROUPS: tuple[tuple[str, ...], ...] = ((L_PIDNS, L_NETNS, L_NNP, L_SECCOMP, L_CGROUP), (L_MOUNTNS,), ("uid",))
"""The layer-by-layer probes after the subreaper's, in dependency order: mountns needs pidns (a private
/proc) and uid is probed with mountns active (which may be what makes the interpreter reachable for
the sandbox user); not as root, seccomp is probed under no_new_privs and kept only if that passed too.
The probes of one group run side by side."""
