"""Resource limits of one run: the ``rlimits`` layer's values, and the supervisor's clocks.

:class:`SandboxLimits` holds every limit of a run.  The kernel enforces the rlimits
(:func:`rlimits` gives the ``setrlimit`` triples that the trampoline applies in the worker just
before ``exec``; they hold for everything the worker forks): RLIMIT_CPU per process (SIGXCPU at
the soft limit, SIGKILL a second later), RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_CORE=0, RLIMIT_NOFILE,
and RLIMIT_NPROC when a dedicated uid is used (root ignores NPROC).  The wall-time and idle
limits (``wall_seconds``, ``idle_seconds``, ``idle_cpu_seconds``) and the output caps are
enforced by the supervisor (:mod:`grader.sandbox.supervisor`), which also tells afterwards which
limit ended a run (``SandboxRun.limit_hit``).
"""

from __future__ import annotations

import resource
from dataclasses import dataclass


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


def rlimits(limits: SandboxLimits, with_nproc: bool) -> list[list[int]]:
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
