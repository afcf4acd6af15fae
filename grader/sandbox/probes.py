"""Which optional isolation layers this platform permits: each one proved by a real sandboxed child.

:func:`detect_isolation` probes once per process (thread-safe).  Fast path: after the subreaper
probe, one sandboxed child checks pidns, mountns, netns, uid and no_new_privs at once (what the
separate probes check, the same way); only when that child fails are the layers probed one by one
(:data:`_PROBES`, in dependency order), so the platform still gets the strongest set it permits.
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
    """Run the layer probes in dependency order.

    Fast path: after the subreaper probe, one sandboxed child checks every remaining layer at
    once (what the separate probes check, the same way); only when that child fails are the
    layers probed one by one, so the platform still gets the strongest set it permits.
    """
    info = IsolationInfo(layers=list(BASE_LAYERS), unavailable={})
    disabled = {x.strip() for x in os.environ.get(DISABLE_ENV, "").split(",") if x.strip()}
    probes = list(_PROBES)
    if not disabled:
        first = _probe_subreaper(info)
        if isinstance(first, str):
            info.unavailable[L_SUBREAPER] = first
        else:
            info = first
        probes = probes[1:]
        combined = _probe_combined(info)
        if combined is not None:
            probes, info = list(_EXTRA_PROBES), combined
    for name, probe in probes:
        if name in disabled:
            info.unavailable[name] = f"disabled by {DISABLE_ENV}"
            continue
        result = probe(info)
        if isinstance(result, str):
            info.unavailable[name] = result
        else:
            info = result
    return info


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


def _probe_combined(info: IsolationInfo) -> IsolationInfo | None:
    """pidns + mountns + netns + uid + no_new_privs verified by one child, or None (probe them one by one)."""
    candidate = with_pool_uid(info.with_layer(L_PIDNS).with_layer(L_MOUNTNS).with_layer(L_NETNS))
    if isinstance(candidate, str):
        return None
    candidate = candidate.with_layer(L_NNP)
    hidden = Path(tempfile.mkdtemp(prefix="w2v-probe-hide-"))
    try:
        secret = hidden / "secret"
        secret.write_text("x")
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]
            code = (f"import os, socket; s = socket.socket(); s.settimeout(3)\n"
                    f"try:\n s.connect(('127.0.0.1', {port})); net = 'CONNECTED'\nexcept OSError:\n net = 'BLOCKED'\n"
                    "nnp = [l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0]\n"
                    f"print([os.getpid(), os.path.exists({str(secret)!r}), "
                    "sum(p.isdigit() for p in os.listdir('/proc')) <= 3, os.path.isdir(os.getcwd()), net, "
                    "[n for _, n in socket.if_nameindex()], os.getuid() != 0, os.getgid() != 0, os.getgroups(), nnp])")
            want = "[2, False, True, True, 'BLOCKED', ['lo'], True, True, [], '1']"
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


def _probe_seccomp(info: IsolationInfo) -> IsolationInfo | str:
    """With the filter loaded, unshare and ptrace must fail with EPERM while threads and fork still work."""
    code = ("import ctypes, os, threading\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "a = libc.unshare(0x10000000); ea = ctypes.get_errno()\n"
            "b = libc.ptrace(0, 0, None, None); eb = ctypes.get_errno()\n"
            "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
            "pid = os.fork()\nif pid == 0:\n os._exit(0)\nos.waitpid(pid, 0)\nprint(a, ea, b, eb)")
    return _expect(info, info.with_layer(L_SECCOMP), code, "-1 1 -1 1")


def _probe_cgroup(info: IsolationInfo) -> IsolationInfo | str:
    """The worker must find itself in its run's own cgroup(s)."""
    reason = cgroups.unavailable_reason()
    if reason is not None:
        return reason
    code = f"print(any({cgroups.PARENT_NAME + '/run-'!r} in line for line in open('/proc/self/cgroup')))"
    return _expect(info, info.with_layer(L_CGROUP), code, "True")


_EXTRA_PROBES: list[tuple[str, Callable[[IsolationInfo], IsolationInfo | str]]] = [
    (L_SECCOMP, _probe_seccomp), (L_CGROUP, _probe_cgroup),
]
"""Probed after the others, also on the fast path (the combined child does not check them)."""

_PROBES: list[tuple[str, Callable[[IsolationInfo], IsolationInfo | str]]] = [
    (L_SUBREAPER, _probe_subreaper), (L_PIDNS, _probe_pidns), (L_MOUNTNS, _probe_mountns),
    (L_NETNS, _probe_netns), ("uid", _probe_uid), (L_NNP, _probe_nnp), *_EXTRA_PROBES,
]
"""Probes in dependency order (mountns needs pidns; uid is probed with mountns active,
which may be what makes the interpreter reachable for the sandbox user)."""
