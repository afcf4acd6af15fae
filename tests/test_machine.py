"""Usable CPUs: affinity and cgroup quotas (Gradescope gives a fraction of a CPU)."""

from __future__ import annotations

import os
from pathlib import Path

from grader import machine


def _affinity() -> int:
    return len(os.sched_getaffinity(0))


def test_no_quota_means_the_affinity_mask(tmp_path: Path) -> None:
    assert machine.cgroup_cpu_quota(tmp_path) is None
    assert machine.usable_cpus(tmp_path) == _affinity()


def test_cgroup_v2_half_a_cpu(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert machine.cgroup_cpu_quota(tmp_path) == 0.5
    assert machine.usable_cpus(tmp_path) == 0.5
    assert machine.whole_cpus(tmp_path) == 1


def test_cgroup_v2_unlimited(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert machine.cgroup_cpu_quota(tmp_path) is None


def test_cgroup_v1_cfs_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("150000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert machine.cgroup_cpu_quota(tmp_path) == 1.5
    assert machine.usable_cpus(tmp_path) == min(1.5, _affinity())


def test_cgroup_v1_unlimited_is_minus_one(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert machine.cgroup_cpu_quota(tmp_path) is None
