"""Run a command on untrusted code in a separate, resource-limited, isolated process.

Process tree when every layer is available (root on Linux)::

    caller (grader)
     └─ trampoline   root; own session + process group; subreaper; unshare(NET|NS|PID)
         └─ init     root; pid 1 of the new pid namespace; sets up mounts, reaps
             └─ worker  leased sandbox uid, rlimits, no_new_privs; execs ``argv``

The trampoline is this very file run as a script (``python -I -S sandbox.py run``);
it reads its configuration from an environment variable that it removes before the
worker starts.  Only the worker ever runs untrusted code.  The trampoline dies with
the calling thread's process (PR_SET_PDEATHSIG), and the run with it.

What is guaranteed, by layer (``IsolationInfo.layers`` says which are active):

``rlimits`` (always)
    The worker (and everything it forks) gets RLIMIT_CPU (per process: SIGXCPU at the
    soft limit, SIGKILL a second later), RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_CORE=0,
    RLIMIT_NOFILE, and RLIMIT_NPROC with a dedicated uid (root ignores NPROC).
``process_group`` (always)
    The trampoline starts a new session; at the end the whole process group is
    SIGKILLed.  On its own this cannot catch descendants that call ``setsid()``.
``fresh_tmpdir`` (always)
    HOME, TMPDIR and MPLCONFIGDIR point inside ``workdir``.
``subreaper``
    Orphans (``setsid`` daemons included) are re-parented to the trampoline, which
    SIGKILLs and reaps all of them when the worker exits or the run is stopped, so
    they cannot outlive the run and their CPU time is counted.  Works unprivileged.
``pidns``
    The worker lives in its own pid namespace under a trusted init.  When the worker
    exits, or the run is stopped, init SIGKILLs everything in the namespace and reaps
    it (CPU time counted) before ``run_sandboxed`` returns; if init itself dies the
    kernel kills the namespace.  The worker cannot see or signal outside processes.
``uid:<name>``
    The worker runs as an unprivileged user with no supplementary groups; it can read
    only what "others" may read, and ``workdir`` is chowned to it.  Each run leases
    its own user from a pool (``w2vsandbox``, ``w2vsandbox1`` .. created on first use;
    else the shared ``nobody``), so concurrent runs neither share RLIMIT_NPROC nor can
    touch each other.  Without ``pidns`` every process of the leased user is also
    SIGKILLed at the end (kill-all fallback; never done for ``nobody``).
``no_new_privs``
    PR_SET_NO_NEW_PRIVS: setuid binaries cannot raise privileges.
``netns``
    Empty network namespace: only a down loopback, so every connect fails (also to
    127.0.0.1 services of the host).
``mountns``
    Private mount namespace (needs ``pidns``): fresh /proc showing only sandbox
    processes; empty read-only tmpfs over /root, /home and ``hide_paths``; empty
    writable tmpfs over /tmp and /dev/shm.  ``workdir``, ``readable_paths`` and the
    interpreter are bind-mounted back ("holes"), and any ancestor of those that the
    sandbox uid could not search is masked the same way, so no permissions of the
    host have to be loosened.  Nothing propagates to the host's mount table.

Each optional layer is probed once (``detect_isolation``) by running a tiny sandboxed
child, and skipped with a reason in ``unavailable`` if the probe fails.  A layer that
passed its probe but fails to set up for a run makes that run raise ``SandboxError``
(the untrusted command is then never executed).  ``W2V_SANDBOX_DISABLE=netns,pidns``
switches layers off.  No cgroup is used (see ``unavailable["cgroup"]``).

Permissions: callers protect grader sources and reference data with
``ensure_unreadable`` (removes o+rwx, root only) and/or ``hide_paths`` (mountns).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import resource
import signal
import sys
import time
import types
from collections.abc import Callable

CONTROL_FD = 3
"""File descriptor number of the control pipe inside the worker (``W2V_CONTROL_FD``)."""
SANDBOX_USER = "w2vsandbox"
UID_POOL_SIZE = 16
"""Users ``w2vsandbox``, ``w2vsandbox1`` .. ``w2vsandbox15``: one per concurrent run (a grading uses up to 3)."""
DISABLE_ENV = "W2V_SANDBOX_DISABLE"

L_RLIMITS, L_PGROUP, L_TMPDIR = "rlimits", "process_group", "fresh_tmpdir"
L_PIDNS, L_MOUNTNS, L_NETNS, L_NNP = "pidns", "mountns", "netns", "no_new_privs"
L_SUBREAPER = "subreaper"
BASE_LAYERS = (L_RLIMITS, L_PGROUP, L_TMPDIR)

_STATUS_FD = 4
_CFG_ENV = "_W2V_SANDBOX_CONFIG"
_SELF = os.path.realpath(__file__)
_CHUNK = 1 << 16
_TAIL_BYTES = 8192
_MAX_CONTROL_LINE = 8192
_STATUS_CAP = 1 << 16
_STOP_GRACE = 2.0
_CPU_PERIOD = 0.25  # seconds between reads of a run's CPU time for the per-call CPU limit
_DRAIN_GRACE = 1.0
_REAP_TIMEOUT = 5.0
_SETUP_FAILED = 125

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36


# --------------------------------------------------------------------------- trampoline
# This section runs in the trampoline / init / worker processes (as root until the worker
# drops privileges).  It comes first and uses only cheap standard-library modules: when
# this file runs as a script it stops at the ``__main__`` block below, which keeps the
# per-run start-up cost low.  No imports from the package.

_status_fd_now = -1


def _report(message: str) -> None:
    """Write one status line for the parent (never raises)."""
    try:
        os.write(_status_fd_now, (message.replace("\n", " ") + "\n").encode())
    except OSError:
        pass


def _libc():
    """ctypes handle on the C library (errno-aware)."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    """Raise OSError with errno if a libc call returned -1."""
    if result != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enc(text: str | None) -> bytes | None:
    """Encode an optional path/string for a C call."""
    return None if text is None else os.fsencode(text)


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    """mount(2) via ctypes."""
    import ctypes

    libc = _libc()
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                           ctypes.c_ulong, ctypes.c_char_p]
    _check(libc.mount(_enc(source), _enc(target), _enc(fstype), flags, _enc(data)),
           f"mount {target}")


def _prctl(option: int, arg: int) -> None:
    """prctl(2) with one argument."""
    import ctypes

    libc = _libc()
    _check(libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0),
                      ctypes.c_ulong(0)), f"prctl {option}")


class _Stopper:
    """SIGTERM handler shared by trampoline and init: run the armed kill action.

    The Python-level handler survives ``fork``, so a request that arrives before the
    child armed its own action is remembered (``requested``) and fired on ``arm``.
    """

    def __init__(self) -> None:
        self.action: Callable[[], None] | None = None
        self.requested = False

    def handle(self, _signum: int, _frame: object) -> None:
        """Signal handler: remember the request and act on it."""
        self.requested = True
        if self.action is not None:
            self.action()

    def arm(self, action: Callable[[], None]) -> None:
        """Set the kill action; fire it at once if a stop was already requested."""
        self.action = action
        if self.requested:
            action()


_STOPPER = _Stopper()


def _kill_namespace() -> None:
    """From pid 1: SIGKILL every other process of the pid namespace (atomic w.r.t. fork)."""
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _install_fds(control: int, status: int) -> None:
    """Move the control pipe to fd 3 and the status pipe to fd 4."""
    global _status_fd_now
    high_c = fcntl.fcntl(control, fcntl.F_DUPFD, 10)
    high_s = fcntl.fcntl(status, fcntl.F_DUPFD, 10)
    os.close(control)
    os.close(status)
    os.dup2(high_c, CONTROL_FD)
    os.dup2(high_s, _STATUS_FD)
    os.close(high_c)
    os.close(high_s)
    _status_fd_now = _STATUS_FD


def _trampoline_main(args: list[str]) -> int:
    """Entry point of ``python -I -S sandbox.py run|killall UID``."""
    global _status_fd_now
    if len(args) == 2 and args[0] == "killall":
        return _killall_main(int(args[1]))
    cfg = types.SimpleNamespace(**json.loads(os.environ.pop(_CFG_ENV)))
    _status_fd_now = cfg.status_fd
    signal.signal(signal.SIGTERM, _STOPPER.handle)
    try:
        _install_fds(cfg.control_fd, cfg.status_fd)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # caller gone → we (and the run) go too
        if os.getppid() != cfg.parent_pid:
            return _SETUP_FAILED
        if cfg.subreaper:
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
        flags = ((CLONE_NEWNET if cfg.netns else 0) | (CLONE_NEWPID if cfg.pidns else 0)
                 | (CLONE_NEWNS if cfg.mountns else 0))
        if flags:
            _check(_libc().unshare(flags), "unshare")
        cfg.trampoline_pid = os.getpid()
        child = os.fork()
    except Exception as exc:  # noqa: BLE001 - report anything, run nothing
        _report(f"SETUPFAIL trampoline: {exc!r}")
        return _SETUP_FAILED
    if child == 0:
        _child_entry(cfg)
    # pidns: ask init to kill and reap the namespace (keeps CPU accounting); else kill the worker
    stop_sig = signal.SIGTERM if cfg.pidns else signal.SIGKILL
    _STOPPER.arm(lambda: _signal_quietly(child, stop_sig, group=False))
    status = _wait_for(child)
    if cfg.pidns:
        return 0  # init reported the worker and killed/reaped the namespace
    if status is not None:
        _report(f"WORKER {status}")
    if cfg.subreaper:
        _kill_descendants()  # host /proc here: mountns implies pidns
    return 0


def _wait_for(child: int) -> int | None:
    """Reap children (orphans too, as subreaper) until ``child`` is reaped; its raw status."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return None
        if pid == child:
            return status


def _read(path: str) -> str:
    """Small text file contents."""
    with open(path) as handle:
        return handle.read()


def _children() -> list[int]:
    """Pids of this process's children (from /proc)."""
    me = os.getpid()
    try:
        return [int(x) for x in _read(f"/proc/{me}/task/{me}/children").split()]
    except OSError:
        pass
    kids = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(_read(f"/proc/{entry}/stat").rsplit(")", 1)[1].split()[1]) == me:
                kids.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return kids


def _kill_descendants(timeout: float = 5.0) -> None:
    """As subreaper: SIGKILL and reap children until none is left (orphans keep arriving
    as their parents die, so re-list every round)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for kid in _children():
            _signal_quietly(kid, signal.SIGKILL, group=False)
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.002)


def _child_entry(cfg: _Config) -> None:
    """First child of the trampoline: init (pidns) or directly the worker. Never returns."""
    try:
        if cfg.pidns:
            _init_main(cfg)
        else:
            _exec_worker(cfg)
    except BaseException as exc:  # noqa: BLE001
        _report(f"SETUPFAIL child: {exc!r}")
    os._exit(_SETUP_FAILED)


def _init_main(cfg: _Config) -> None:
    """pid 1: mounts, start the worker, reap everything; when the worker is gone (or a
    stop is requested) SIGKILL the rest and reap it too, so all CPU time is accounted."""
    _STOPPER.arm(_kill_namespace)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.umask(0o022)
    if cfg.mountns:
        _apply_mounts(cfg.mounts)
    worker = os.fork()
    if worker == 0:
        _exec_worker(cfg)
    if _STOPPER.requested:  # stop arrived before the worker existed
        _kill_namespace()
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        if pid == worker:
            _report(f"WORKER {status}")
            _kill_namespace()


def _apply_mounts(plan: list[dict]) -> None:
    """Make mounts private, mount a fresh /proc, then apply the masks in order."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for mask in plan:
        _apply_mask(mask)


def _apply_mask(mask: dict) -> None:
    """Cover one path (tmpfs or /dev/null) and bind its holes back in."""
    path = mask["path"]
    if not mask["is_dir"]:
        _mount("/dev/null", path, None, MS_BIND)
        return
    holes = [(h, is_dir, os.open(h, os.O_PATH | os.O_CLOEXEC)) for h, is_dir in mask["holes"]]
    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, mask["opts"])
    for hole, is_dir, fd in holes:
        os.makedirs(os.path.dirname(hole), mode=0o755, exist_ok=True)
        if is_dir:
            os.mkdir(hole, 0o755)
        else:
            os.close(os.open(hole, os.O_CREAT | os.O_WRONLY, 0o644))
        _mount(f"/proc/self/fd/{fd}", hole, None, MS_BIND | MS_REC)
        os.close(fd)
    if not mask["rw"]:
        _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _exec_worker(cfg: _Config) -> None:
    """Drop into the sandbox and exec argv. Never returns."""
    try:
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        os.chdir(cfg.workdir)
        for res, soft, hard in cfg.rlimits:
            resource.setrlimit(res, (soft, hard))
        if cfg.uid is not None:
            gid = cfg.gid if cfg.gid is not None else cfg.uid
            os.setgroups([])
            os.setgid(gid)
            os.setuid(cfg.uid)
            if (os.getresuid() != (cfg.uid,) * 3 or os.getresgid() != (gid,) * 3
                    or os.getgroups()):
                raise OSError(errno.EPERM, "uid/gid switch did not take effect")
        if cfg.nnp:
            _prctl(PR_SET_NO_NEW_PRIVS, 1)
        if not cfg.pidns:  # best effort: the worker itself dies with the trampoline
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != cfg.trampoline_pid:
                os._exit(_SETUP_FAILED)
    except BaseException as exc:  # noqa: BLE001
        _report(f"SETUPFAIL worker: {exc!r}")
        os._exit(_SETUP_FAILED)
    os.closerange(_STATUS_FD, 1 << 20)
    try:
        os.execvp(cfg.argv[0], cfg.argv)
    except OSError as exc:
        os.write(2, f"sandbox: cannot execute {cfg.argv[0]!r}: {exc}\n".encode())
    os._exit(127)


def _killall_main(uid: int) -> int:
    """Become ``uid`` and SIGKILL all its processes (kill(-1) is atomic w.r.t. fork)."""
    if uid == 0:
        return 2
    os.setgroups([])
    os.setuid(uid)
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return 0


def _signal_quietly(pid: int, sig: int, *, group: bool) -> None:
    """kill/killpg ignoring 'no such process' and permission errors."""
    try:
        (os.killpg if group else os.kill)(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


if __name__ == "__main__":
    sys.exit(_trampoline_main(sys.argv[1:]))


# --------------------------------------------------------------------------- parent side
# Heavier imports only from here on: the trampoline never gets this far.
import contextlib  # noqa: E402
import copy  # noqa: E402
import dataclasses  # noqa: E402
import pwd  # noqa: E402
import selectors  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from collections.abc import Iterable, Iterator, Sequence  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

from grader.proc_tree import tree_cpu_seconds  # noqa: E402

_LOCK_DIR = Path("/run/w2v-sandbox") if Path("/run").is_dir() else Path("/tmp/w2v-sandbox-locks")


# --------------------------------------------------------------------------- API types


@dataclass
class SandboxLimits:
    """Resource limits of one run (all enforced by the kernel except the wall/idle clocks)."""

    wall_seconds: float = 60.0
    cpu_seconds: int = 60
    memory_bytes: int = 2 * 1024**3
    file_size_bytes: int = 64 * 1024**2
    max_processes: int = 64
    output_bytes: int = 64 * 1024
    idle_seconds: float | None = None
    """Wall seconds without a control line (a heartbeat) before the run is stopped."""
    idle_cpu_seconds: float | None = None
    """CPU seconds (of the whole process tree, read from /proc) without a control line before the run
    is stopped: unlike ``idle_seconds``, a busy machine cannot make a call hit it."""
    control_bytes: int = 1024**2
    """Cap on stored control-channel bytes; later lines still count as heartbeats."""
    open_files: int = 256
    tmpfs_bytes: int = 64 * 1024**2
    """Size of the private /tmp and /dev/shm (mountns only)."""


@dataclass
class IsolationInfo:
    """Isolation layers active for a run (or available on this platform)."""

    layers: list[str]
    unavailable: dict[str, str]
    uid: int | None = None
    gid: int | None = None

    def has(self, layer: str) -> bool:
        """True if ``layer`` is active; ``"uid"`` matches any ``uid:<name>`` layer."""
        if layer == "uid":
            return self.uid_layer is not None
        return layer in self.layers

    @property
    def uid_layer(self) -> str | None:
        """The ``uid:<name>`` layer name, if any."""
        return next((name for name in self.layers if name.startswith("uid:")), None)

    def with_layer(self, layer: str, **changes: int | None) -> IsolationInfo:
        """Copy with ``layer`` added (and e.g. ``uid``/``gid`` set)."""
        new = copy.deepcopy(self)
        new.layers.append(layer)
        for key, value in changes.items():
            setattr(new, key, value)
        return new


@dataclass
class SandboxRun:
    """Outcome of ``run_sandboxed``."""

    returncode: int | None
    """Worker exit status; None when it was terminated by a signal (see ``signal``)."""
    signal: int | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    timed_out: bool
    limit_hit: str | None
    cpu_seconds: float
    wall_seconds: float
    max_rss_kb: int
    control_messages: list[str]
    isolation: IsolationInfo
    killed_by: str | None = None
    """"wall_time", "idle" or "control" when we stopped the run, else None."""
    control_truncated: bool = False
    warnings: list[str] = field(default_factory=list)
    stderr_tail: str = ""
    """Last 8 KiB of stderr (also when ``stderr`` was truncated): where tracebacks are."""


class SandboxError(RuntimeError):
    """The sandbox itself could not be set up; the untrusted command did not run."""


# --------------------------------------------------------------------------- helpers (public)


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


# --------------------------------------------------------------------------- detection


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
            probes, info = [], combined
    for name, probe in probes:
        if name in disabled:
            info.unavailable[name] = f"disabled by {DISABLE_ENV}"
            continue
        result = probe(info)
        if isinstance(result, str):
            info.unavailable[name] = result
        else:
            info = result
    info.unavailable["cgroup"] = _cgroup_note()
    return info


def _cgroup_note() -> str:
    """Why no cgroup is used."""
    if not Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return ("cgroup v2 not mounted (legacy v1 hierarchy managed by the host); "
                "not used: pidns/uid kill-all and rlimits cover kill-all and limits")
    return "not implemented: pidns/uid kill-all and rlimits cover kill-all and limits"


def _probe_run(info: IsolationInfo, code: str, hide: Sequence[Path] = ()) -> SandboxRun | str:
    """Run ``python -c code`` with exactly ``info``'s layers; a str is a failure reason."""
    workdir = make_workdir("w2v-probe-")
    try:
        return _run(argv=[sys.executable, "-I", "-c", code], workdir=workdir,
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
    candidate = _with_pool_uid(info.with_layer(L_PIDNS).with_layer(L_MOUNTNS).with_layer(L_NETNS))
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
        _signal_quietly(int(orphan), signal.SIGKILL, group=False)
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
    cand = _with_pool_uid(info)
    if isinstance(cand, str):
        return cand
    code = "import os; print(os.getuid() != 0, os.getgid() != 0, os.getgroups())"
    return _expect(info, cand, code, "True True []")


def _with_pool_uid(info: IsolationInfo) -> IsolationInfo | str:
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


def _probe_nnp(info: IsolationInfo) -> IsolationInfo | str:
    """/proc/self/status must show NoNewPrivs: 1."""
    code = "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0])"
    return _expect(info, info.with_layer(L_NNP), code, "1")


_PROBES: list[tuple[str, Callable[[IsolationInfo], IsolationInfo | str]]] = [
    (L_SUBREAPER, _probe_subreaper), (L_PIDNS, _probe_pidns), (L_MOUNTNS, _probe_mountns),
    (L_NETNS, _probe_netns), ("uid", _probe_uid), (L_NNP, _probe_nnp),
]
"""Probes in dependency order (mountns needs pidns; uid is probed with mountns active,
which may be what makes the interpreter reachable for the sandbox user)."""


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


_UID_POOL: list[tuple[str, int, int]] = []


@contextlib.contextmanager
def _uid_lease(info: IsolationInfo, wait_seconds: float) -> Iterator[IsolationInfo]:
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


# --------------------------------------------------------------------------- running


def run_sandboxed(argv: list[str], workdir: Path, limits: SandboxLimits, *,
                  env: dict[str, str] | None = None, readable_paths: Sequence[Path] = (),
                  on_control_line: Callable[[str], str | None] | None = None,
                  hide_paths: Sequence[Path] = (),
                  isolation: IsolationInfo | None = None,
                  on_spawn: Callable[[int], None] | None = None) -> SandboxRun:
    """Run ``argv`` in ``workdir`` under the strongest available isolation.

    Contract:
    - ``workdir`` is an existing directory created for this run; with the uid layer
      it is chowned (recursively) to the sandbox user and made mode 0700.
    - stdin is /dev/null; stdout/stderr are each capped at ``limits.output_bytes``
      (the rest is drained and discarded); the control pipe is fd 3 (``W2V_CONTROL_FD``).
    - ``on_control_line(line)`` is called for each control line (in order) and may
      return ``"kill"`` to stop the run at once (``killed_by="control"``).  If it
      raises, the run is killed and the exception propagates.
    - ``readable_paths`` are made readable by the sandbox (o+r / o+rx recursively;
      ancestors get o+x unless ``mountns`` is active, which bind-mounts them instead).
    - ``hide_paths`` are masked by empty tmpfs (``mountns`` only; else ignored with a
      warning); ``workdir``/``readable_paths`` below them stay visible.
    - ``isolation`` restricts the layers (must be a subset of ``detect_isolation()``).
    - ``on_spawn(pid)`` is called once, right after the start, with the host pid of the
      trampoline: the root of the run's process tree.  With ``pidns`` or ``subreaper``
      every process of the run stays its descendant (orphans included) until the run
      ends; the pid stays valid (unreaped) until ``run_sandboxed`` returns.  If it
      raises, the run is killed and the exception propagates.
    - On return no process of the run is alive (see the module docstring for what
      each layer guarantees).  Raises ``SandboxError`` if the sandbox could not be
      set up, ``ValueError`` for bad arguments.  Never raises because of what the
      child does.
    """
    if not argv:
        raise ValueError("argv must not be empty")
    workdir = Path(workdir).resolve()
    if not workdir.is_dir():
        raise ValueError(f"workdir {workdir} is not a directory")
    info = _select_isolation(isolation)
    return _run(argv=list(argv), workdir=workdir, limits=limits, info=info, env=env,
                readable_paths=readable_paths, hide_paths=hide_paths,
                on_control_line=on_control_line, on_spawn=on_spawn)


def _select_isolation(requested: IsolationInfo | None) -> IsolationInfo:
    """Detected layers, or the requested subset of them."""
    detected = detect_isolation()
    if requested is None:
        return detected
    extra = set(requested.layers) - set(detected.layers)
    if extra:
        raise ValueError(f"isolation layers not available here: {sorted(extra)}")
    if L_MOUNTNS in requested.layers and L_PIDNS not in requested.layers:
        raise ValueError("mountns requires pidns")
    layers = list(BASE_LAYERS) + [x for x in requested.layers if x not in BASE_LAYERS]
    has_uid = any(x.startswith("uid:") for x in layers)
    unavailable = dict(detected.unavailable)
    unavailable.update({("uid" if x.startswith("uid:") else x): "not requested"
                        for x in detected.layers if x not in layers})
    return IsolationInfo(layers=layers, unavailable=unavailable,
                         uid=detected.uid if has_uid else None,
                         gid=detected.gid if has_uid else None)


@dataclass
class _Config:
    """Everything the trampoline needs; passed as JSON in ``_CFG_ENV``."""

    argv: list[str]
    workdir: str
    control_fd: int = -1
    status_fd: int = -1
    parent_pid: int = -1
    trampoline_pid: int = -1
    """Set by the trampoline itself before it forks."""
    subreaper: bool = False
    uid: int | None = None
    gid: int | None = None
    netns: bool = False
    pidns: bool = False
    mountns: bool = False
    nnp: bool = False
    rlimits: list[list[int]] = field(default_factory=list)
    mounts: list[dict] = field(default_factory=list)


def _run(*, argv: list[str], workdir: Path, limits: SandboxLimits, info: IsolationInfo,
         env: dict[str, str] | None, readable_paths: Sequence[Path],
         hide_paths: Sequence[Path], on_control_line: Callable[[str], str | None] | None,
         on_spawn: Callable[[int], None] | None) -> SandboxRun:
    """Lease a uid, then prepare, launch and supervise one run."""
    with _uid_lease(info, limits.wall_seconds) as leased:
        return _run_leased(argv=argv, workdir=workdir, limits=limits, info=leased, env=env,
                           readable_paths=readable_paths, hide_paths=hide_paths,
                           on_control_line=on_control_line, on_spawn=on_spawn)


def _run_leased(*, argv: list[str], workdir: Path, limits: SandboxLimits, info: IsolationInfo,
                env: dict[str, str] | None, readable_paths: Sequence[Path],
                hide_paths: Sequence[Path],
                on_control_line: Callable[[str], str | None] | None,
                on_spawn: Callable[[int], None] | None) -> SandboxRun:
    """Prepare files and config for ``info.uid``, then launch and supervise one run."""
    warnings: list[str] = []
    _prepare_workdir(workdir, info)
    readable = [Path(p).resolve() for p in readable_paths]
    mountns = info.has(L_MOUNTNS)
    if info.uid is not None:
        ensure_readable(readable, ancestors=not mountns)
    cfg = _Config(argv=argv, workdir=str(workdir), uid=info.uid, gid=info.gid,
                  parent_pid=os.getpid(), subreaper=info.has(L_SUBREAPER),
                  netns=info.has(L_NETNS), pidns=info.has(L_PIDNS), mountns=mountns,
                  nnp=info.has(L_NNP), rlimits=_rlimits(limits, info.uid is not None))
    if mountns:
        holes = [h for h in (workdir, *readable, *_interpreter_paths(argv)) if h.exists()]
        cfg.mounts = _mount_plan(holes, [Path(p).resolve() for p in hide_paths], info, limits)
    else:
        if hide_paths:
            warnings.append("hide_paths ignored: mountns layer not active")
        if info.uid is not None:
            warnings += _reach_warnings(workdir, argv, info)
    killall = info.uid if (not cfg.pidns and info.uid_layer == f"uid:{SANDBOX_USER}") else None
    if killall is not None:
        _kill_uid(killall)  # leftovers of an earlier run that died with its parent
    return _execute(cfg, _build_env(workdir, env), limits, info, on_control_line, on_spawn,
                    killall, warnings)


def _prepare_workdir(workdir: Path, info: IsolationInfo) -> None:
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


def _rlimits(limits: SandboxLimits, with_nproc: bool) -> list[list[int]]:
    """[resource, soft, hard] triples for the worker."""
    cpu = max(1, int(limits.cpu_seconds))
    out = [[resource.RLIMIT_CPU, cpu, cpu + 1],
           [resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes],
           [resource.RLIMIT_FSIZE, limits.file_size_bytes, limits.file_size_bytes],
           [resource.RLIMIT_CORE, 0, 0],
           [resource.RLIMIT_NOFILE, limits.open_files, limits.open_files]]
    if with_nproc:
        out.append([resource.RLIMIT_NPROC, limits.max_processes, limits.max_processes])
    return out


def _build_env(workdir: Path, extra: dict[str, str] | None) -> dict[str, str]:
    """Minimal worker environment merged with ``extra``."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8", "HOME": str(workdir), "TMPDIR": str(workdir / ".tmp"),
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(workdir / ".mplconfig"),
    }
    env.update(extra or {})
    env["W2V_CONTROL_FD"] = str(CONTROL_FD)
    env.pop(_CFG_ENV, None)
    return env


def _interpreter_paths(argv: list[str]) -> list[Path]:
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


def _reach_warnings(workdir: Path, argv: list[str], info: IsolationInfo) -> list[str]:
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


def _under(path: Path, top: Path) -> bool:
    """True if ``path`` is strictly below ``top``."""
    return path != top and path.is_relative_to(top)


def _mount_plan(holes: list[Path], hides: list[Path], info: IsolationInfo,
                limits: SandboxLimits) -> list[dict]:
    """Masks (tmpfs over a dir, /dev/null over a file) with holes bind-mounted back.

    Masks are ordered shallow-first; a mask inside another mask is dropped unless it
    lies inside one of that mask's holes.  A mask equal to a hole is dropped.
    """
    tmp = f"mode=1777,size={limits.tmpfs_bytes}"
    masks: dict[Path, dict] = {Path("/root"): {"rw": False}, Path("/home"): {"rw": False},
                               Path("/tmp"): {"rw": True, "opts": tmp},
                               Path("/dev/shm"): {"rw": True, "opts": tmp}}
    for hide in hides:
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


def _launch(cfg: _Config, env: dict[str, str]) -> tuple[subprocess.Popen, int, int]:
    """Start the trampoline; returns (process, control read fd, status read fd)."""
    ctl_r, ctl_w = os.pipe()
    st_r, st_w = os.pipe()
    cfg.control_fd, cfg.status_fd = ctl_w, st_w
    full_env = dict(env)
    full_env[_CFG_ENV] = json.dumps(asdict(cfg))
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", _SELF, "run"], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cfg.workdir, env=full_env,
            start_new_session=True, close_fds=True, pass_fds=(ctl_w, st_w))
    except OSError as exc:
        os.close(ctl_r)
        os.close(st_r)
        raise SandboxError(f"cannot start sandbox trampoline: {exc}") from exc
    finally:
        os.close(ctl_w)
        os.close(st_w)
    return proc, ctl_r, st_r


@dataclass
class _Stream:
    """Capped capture of one output stream (plus a small tail for diagnosis)."""

    cap: int
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0

    def feed(self, chunk: bytes) -> None:
        """Keep the first ``cap`` bytes and the last few KiB; count the rest."""
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        self.total += len(chunk)
        self.tail += chunk[-_TAIL_BYTES:]
        del self.tail[:-_TAIL_BYTES]

    @property
    def truncated(self) -> bool:
        """True if bytes were discarded."""
        return self.total > len(self.head)

    def text(self) -> str:
        """Captured bytes decoded as UTF-8 with replacement."""
        return self.head.decode("utf-8", errors="replace")


@dataclass
class _Control:
    """Line splitter for the control channel with a byte cap and heartbeat clock."""

    cap: int
    callback: Callable[[str], str | None] | None
    last_line_at: float
    lines: list[str] = field(default_factory=list)
    pending: bytearray = field(default_factory=bytearray)
    stored: int = 0
    truncated: bool = False
    kill_requested: bool = False

    def feed(self, chunk: bytes, now: float) -> None:
        """Consume bytes; complete lines are stored and passed to the callback."""
        self.pending += chunk
        *complete, rest = self.pending.split(b"\n")
        self.pending = bytearray(rest)
        if len(self.pending) > _MAX_CONTROL_LINE:
            complete.append(bytes(self.pending))
            self.pending.clear()
        for raw in complete:
            self._line(raw, now)

    def finish(self, now: float) -> None:
        """Flush an unterminated last line at EOF."""
        if self.pending:
            self._line(bytes(self.pending), now)
            self.pending.clear()

    def _line(self, raw: bytes, now: float) -> None:
        self.last_line_at = now
        raw = raw[:_MAX_CONTROL_LINE]
        if self.stored + len(raw) + 1 > self.cap:
            self.truncated = True
            return
        self.stored += len(raw) + 1
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        self.lines.append(line)
        if self.callback is not None and not self.kill_requested:
            self.kill_requested = self.callback(line) == "kill"


@dataclass
class _Session:
    """Live state of one run, driven by ``_pump``."""

    proc: subprocess.Popen
    limits: SandboxLimits
    sel: selectors.BaseSelector
    out: _Stream
    err: _Stream
    control: _Control
    control_fd: int
    status_fd: int
    started: float
    killall_uid: int | None
    status: bytearray = field(default_factory=bytearray)
    kill_reason: str | None = None
    stop_sent_at: float | None = None
    hard_killed: bool = False
    tramp_done_at: float | None = None
    cpu_at_line: float = 0.0  # tree CPU seconds when the current control line was first seen
    cpu_line_seen: float | None = None  # the control.last_line_at that cpu_at_line belongs to
    cpu_read_at: float = 0.0  # when /proc was last read (at most every _CPU_PERIOD: it scans every process)

    def next_wakeup(self, now: float) -> float:
        """Seconds until the next timer check (bounded)."""
        moments = [self.started + self.limits.wall_seconds, now + 0.5]
        if self.limits.idle_seconds is not None:
            moments.append(self.control.last_line_at + self.limits.idle_seconds)
        if self.stop_sent_at is not None and not self.hard_killed:
            moments.append(self.stop_sent_at + _STOP_GRACE)
        if self.tramp_done_at is not None:
            moments.append(self.tramp_done_at + _DRAIN_GRACE)
        return max(0.0, min(moments) - now)

    def check_timers(self, now: float) -> None:
        """Wall/idle limits → stop; stop not honoured in time → hard kill."""
        if self.kill_reason is None:
            if now - self.started >= self.limits.wall_seconds:
                self.stop("wall_time")
            elif (self.limits.idle_seconds is not None
                  and now - self.control.last_line_at >= self.limits.idle_seconds):
                self.stop("idle")
            elif (self.limits.idle_cpu_seconds is not None and now - self.cpu_read_at >= _CPU_PERIOD
                  and self._cpu_since_line(now) >= self.limits.idle_cpu_seconds):
                self.stop("idle")
        if (self.stop_sent_at is not None and not self.hard_killed
                and now - self.stop_sent_at >= _STOP_GRACE):
            self.hard_kill()

    def _cpu_since_line(self, now: float) -> float:
        """CPU seconds the run's process tree used since the last control line (±one timer period)."""
        self.cpu_read_at = now
        cpu = tree_cpu_seconds(self.proc.pid)
        if self.cpu_line_seen != self.control.last_line_at:
            self.cpu_line_seen, self.cpu_at_line = self.control.last_line_at, cpu
        return cpu - self.cpu_at_line

    def stop(self, reason: str) -> None:
        """Ask the trampoline (our unreaped child) to kill its child, i.e. the whole run."""
        self.kill_reason = reason
        self.stop_sent_at = time.monotonic()
        _signal_quietly(self.proc.pid, signal.SIGTERM, group=False)

    def hard_kill(self) -> None:
        """SIGKILL the process group (and, in fallback mode, every process of the uid)."""
        self.hard_killed = True
        _signal_quietly(self.proc.pid, signal.SIGKILL, group=True)
        if self.killall_uid is not None:
            _kill_uid(self.killall_uid)

    def on_readable(self, fd: int, now: float) -> None:
        """Read one chunk from ``fd`` and dispatch it."""
        try:
            data = os.read(fd, _CHUNK)
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(fd)
            self._on_eof(fd, now)
        elif fd == self.control_fd:
            self.control.feed(data, now)
            if self.control.kill_requested and self.kill_reason is None:
                self.stop("control")
        elif fd == self.status_fd:
            self.status += data[: max(0, _STATUS_CAP - len(self.status))]
        else:
            (self.out if fd == self.proc.stdout.fileno() else self.err).feed(data)

    def _on_eof(self, fd: int, now: float) -> None:
        if fd == self.control_fd:
            self.control.finish(now)
        elif fd == self.status_fd:
            self.tramp_done_at = now
            self.hard_kill()


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` atomically (kill(-1) from a helper with that uid)."""
    try:
        subprocess.run([sys.executable, "-I", "-S", _SELF, "killall", str(uid)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        pass


def _pump(s: _Session) -> None:
    """Drain all pipes and enforce timers until the run is over."""
    while s.sel.get_map():
        now = time.monotonic()
        s.check_timers(now)
        if s.tramp_done_at is not None and now - s.tramp_done_at >= _DRAIN_GRACE:
            break
        for key, _ in s.sel.select(s.next_wakeup(now)):
            s.on_readable(key.fd, time.monotonic())


def _reap(proc: subprocess.Popen) -> tuple[int, resource.struct_rusage | None]:
    """wait4 the trampoline (bounded; SIGKILLs the group if it lingers)."""
    deadline = time.monotonic() + _REAP_TIMEOUT
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                _signal_quietly(proc.pid, signal.SIGKILL, group=True)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
    except ChildProcessError:
        return 0, None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return status, usage


def _execute(cfg: _Config, env: dict[str, str], limits: SandboxLimits, info: IsolationInfo,
             on_control_line: Callable[[str], str | None] | None,
             on_spawn: Callable[[int], None] | None,
             killall_uid: int | None, warnings: list[str]) -> SandboxRun:
    """Launch, supervise, clean up and summarize one run."""
    started = time.monotonic()
    proc, ctl_r, st_r = _launch(cfg, env)
    sel = selectors.DefaultSelector()
    session = _Session(proc=proc, limits=limits, sel=sel, out=_Stream(limits.output_bytes),
                       err=_Stream(limits.output_bytes),
                       control=_Control(limits.control_bytes, on_control_line, started),
                       control_fd=ctl_r, status_fd=st_r, started=started,
                       killall_uid=killall_uid)
    try:
        for fd in (proc.stdout.fileno(), proc.stderr.fileno(), ctl_r, st_r):
            sel.register(fd, selectors.EVENT_READ)
        if on_spawn is not None:
            on_spawn(proc.pid)
        _pump(session)
    finally:
        if not session.hard_killed:
            session.hard_kill()
        status, usage = _reap(proc)
        sel.close()
        for closable in (proc.stdout, proc.stderr):
            closable.close()
        os.close(ctl_r)
        os.close(st_r)
    return _summarize(session, status, usage, time.monotonic() - started, info, warnings)


def _parse_status(buf: bytes) -> dict[str, str]:
    """Trampoline status lines "KEY value" → dict (first occurrence wins)."""
    out: dict[str, str] = {}
    for line in buf.decode("utf-8", errors="replace").splitlines():
        key, _, value = line.partition(" ")
        out.setdefault(key, value)
    return out


def _summarize(s: _Session, tramp_status: int, usage: resource.struct_rusage | None,
               wall: float, info: IsolationInfo, warnings: list[str]) -> SandboxRun:
    """Turn the session into a ``SandboxRun`` (raises SandboxError on setup failure)."""
    status = _parse_status(bytes(s.status))
    if "SETUPFAIL" in status:
        raise SandboxError(f"sandbox setup failed: {status['SETUPFAIL']}")
    raw = int(status["WORKER"]) if status.get("WORKER", "").isdigit() else None
    if raw is None and s.kill_reason is None:
        warnings = [*warnings, f"worker status unknown: sandbox supervisor ended with "
                    f"status {tramp_status} (killed from outside?)"]
    killed = s.kill_reason is not None and (
        raw is None or (os.WIFSIGNALED(raw) and os.WTERMSIG(raw) == signal.SIGKILL))
    if raw is None or os.WIFSIGNALED(raw):
        returncode, sig = None, (os.WTERMSIG(raw) if raw is not None else signal.SIGKILL)
    else:
        returncode, sig = os.WEXITSTATUS(raw), None
    cpu = (usage.ru_utime + usage.ru_stime) if usage else 0.0
    rss = usage.ru_maxrss if usage else 0
    run = SandboxRun(
        returncode=returncode, signal=sig, stdout=s.out.text(), stderr=s.err.text(),
        stdout_truncated=s.out.truncated, stderr_truncated=s.err.truncated,
        timed_out=killed and s.kill_reason in ("wall_time", "idle"), limit_hit=None,
        cpu_seconds=cpu, wall_seconds=wall, max_rss_kb=rss,
        control_messages=s.control.lines, isolation=copy.deepcopy(info),
        killed_by=s.kill_reason if killed else None,
        control_truncated=s.control.truncated, warnings=warnings,
        stderr_tail=bytes(s.err.tail).decode("utf-8", errors="replace"))
    run.limit_hit = _diagnose(run, s.limits, bytes(s.err.head[:_TAIL_BYTES]) + bytes(s.err.tail))
    return run


_MEMORY_TEXT = (b"MemoryError", b"Cannot allocate memory", b"bad_alloc", b"Unable to allocate")
_NPROC_TEXT = (b"Resource temporarily unavailable", b"BlockingIOError", b"can't start new thread")


def _diagnose(run: SandboxRun, limits: SandboxLimits, err: bytes) -> str | None:
    """Best-effort guess at which limit ended (or broke) the run.

    Stderr text is only consulted when the worker failed (nonzero exit or signal).
    """
    if run.timed_out:
        return "wall_time"
    if run.killed_by is not None:
        return None
    sig = run.signal
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and run.cpu_seconds >= limits.cpu_seconds):
        return "cpu_time"
    if sig == signal.SIGXFSZ:
        return "file_size"
    if run.returncode == 0 and sig is None:
        return None
    if b"File too large" in err:
        return "file_size"
    if any(t in err for t in _MEMORY_TEXT):
        return "memory"
    if sig == signal.SIGKILL and run.max_rss_kb * 1024 >= 0.8 * limits.memory_bytes:
        return "memory"
    if run.isolation.has("uid") and any(t in err for t in _NPROC_TEXT):
        return "processes"
    return None
