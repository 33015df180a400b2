"""The cores a process may use, read from fake cgroup trees laid out like the kernel's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.runtime.cores import available_cores, cpu_quota


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def v2_tree(tmp_path: Path, own: str, parent: str = "max 100000", where: str = "") -> Path:
    """A cgroup v2 hierarchy with the process in /kubepods/pod1 (`where`: e.g. "unified")."""
    mount = tmp_path / "cg" / where if where else tmp_path / "cg"
    write(mount / "cgroup.controllers", "cpu io memory\n")
    write(mount / "kubepods" / "cpu.max", parent + "\n")
    write(mount / "kubepods" / "pod1" / "cpu.max", own + "\n")
    write(tmp_path / "proc-cgroup", "0::/kubepods/pod1\n")
    return tmp_path / "cg"


def v1_tree(tmp_path: Path, quota: int, period: int = 100000, name: str = "cpu,cpuacct") -> Path:
    mount = tmp_path / "cg" / name
    write(mount / "cpu.cfs_quota_us", "-1\n")
    write(mount / "cpu.cfs_period_us", "100000\n")
    write(mount / "docker" / "abc" / "cpu.cfs_quota_us", f"{quota}\n")
    write(mount / "docker" / "abc" / "cpu.cfs_period_us", f"{period}\n")
    write(
        tmp_path / "proc-cgroup",
        f"12:memory:/docker/abc\n4:{name}:/docker/abc\n0::/docker/abc\n",
    )
    return tmp_path / "cg"


def cores(root: Path, tmp_path: Path, affinity: int = 16) -> int:
    return available_cores(root, tmp_path / "proc-cgroup", lambda: affinity)


def test_cgroup_v2_quota_caps_the_affinity(tmp_path: Path) -> None:
    root = v2_tree(tmp_path, "200000 100000")
    assert cpu_quota(root, tmp_path / "proc-cgroup") == 2.0
    assert cores(root, tmp_path) == 2


def test_a_parent_cgroups_tighter_quota_binds_its_child(tmp_path: Path) -> None:
    root = v2_tree(tmp_path, "400000 100000", parent="300000 100000")
    assert cores(root, tmp_path) == 3


def test_no_v2_limit_leaves_the_affinity(tmp_path: Path) -> None:
    root = v2_tree(tmp_path, "max 100000")
    assert cpu_quota(root, tmp_path / "proc-cgroup") is None
    assert cores(root, tmp_path, affinity=6) == 6


def test_a_fractional_quota_rounds_down_but_never_below_one(tmp_path: Path) -> None:
    assert cores(v2_tree(tmp_path / "a", "150000 100000"), tmp_path / "a") == 1
    assert cores(v2_tree(tmp_path / "b", "50000 100000"), tmp_path / "b") == 1
    assert cores(v2_tree(tmp_path / "c", "250000 100000"), tmp_path / "c") == 2


def test_affinity_below_the_quota_wins(tmp_path: Path) -> None:
    root = v2_tree(tmp_path, "800000 100000")
    assert cores(root, tmp_path, affinity=3) == 3


def test_hybrid_hierarchy_reads_the_unified_mount(tmp_path: Path) -> None:
    root = v2_tree(tmp_path, "200000 100000", where="unified")
    assert cores(root, tmp_path) == 2


@pytest.mark.parametrize("name", ["cpu,cpuacct", "cpu"])
def test_cgroup_v1_cfs_quota_over_period(tmp_path: Path, name: str) -> None:
    root = v1_tree(tmp_path, quota=350000, name=name)
    assert cpu_quota(root, tmp_path / "proc-cgroup") == 3.5
    assert cores(root, tmp_path) == 3


def test_cgroup_v1_without_a_quota_is_no_limit(tmp_path: Path) -> None:
    root = v1_tree(tmp_path, quota=-1)
    assert cores(root, tmp_path, affinity=5) == 5


def test_a_container_sees_its_own_cgroup_as_the_mount_root(tmp_path: Path) -> None:
    # /proc/self/cgroup names the host path, but the mount holds only this cgroup
    mount = tmp_path / "cg"
    write(mount / "cgroup.controllers", "cpu\n")
    write(mount / "cpu.max", "100000 100000\n")
    write(tmp_path / "proc-cgroup", "0::/system.slice/docker-1.scope\n")
    assert cores(mount, tmp_path) == 1


def test_no_cgroup_files_at_all_is_the_affinity(tmp_path: Path) -> None:
    assert cores(tmp_path / "missing", tmp_path, affinity=4) == 4


def test_garbage_in_the_files_counts_as_no_limit(tmp_path: Path) -> None:
    root = v2_tree(tmp_path, "lots 100000")
    assert cores(root, tmp_path, affinity=7) == 7


def test_this_process_gets_at_least_one_core_and_no_more_than_its_affinity() -> None:
    assert 1 <= available_cores() <= len(os.sched_getaffinity(0))
