"""The ``cgroup`` layer: every run in cgroups of its own -- memory with OOM attribution, pids, CPU accounting.

Where this process may create cgroups (cgroup v1 controllers ``memory``, ``pids`` and
``cpuacct`` below this process's own cgroups; or a cgroup v2 tree whose ``memory`` and ``pids``
controllers are delegated to this process's cgroup), each run gets a fresh cgroup per controller:

* ``memory``: the limit is ``SandboxLimits.memory_bytes`` (resident memory, not just address
  space); when the kernel's OOM killer kills inside the run, :meth:`RunCgroups.oom_killed` says so,
  so the run is reported as "memory limit", never as a mysterious crash;
* ``pids``: at most ``max_processes`` (+ the trampoline and init), whatever the uid;
* ``cpuacct`` / ``cpu.stat``: CPU time of every process that ever was in the run, read in a few
  microseconds (:meth:`RunCgroups.cpu_seconds`) -- a process that escaped the process tree is still
  counted.

The trampoline joins the cgroups first thing (:func:`grader.sandbox.trampoline._join_cgroups`);
the supervisor creates them before and removes them after each run.  :func:`unavailable_reason`
tells the probe why the layer cannot be used here.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .layers import SandboxError
from .limits import SandboxLimits

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpuacct")
PARENT_NAME = "w2v-sandbox"
EXTRA_PROCESSES = 4
"""The trampoline, init and a little slack on top of the run's own process limit."""
_counter = itertools.count()


@dataclass
class RunCgroups:
    """One run's cgroups (created by :func:`create_run_cgroups`, removed by :meth:`remove`)."""

    version: int
    dirs: dict[str, Path] = field(default_factory=dict)
    """controller -> directory (v1), or ``{"unified": directory}`` (v2)."""

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def cpu_seconds(self) -> float:
        """CPU seconds used by every process of the run so far (0.0 if unreadable)."""
        try:
            if self.version == 1:
                return int(_read(self.dirs["cpuacct"] / "cpuacct.usage")) / 1e9
            for line in _read(self.dirs["unified"] / "cpu.stat").splitlines():
                if line.startswith("usage_usec"):
                    return int(line.split()[1]) / 1e6
        except (OSError, ValueError, KeyError):
            pass
        return 0.0

    def oom_killed(self) -> bool:
        """Did the kernel's OOM killer kill a process of this run?"""
        try:
            if self.version == 1:
                text = _read(self.dirs["memory"] / "memory.oom_control")
            else:
                text = _read(self.dirs["unified"] / "memory.events")
        except (OSError, KeyError):
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False

    def peak_memory_bytes(self) -> Optional[int]:
        """Peak resident memory of the run, if the kernel reports it."""
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        key = "memory" if self.version == 1 else "unified"
        with contextlib.suppress(OSError, ValueError, KeyError):
            return int(_read(self.dirs[key] / name))
        return None

    def remove(self) -> None:
        """Remove the (by now empty) cgroups; processes still inside are killed first."""
        for directory in self.dirs.values():
            for _attempt in range(50):
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    _kill_members(directory)
                    time.sleep(0.01)


def unavailable_reason() -> Optional[str]:
    """None if runs can get cgroups of their own here, else why not."""
    try:
        parents = _parents()
    except OSError as exc:
        return f"cannot create cgroups here ({exc.strerror or exc})"
    return None if parents is not None else "no writable cgroup hierarchy with the memory and pids controllers"


def create_run_cgroups(limits: SandboxLimits) -> RunCgroups:
    """Fresh cgroups for one run, limits written; raises SandboxError if that fails (fail closed)."""
    try:
        parents = _parents()
        if parents is None:
            raise SandboxError("cgroup layer: no writable cgroup hierarchy any more")
        version, bases = parents
        name = f"run-{os.getpid()}-{next(_counter)}-{time.monotonic_ns() % 10**9}"
        run = RunCgroups(version)
        for controller, base in bases.items():
            directory = base / name
            directory.mkdir()
            run.dirs[controller] = directory
        pids = str(limits.max_processes + EXTRA_PROCESSES)
        if version == 1:
            _write(run.dirs["memory"] / "memory.limit_in_bytes", str(limits.memory_bytes))
            with contextlib.suppress(OSError):  # no swap accounting on some kernels
                _write(run.dirs["memory"] / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
            _write(run.dirs["pids"] / "pids.max", pids)
        else:
            unified = run.dirs["unified"]
            _write(unified / "memory.max", str(limits.memory_bytes))
            with contextlib.suppress(OSError):
                _write(unified / "memory.swap.max", "0")
            _write(unified / "pids.max", pids)
        return run
    except OSError as exc:
        with contextlib.suppress(NameError):
            run.remove()
        raise SandboxError(f"cgroup layer: cannot create the run's cgroups ({exc})") from exc


_PARENTS: Optional[tuple[int, dict[str, Path]]] = None


def _parents() -> Optional[tuple[int, dict[str, Path]]]:
    """(version, controller -> directory under which runs get their cgroups), created once per process."""
    global _PARENTS
    if _PARENTS is not None and all(p.is_dir() for p in _PARENTS[1].values()):
        return _PARENTS
    own = _own_cgroups()
    v1 = {c: CGROUP_ROOT / c / own[c].lstrip("/") for c in V1_CONTROLLERS if c in own}
    if len(v1) == len(V1_CONTROLLERS) and all((d / "cgroup.procs").exists() for d in v1.values()):
        bases = {c: d / PARENT_NAME for c, d in v1.items()}
        if all(os.access(d, os.W_OK) for d in v1.values()):
            for base in bases.values():
                base.mkdir(exist_ok=True)
            _PARENTS = (1, bases)
            return _PARENTS
    if "" in own and (CGROUP_ROOT / "cgroup.controllers").exists():
        mine = CGROUP_ROOT / own[""].lstrip("/")
        delegated = set(_read(mine / "cgroup.subtree_control").split()) if (mine / "cgroup.subtree_control").exists() \
            else set()
        if {"memory", "pids"} <= delegated and os.access(mine, os.W_OK):
            base = mine / PARENT_NAME
            base.mkdir(exist_ok=True)
            with contextlib.suppress(OSError):
                _write(base / "cgroup.subtree_control", "+memory +pids +cpu")
            _PARENTS = (2, {"unified": base})
            return _PARENTS
    return None


def _own_cgroups() -> dict[str, str]:
    """controller -> this process's cgroup path ("" is the v2 unified hierarchy)."""
    out: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in _read(Path("/proc/self/cgroup")).splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                out[controller] = path
    return out


def _kill_members(directory: Path) -> None:
    with contextlib.suppress(OSError):
        for pid in _read(directory / "cgroup.procs").split():
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid), 9)


def _read(path: Path) -> str:
    with open(path) as handle:
        return handle.read()


def _write(path: Path, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)
