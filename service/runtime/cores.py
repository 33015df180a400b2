"""How many cores this process may really use: CPU affinity and the cgroup CPU quota.

`os.cpu_count()` counts the host's cores. A container limited to 2 CPUs on a
64-core node (`docker run --cpus 2`, a Kubernetes CPU limit) is throttled by its
cgroup's CPU quota, and a process pinned with `taskset` or a cpuset may run on
fewer cores still; sizing thread pools from the host count oversubscribes both.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def available_cores(
    root: Path = CGROUP_ROOT,
    proc_cgroup: Path = PROC_CGROUP,
    affinity: Callable[[], int] | None = None,
) -> int:
    """The cores this process may use: its affinity, capped by its cgroup's CPU quota.

    A fractional quota (1.5 CPUs) rounds down, as Go's automaxprocs does: a second
    thread could only run half the time before the quota throttles both. Never below 1.
    """
    cores = (affinity or _affinity)()
    quota = cpu_quota(root, proc_cgroup)
    if quota is not None:
        cores = min(cores, int(quota))
    return max(1, cores)


def cpu_quota(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """CPUs' worth of time the cgroup (v2 `cpu.max`, v1 `cpu.cfs_quota_us`) allows; None: no limit.

    The tightest limit on the way from the process's cgroup up to the root counts:
    a parent's quota binds its children. Files that cannot be read count as no limit.
    """
    paths = _cgroup_paths(proc_cgroup)
    limits: list[float] = []
    for folder in _v2_folders(root, paths.get("")):
        limits += _read_v2(folder / "cpu.max")
    for controllers, path in paths.items():
        if "cpu" in controllers.split(","):
            for folder in _v1_folders(root, controllers, path):
                limits += _read_v1(folder / "cpu.cfs_quota_us", folder / "cpu.cfs_period_us")
    return min(limits) if limits else None


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cgroup_paths(proc_cgroup: Path) -> dict[str, str]:
    """Controllers → cgroup path, from `/proc/self/cgroup` (`""` is the v2 hierarchy)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return {}
    paths = {}
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            paths[parts[1]] = parts[2]
    return paths


def _ancestry(mount: Path, path: str | None) -> list[Path]:
    """The cgroup's folder and its parents up to the mount, or only the mount when the
    path is not visible there (a container's own cgroup mounted as the root)."""
    parts = [p for p in (path or "").split("/") if p]
    folders = [mount.joinpath(*parts[:i]) for i in range(len(parts), 0, -1)]
    return [f for f in folders if f.is_dir()] + [mount]


def _v2_folders(root: Path, path: str | None) -> list[Path]:
    for mount in (root, root / "unified"):
        if (mount / "cgroup.controllers").is_file():
            return _ancestry(mount, path)
    return []


def _v1_folders(root: Path, controllers: str, path: str) -> list[Path]:
    for name in (controllers, "cpu,cpuacct", "cpu"):
        mount = root / name
        if (mount / "cpu.cfs_quota_us").is_file():
            return _ancestry(mount, path)
    return []


def _read_v2(path: Path) -> list[float]:
    """`cpu.max`: "max 100000" (no limit) or "200000 100000" (2 CPUs)."""
    try:
        quota, period = path.read_text().split()[:2]
        return [] if quota == "max" else [int(quota) / int(period)]
    except (OSError, ValueError):
        return []


def _read_v1(quota_file: Path, period_file: Path) -> list[float]:
    """`cpu.cfs_quota_us` (-1: no limit) over `cpu.cfs_period_us`."""
    try:
        quota, period = int(quota_file.read_text()), int(period_file.read_text())
    except (OSError, ValueError):
        return []
    return [quota / period] if quota > 0 and period > 0 else []
