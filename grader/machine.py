"""What this machine lets the grader use: CPUs after affinity and cgroup CPU quotas.

Gradescope runs the autograder in a container limited to a fraction of a CPU
while ``os.cpu_count()`` still reports the host's cores; decisions such as
"run two workers side by side" must use :func:`usable_cpus` instead.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional

CGROUP_ROOT = Path("/sys/fs/cgroup")


def usable_cpus(cgroup_root: Path = CGROUP_ROOT) -> float:
    """CPUs this process may keep busy: min(affinity mask, cgroup quota); fractional under a quota (e.g. 0.5)."""
    try:
        cpus: float = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root)
    return min(cpus, quota) if quota is not None else cpus


def cgroup_cpu_quota(cgroup_root: Path = CGROUP_ROOT) -> Optional[float]:
    """The CPU quota (quota / period) of this process's cgroup, v2 ``cpu.max`` or v1 CFS; None if unlimited."""
    for path in _own_cgroup_dirs(cgroup_root):
        v2 = path / "cpu.max"
        if v2.is_file():
            quota = _ratio(*_read(v2).split()[:2])
            if quota is not None:
                return quota
        v1_quota, v1_period = path / "cpu.cfs_quota_us", path / "cpu.cfs_period_us"
        if v1_quota.is_file() and v1_period.is_file():
            quota = _ratio(_read(v1_quota), _read(v1_period))
            if quota is not None:
                return quota
    return None


def whole_cpus(cgroup_root: Path = CGROUP_ROOT) -> int:
    """``usable_cpus`` rounded down, at least 1 (worker counts)."""
    return max(1, math.floor(usable_cpus(cgroup_root)))


def _own_cgroup_dirs(root: Path) -> list[Path]:
    """This process's cgroup directories (v2 unified, v1 cpu controller), then the hierarchy roots."""
    dirs = []
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        _, controllers, rel = (line.split(":", 2) + ["", ""])[:3]
        rel = rel.lstrip("/")
        if controllers == "":
            dirs.append(root / rel)
        elif "cpu" in controllers.split(","):
            dirs += [root / "cpu" / rel, root / "cpu,cpuacct" / rel]
    return dirs + [root, root / "cpu", root / "cpu,cpuacct"]


def _ratio(quota: str, period: str) -> Optional[float]:
    try:
        q, p = float(quota), float(period)
    except ValueError:  # "max" (v2 unlimited) or unreadable
        return None
    return q / p if q > 0 and p > 0 else None


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
