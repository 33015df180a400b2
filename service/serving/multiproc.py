"""One Prometheus multiprocess folder per service instance.

BentoML points every server it starts at `$BENTOML_HOME/prometheus_multiproc_dir`
and empties that folder at start, so a second BentoML process on the host (any
`bentoml serve`) wiped the series of a ferry already running. A ferry worker moves
to a folder of its own instance (its BentoML arbiter: pid and start time), shared
by that instance's workers and by nothing else, before prometheus_client opens
any file; folders of instances no longer running are removed.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import MutableMapping
from pathlib import Path

import psutil

from service.serving.settings import MetricsSettings

log = logging.getLogger("ferry.service")
VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
BENTOML_FOLDER = "prometheus_multiproc_dir"  # BentoML's shared folder under its home


def use_own_folder(environ: MutableMapping[str, str] | None = None) -> Path | None:
    """Move this worker's metrics to its instance's folder, if BentoML gave it the
    shared one (`FERRY_METRICS_DIR` chooses where instance folders go). Returns the
    folder, or None when there is nothing to move (not a BentoML worker)."""
    env = os.environ if environ is None else environ
    shared = env.get(VARIABLE)
    if not shared or Path(shared).name != BENTOML_FOLDER:
        return None
    base = MetricsSettings().metrics_dir or Path(shared).parent / "ferry-prometheus"
    folder = base / instance_id(os.getppid())
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale(base, keep=folder.name)
    env[VARIABLE] = str(folder)
    return folder


def instance_id(pid: int) -> str:
    """`<pid>-<start time>` of a process: unique even when pids are reused."""
    try:
        started = int(psutil.Process(pid).create_time())
    except psutil.Error:
        started = 0
    return f"{pid}-{started}"


def remove_stale(base: Path, keep: str) -> None:
    """Remove the folders of instances whose process is gone."""
    for folder in base.iterdir():
        pid = folder.name.split("-")[0]
        if folder.name == keep or not pid.isdigit():
            continue
        if instance_id(int(pid)) != folder.name:
            shutil.rmtree(folder, ignore_errors=True)
            log.info("removed the metrics of a stopped instance: %s", folder)
