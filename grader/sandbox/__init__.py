"""Stage 2 — sandbox: run a command on untrusted code in a separate, resource-limited, isolated process.

The public face is :func:`run_sandboxed` with :class:`SandboxLimits`, returning a
:class:`SandboxRun`; :func:`detect_isolation` says which layers this platform permits
(:class:`IsolationInfo`); :class:`SandboxError` means the sandbox could not be set up (the
untrusted command never ran).  The grader runs student code only through
:mod:`grader.sandbox.jobs`, which stages a job's worker (:mod:`grader.worker`) and calls this.

Process tree when every layer is available (root on Linux)::

    caller (grader)                            supervisor.py: launch, clocks, output, outcome
     └─ trampoline   root; own session + process group; subreaper; unshare(NET|NS|PID)
         └─ init     root; pid 1 of the new pid namespace; sets up mounts, reaps
             └─ worker  leased sandbox uid, rlimits, no_new_privs; execs ``argv``

Modules, one concern each (every isolation layer is documented where it is implemented;
:mod:`.layers` lists them all):

* :mod:`.trampoline`: the trampoline/init/worker set-up, run as a script (stdlib only);
* :mod:`.layers`: layer names, :class:`IsolationInfo`, :class:`SandboxError`;
* :mod:`.probes`: :func:`detect_isolation`, one real sandboxed child per check;
* :mod:`.uid_pool`: the pool of sandbox users, leased one per run, and its kill-all;
* :mod:`.mounts`: the mountns plan (what is hidden, what is bound back);
* :mod:`.limits`: :class:`SandboxLimits` and the rlimits;
* :mod:`.environment`: the worker's environment, workdir and file permissions;
* :mod:`.capture`: capped stdout/stderr and the control channel;
* :mod:`.supervisor`: one run from launch to :class:`SandboxRun`;
* :mod:`.proc_tree`: CPU seconds of a process tree from /proc (also the speed check's clock);
* :mod:`.jobs`: a job of worker calls on student code, a call that hangs or crashes blamed on itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from . import supervisor
from .environment import ensure_readable, ensure_unreadable, make_workdir
from .layers import BASE_LAYERS, DISABLE_ENV, IsolationInfo, SandboxError, integrity, restrict
from .limits import SandboxLimits
from .probes import detect_isolation, detect_isolation_in_background
from .supervisor import RunExtras, SandboxRun
from .uid_pool import SANDBOX_USER

__all__ = [
    "BASE_LAYERS", "DISABLE_ENV", "SANDBOX_USER", "IsolationInfo", "RunExtras", "SandboxError", "SandboxLimits",
    "SandboxRun", "integrity",
    "detect_isolation", "detect_isolation_in_background", "ensure_readable", "ensure_unreadable", "make_workdir",
    "run_sandboxed",
]


def run_sandboxed(argv: list[str], workdir: Path, limits: SandboxLimits, *,
                  env: dict[str, str] | None = None, readable_paths: Sequence[Path] = (),
                  on_control_line: Callable[[str], str | None] | None = None,
                  hide_paths: Sequence[Path] = (),
                  isolation: IsolationInfo | None = None,
                  on_spawn: Callable[[int], None] | None = None,
                  extras: RunExtras | None = None) -> SandboxRun:
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
    - ``extras`` (:class:`RunExtras`): a request pipe for the worker (fd 5), a stop fd that
      ends the run when it becomes readable, and, after the start, the run's cgroups (the
      ``cgroup`` layer: ``extras.cgroups.cpu_seconds()`` is the whole run's CPU time).
    - On return no process of the run is alive (see :mod:`grader.sandbox.layers` for what
      each layer guarantees).  Raises ``SandboxError`` if the sandbox could not be
      set up, ``ValueError`` for bad arguments.  Never raises because of what the
      child does.
    """
    if not argv:
        raise ValueError("argv must not be empty")
    workdir = Path(workdir).resolve()
    if not workdir.is_dir():
        raise ValueError(f"workdir {workdir} is not a directory")
    info = restrict(detect_isolation(), isolation)
    return supervisor.run(argv=list(argv), workdir=workdir, limits=limits, info=info, env=env,
                          readable_paths=readable_paths, hide_paths=hide_paths,
                          on_control_line=on_control_line, on_spawn=on_spawn, extras=extras)
