"""Launching and supervising one sandboxed run: the ``process_group`` layer, the clocks, and the run's outcome.

:func:`run` leases a uid (:mod:`.uid_pool`), prepares the workdir and environment
(:mod:`.environment`), the rlimits (:mod:`.limits`) and the mount plan (:mod:`.mounts`), then
starts the trampoline (:mod:`.trampoline`) with that configuration and supervises it:

* ``process_group`` (always): the trampoline starts a new session; at the end the whole process
  group is SIGKILLed (and, without pidns, every process of the leased uid).  On its own this
  cannot catch descendants that call ``setsid()``: subreaper and pidns do;
* the wall-time limit and the idle limits: no control line for ``idle_seconds`` of wall time, or
  for ``idle_cpu_seconds`` of CPU time of the whole process tree (read from /proc at most every
  :data:`_CPU_PERIOD`, so a busy machine cannot make a call hit it), stops the run: SIGTERM to
  the trampoline (init then kills and reaps the namespace), SIGKILL of the group
  :data:`_STOP_GRACE` seconds later;
* output: stdout, stderr and control lines are drained as they come (:mod:`.capture`);
* the outcome (:class:`SandboxRun`): exit status or signal, CPU time and peak memory of the
  whole tree (``wait4`` of the trampoline, which reaped everything), and a best-effort guess of
  which limit ended the run (``limit_hit``).

On return no process of the run is alive.

Over 400 lines on purpose: it is the one loop that owns a run from spawn to reap (pumping output,
enforcing the limits, attributing the end); its helpers only make sense inside that loop.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .capture import TAIL_BYTES, ControlChannel, Stream
from .cgroups import create_run_cgroups
from .environment import build_env, ensure_readable, prepare_workdir
from .layers import L_CGROUP, L_MOUNTNS, L_NETNS, L_NNP, L_PIDNS, L_SECCOMP, L_SUBREAPER, IsolationInfo, SandboxError
from .limits import SandboxLimits, rlimits
from .mounts import interpreter_paths, mount_plan, reach_warnings
from .proc_tree import tree_cpu_seconds
from .trampoline import CONFIG_ENV, SCRIPT, signal_quietly
from .uid_pool import SANDBOX_USER, kill_uid, uid_lease

_CHUNK = 1 << 16
_STATUS_CAP = 1 << 16
_STOP_GRACE = 2.0
_CPU_PERIOD = 0.25  # seconds between reads of a run's CPU time for the per-call CPU limit
_DRAIN_GRACE = 1.0
_REAP_TIMEOUT = 5.0


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


@dataclass
class TrampolineConfig:
    """Everything the trampoline needs; passed as JSON in ``CONFIG_ENV``."""

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
    request_fd: int = -1
    """The parent's request pipe (read end) as numbered in the trampoline; -1: none."""
    seccomp: bool = False
    cgroup_procs: list[str] = field(default_factory=list)
    """``cgroup.procs`` files the trampoline joins first thing (cgroup layer)."""


@dataclass
class RunExtras:
    """Optional plumbing of one run beyond stdout/stderr and the control pipe."""

    request_fd: int | None = None
    """Read end of a pipe the caller writes requests to; the worker gets it as fd 5 (``W2V_REQUEST_FD``)."""
    stop_fd: int | None = None
    """When this fd becomes readable the run is stopped at once (``killed_by="caller"``)."""
    cgroups: Any = None
    """The run's :class:`grader.sandbox.cgroups.RunCgroups` (cgroup layer), made by the supervisor."""


def run(*, argv: list[str], workdir: Path, limits: SandboxLimits, info: IsolationInfo,
         env: dict[str, str] | None, readable_paths: Sequence[Path],
         hide_paths: Sequence[Path], on_control_line: Callable[[str], str | None] | None,
         on_spawn: Callable[[int], None] | None, extras: RunExtras | None = None) -> SandboxRun:
    """Lease a uid, then prepare, launch and supervise one run."""
    with uid_lease(info, limits.wall_seconds) as leased:
        return _run_leased(argv=argv, workdir=workdir, limits=limits, info=leased, env=env,
                           readable_paths=readable_paths, hide_paths=hide_paths,
                           on_control_line=on_control_line, on_spawn=on_spawn, extras=extras or RunExtras())


def _run_leased(*, argv: list[str], workdir: Path, limits: SandboxLimits, info: IsolationInfo,
                env: dict[str, str] | None, readable_paths: Sequence[Path],
                hide_paths: Sequence[Path],
                on_control_line: Callable[[str], str | None] | None,
                on_spawn: Callable[[int], None] | None, extras: RunExtras) -> SandboxRun:
    """Prepare files and config for ``info.uid``, then launch and supervise one run."""
    warnings: list[str] = []
    prepare_workdir(workdir, info)
    readable = [Path(p).resolve() for p in readable_paths]
    mountns = info.has(L_MOUNTNS)
    if info.uid is not None:
        ensure_readable(readable, ancestors=not mountns)
    cfg = TrampolineConfig(argv=argv, workdir=str(workdir), uid=info.uid, gid=info.gid,
                  parent_pid=os.getpid(), subreaper=info.has(L_SUBREAPER),
                  netns=info.has(L_NETNS), pidns=info.has(L_PIDNS), mountns=mountns,
                  nnp=info.has(L_NNP), rlimits=rlimits(limits, info.uid is not None),
                  seccomp=info.has(L_SECCOMP))
    if mountns:
        holes = [h for h in (workdir, *readable, *interpreter_paths(argv)) if h.exists()]
        cfg.mounts = mount_plan(holes, [Path(p).resolve() for p in hide_paths], info, limits)
    else:
        if hide_paths:
            warnings.append("hide_paths ignored: mountns layer not active")
        if info.uid is not None:
            warnings += reach_warnings(workdir, argv, info)
    killall = info.uid if (not cfg.pidns and info.uid_layer == f"uid:{SANDBOX_USER}") else None
    if killall is not None:
        kill_uid(killall)  # leftovers of an earlier run that died with its parent
    if info.has(L_CGROUP):
        extras.cgroups = create_run_cgroups(limits)  # raises SandboxError: fail closed
        cfg.cgroup_procs = extras.cgroups.procs_files
    try:
        return _execute(cfg, build_env(workdir, env, request=extras.request_fd is not None), limits, info,
                        on_control_line, on_spawn, killall, warnings, extras)
    finally:
        if extras.cgroups is not None:
            extras.cgroups.remove()


def _launch(cfg: TrampolineConfig, env: dict[str, str], request_fd: int | None) -> tuple[subprocess.Popen, int, int]:
    """Start the trampoline; returns (process, control read fd, status read fd)."""
    ctl_r, ctl_w = os.pipe()
    st_r, st_w = os.pipe()
    cfg.control_fd, cfg.status_fd = ctl_w, st_w
    cfg.request_fd = request_fd if request_fd is not None else -1
    passed = (ctl_w, st_w) if request_fd is None else (ctl_w, st_w, request_fd)
    full_env = dict(env)
    full_env[CONFIG_ENV] = json.dumps(asdict(cfg))
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", SCRIPT, "run"], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cfg.workdir, env=full_env,
            start_new_session=True, close_fds=True, pass_fds=passed)
    except OSError as exc:
        os.close(ctl_r)
        os.close(st_r)
        raise SandboxError(f"cannot start sandbox trampoline: {exc}") from exc
    finally:
        os.close(ctl_w)
        os.close(st_w)
    return proc, ctl_r, st_r


@dataclass
class _Session:
    """Live state of one run, driven by ``_pump``."""

    proc: subprocess.Popen
    limits: SandboxLimits
    sel: selectors.BaseSelector
    out: Stream
    err: Stream
    control: ControlChannel
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
    stop_fd: int | None = None
    cgroups: Any = None

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
        cpu = self.cgroups.cpu_seconds() if self.cgroups is not None else tree_cpu_seconds(self.proc.pid)
        if self.cpu_line_seen != self.control.last_line_at:
            self.cpu_line_seen, self.cpu_at_line = self.control.last_line_at, cpu
        return cpu - self.cpu_at_line

    def stop(self, reason: str) -> None:
        """Ask the trampoline (our unreaped child) to kill its child, i.e. the whole run."""
        self.kill_reason = reason
        self.stop_sent_at = time.monotonic()
        signal_quietly(self.proc.pid, signal.SIGTERM, group=False)

    def hard_kill(self) -> None:
        """SIGKILL the process group (and, in fallback mode, every process of the uid)."""
        self.hard_killed = True
        signal_quietly(self.proc.pid, signal.SIGKILL, group=True)
        if self.killall_uid is not None:
            kill_uid(self.killall_uid)

    def on_readable(self, fd: int, now: float) -> None:
        """Read one chunk from ``fd`` and dispatch it."""
        if fd == self.stop_fd:
            self.sel.unregister(fd)
            if self.kill_reason is None:
                self.stop("caller")
            return
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


def _pump(s: _Session) -> None:
    """Drain all pipes and enforce timers until the run is over."""
    while any(key.fd != s.stop_fd for key in s.sel.get_map().values()):
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
                signal_quietly(proc.pid, signal.SIGKILL, group=True)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
    except ChildProcessError:
        return 0, None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return status, usage


def _execute(cfg: TrampolineConfig, env: dict[str, str], limits: SandboxLimits, info: IsolationInfo,
             on_control_line: Callable[[str], str | None] | None,
             on_spawn: Callable[[int], None] | None,
             killall_uid: int | None, warnings: list[str], extras: RunExtras) -> SandboxRun:
    """Launch, supervise, clean up and summarize one run."""
    started = time.monotonic()
    proc, ctl_r, st_r = _launch(cfg, env, extras.request_fd)
    sel = selectors.DefaultSelector()
    session = _Session(proc=proc, limits=limits, sel=sel, out=Stream(limits.output_bytes),
                       err=Stream(limits.output_bytes),
                       control=ControlChannel(limits.control_bytes, on_control_line, started),
                       control_fd=ctl_r, status_fd=st_r, started=started,
                       killall_uid=killall_uid, stop_fd=extras.stop_fd, cgroups=extras.cgroups)
    try:
        for fd in (proc.stdout.fileno(), proc.stderr.fileno(), ctl_r, st_r):
            sel.register(fd, selectors.EVENT_READ)
        if extras.stop_fd is not None:
            sel.register(extras.stop_fd, selectors.EVENT_READ)
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
    run.limit_hit = _diagnose(run, s.limits, bytes(s.err.head[:TAIL_BYTES]) + bytes(s.err.tail))
    if s.cgroups is not None:
        run.cpu_seconds = max(run.cpu_seconds, s.cgroups.cpu_seconds())
        if s.cgroups.oom_killed() and run.killed_by is None:
            run.limit_hit = "memory"  # the kernel's OOM killer, inside this run's memory cgroup
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
