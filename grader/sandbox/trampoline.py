"""The sandbox's trampoline, init and worker set-up: the only sandbox code that runs in the sandboxed process tree.

Run as a script by path, never imported there (``python -I -S trampoline.py run``, started by
:mod:`grader.sandbox.supervisor`), so it uses only cheap standard-library modules and imports
nothing from the grader: each sandboxed run pays its start-up.  The parent side imports it only
for the constants and :func:`signal_quietly` shared with it.

Process tree when every layer is available (root on Linux)::

    caller (grader)
     └─ trampoline   root; own session + process group; subreaper; unshare(NET|NS|PID)
         └─ init     root; pid 1 of the new pid namespace; sets up mounts, reaps
             └─ worker  leased sandbox uid, rlimits, no_new_privs; execs ``argv``

The trampoline reads its configuration (JSON, the supervisor's ``TrampolineConfig``) from the
environment variable :data:`CONFIG_ENV`, which it removes before the worker starts; it dies with
the calling thread's process (PR_SET_PDEATHSIG), and the run with it.  Only the worker ever runs
untrusted code, after it dropped into every layer.  Status lines for the parent go to
:data:`STATUS_FD` (``WORKER <raw status>``, ``SETUPFAIL <why>``).

Layers implemented here (see :mod:`grader.sandbox.layers` for the whole list):

``subreaper``
    PR_SET_CHILD_SUBREAPER on the trampoline: orphans (``setsid`` daemons included) are
    re-parented to it, and it SIGKILLs and reaps all of them (:func:`_kill_descendants`) when
    the worker exits or the run is stopped, so they cannot outlive the run and their CPU time
    is counted.  Works unprivileged.
``pidns``
    The worker lives in its own pid namespace under a trusted init (:func:`_init_main`).  When
    the worker exits, or the run is stopped, init SIGKILLs everything in the namespace and reaps
    it (CPU time counted) before the run returns; if init itself dies the kernel kills the
    namespace.  The worker cannot see or signal outside processes.
``netns``
    ``unshare(CLONE_NEWNET)``: an empty network namespace, only a down loopback, so every connect
    fails (also to 127.0.0.1 services of the host).
``mountns``
    ``unshare(CLONE_NEWNS)``; init makes every mount private, mounts a fresh /proc and applies
    the supervisor's mount plan (:func:`_apply_mounts`; the plan is made by
    :mod:`grader.sandbox.mounts`).  Nothing propagates to the host's mount table.
``uid:<name>`` (the switch; the lease is :mod:`grader.sandbox.uid_pool`)
    :func:`_exec_worker` drops every group, then sets gid and uid to the leased user and checks
    that the switch took effect (real, effective and saved ids).
``no_new_privs``
    PR_SET_NO_NEW_PRIVS in the worker: setuid binaries cannot raise privileges.
``rlimits`` (applying them; the values are :mod:`grader.sandbox.limits`)
    ``setrlimit`` in the worker just before ``exec``.
``seccomp``
    :func:`install_seccomp` in the worker, after no_new_privs and just before ``exec``: a
    libseccomp filter that denies (EPERM) ptrace and process_vm_*, namespaces and mounts
    (unshare, setns, ``clone`` with a namespace flag, mount, pivot_root...), bpf, perf_event_open,
    keyrings, io_uring, userfaultfd, kernel modules, kexec, reboot and clock changes
    (:data:`SECCOMP_DENIED`).  Loaded for every run of a platform whose probe passed; if it then
    fails to load, the run fails closed (the untrusted command never runs).
``cgroup`` (joining; the cgroups are :mod:`grader.sandbox.cgroups`)
    The trampoline writes its pid into the run's ``cgroup.procs`` files first thing, so every
    process of the run is charged to them: a memory limit with OOM attribution, a pids limit and
    CPU accounting that no escaped process can leave.

``killall UID`` is the uid layer's kill-all fallback without pidns: this script becomes UID
and sends SIGKILL to every process of that user (``kill(-1)`` is atomic with respect to fork).

Over 400 lines on purpose: it is executed as a script by a bare interpreter (``python -I -S``), so
every step of building the sandbox (namespaces, mounts, limits, seccomp, uid) must live in this
one stdlib-only file, in the order the steps run.
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
STATUS_FD = 4
"""File descriptor of the status pipe to the parent in the trampoline and init (closed in the worker)."""
REQUEST_FD = 5
"""File descriptor of the parent's request pipe inside the worker, when the run has one (``W2V_REQUEST_FD``)."""
CONFIG_ENV = "_W2V_SANDBOX_CONFIG"
"""Environment variable that carries the trampoline's configuration (removed before the worker starts)."""
SCRIPT = os.path.realpath(__file__)
"""This file, run by path as the trampoline."""
SETUP_FAILED = 125
"""Exit status of a trampoline/init/worker whose set-up failed (the untrusted command never ran)."""

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36

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


def _install_fds(control: int, status: int, request: int) -> None:
    """Move the control pipe to fd 3, the status pipe to fd 4 and the request pipe (if any, >= 0) to fd 5."""
    global _status_fd_now
    moves = [(fd, target) for fd, target in ((control, CONTROL_FD), (status, STATUS_FD), (request, REQUEST_FD))
             if fd >= 0]
    high = [(fcntl.fcntl(fd, fcntl.F_DUPFD, 10), target) for fd, target in moves]
    for fd, _ in moves:
        os.close(fd)
    for fd, target in high:
        os.dup2(fd, target)
        os.close(fd)
    _status_fd_now = STATUS_FD


def _join_cgroups(procs_files: list[str]) -> None:
    """``cgroup`` layer: move this process (and so the whole run it forks) into the run's cgroups."""
    pid = str(os.getpid()).encode()
    for path in procs_files:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)


def _trampoline_main(args: list[str]) -> int:
    """Entry point of ``python -I -S trampoline.py run|killall UID``."""
    global _status_fd_now
    if len(args) == 2 and args[0] == "killall":
        return _killall_main(int(args[1]))
    cfg = types.SimpleNamespace(**json.loads(os.environ.pop(CONFIG_ENV)))
    _status_fd_now = cfg.status_fd
    signal.signal(signal.SIGTERM, _STOPPER.handle)
    try:
        _install_fds(cfg.control_fd, cfg.status_fd, cfg.request_fd)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # caller gone → we (and the run) go too
        if os.getppid() != cfg.parent_pid:
            return SETUP_FAILED
        if cfg.cgroup_procs:
            _join_cgroups(cfg.cgroup_procs)
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
        return SETUP_FAILED
    if child == 0:
        _child_entry(cfg)
    # pidns: ask init to kill and reap the namespace (keeps CPU accounting); else kill the worker
    stop_sig = signal.SIGTERM if cfg.pidns else signal.SIGKILL
    _STOPPER.arm(lambda: signal_quietly(child, stop_sig, group=False))
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
            signal_quietly(kid, signal.SIGKILL, group=False)
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.002)


def _child_entry(cfg: types.SimpleNamespace) -> None:
    """First child of the trampoline: init (pidns) or directly the worker. Never returns."""
    try:
        if cfg.pidns:
            _init_main(cfg)
        else:
            _exec_worker(cfg)
    except BaseException as exc:  # noqa: BLE001
        _report(f"SETUPFAIL child: {exc!r}")
    os._exit(SETUP_FAILED)


def _init_main(cfg: types.SimpleNamespace) -> None:
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


def _exec_worker(cfg: types.SimpleNamespace) -> None:
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
        if cfg.seccomp:
            install_seccomp()
        if not cfg.pidns:  # best effort: the worker itself dies with the trampoline
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != cfg.trampoline_pid:
                os._exit(SETUP_FAILED)
    except BaseException as exc:  # noqa: BLE001
        _report(f"SETUPFAIL worker: {exc!r}")
        os._exit(SETUP_FAILED)
    if cfg.request_fd >= 0:  # everything above stderr but the control and request pipes
        os.closerange(STATUS_FD, REQUEST_FD)
        os.closerange(REQUEST_FD + 1, 1 << 20)
    else:
        os.closerange(STATUS_FD, 1 << 20)
    try:
        os.execvp(cfg.argv[0], cfg.argv)
    except OSError as exc:
        os.write(2, f"sandbox: cannot execute {cfg.argv[0]!r}: {exc}\n".encode())
    os._exit(127)


SECCOMP_DENIED = (
    # debugging / reading other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    # namespaces and mounts: no new view of the system, no way out of the sandbox's one
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # kernel attack surface a numerical assignment never needs
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key", "fanotify_init", "open_by_handle_at", "name_to_handle_at",
    "lookup_dcookie", "quotactl", "syslog", "vhangup", "iopl", "ioperm", "modify_ldt", "personality",
    # machine-wide state
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
)
"""System calls the worker may not make (EPERM)."""
_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
"""CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: clone() with any of them is denied."""
_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_CMP_MASKED_EQ = 7
_EPERM, _ENOSYS = 1, 38


def install_seccomp() -> None:
    """Load the worker's seccomp filter (libseccomp through ctypes); raises OSError if it cannot.

    Default: allow.  Denied with EPERM: ``SECCOMP_DENIED`` and ``clone`` with a namespace flag;
    ``clone3`` fails with ENOSYS (its flags sit in memory a filter cannot read), so libc falls back
    to ``clone``.  System calls of another ABI (i386, x32) kill the process (libseccomp's default).
    """
    import ctypes

    class ScmpArgCmp(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                    ("datum_b", ctypes.c_uint64)]

    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError as exc:
        raise OSError(errno.ENOSYS, f"libseccomp is not installed ({exc})") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(ScmpArgCmp)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        raise OSError(errno.ENOMEM, "seccomp_init failed")

    def deny(name: str, errno_value: int, *conditions: ScmpArgCmp) -> None:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:  # not a system call on this architecture/kernel headers: nothing to deny
            return
        array = (ScmpArgCmp * len(conditions))(*conditions) if conditions else None
        rc = lib.seccomp_rule_add_array(ctx, 0x00050000 | errno_value, number, len(conditions), array)
        if rc < 0:
            raise OSError(-rc, f"seccomp rule for {name}")

    try:
        for name in SECCOMP_DENIED:
            deny(name, _EPERM)
        for flag in _NAMESPACE_FLAGS:
            deny("clone", _EPERM, ScmpArgCmp(0, _SCMP_CMP_MASKED_EQ, flag, flag))
        deny("clone3", _ENOSYS)
        rc = lib.seccomp_load(ctx)
        if rc < 0:
            raise OSError(-rc, "seccomp_load")
    finally:
        lib.seccomp_release(ctx)


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


def signal_quietly(pid: int, sig: int, *, group: bool) -> None:
    """kill/killpg ignoring 'no such process' and permission errors."""
    try:
        (os.killpg if group else os.kill)(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


if __name__ == "__main__":
    sys.exit(_trampoline_main(sys.argv[1:]))
