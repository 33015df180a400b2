"""A job's work folder: what makes a killed job resumable.

The work folder sits next to the output (same file system, so publishing is a
rename) and is named after a hash of everything that determines the result:
the model version, the input files' names, sizes and modification times, and
the job's arguments. The same command after a crash finds the same folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from service.scoring.errors import JobBusy

JOB = "job.json"
LOCK = ".lock"
FORMAT = 2  # bump when work folders of an older ferry could differ


def job_key(fields: dict[str, Any]) -> str:
    """A stable hash of what determines a job's output."""
    text = json.dumps({"format": FORMAT, **fields}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def work_folder(output: Path, key: str) -> Path:
    """The hidden folder beside `output` where the job with `key` keeps its parts."""
    return output.parent / f".{output.name}.ferry-{key[:16]}"


def claim(folder: Path, key: str) -> None:
    """Make `folder` the work folder of the job with `key`: another job's parts are dropped.

    The folder's name holds only the start of the key; `job.json` holds all of it.
    """
    record = folder / JOB
    try:
        mine = json.loads(record.read_text()).get("key") == key
    except (OSError, ValueError, AttributeError):
        mine = False
    if mine:
        return
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        elif path.name != LOCK:
            path.unlink()
    tmp = folder / f".{JOB}.tmp"
    tmp.write_text(json.dumps({"key": key}) + "\n")
    os.replace(tmp, record)


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the job's lock; a second process running the same job gets `JobBusy`."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise JobBusy(f"another process is writing {folder}; wait for it") from err
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_stale(output: Path, keep: Path) -> None:
    """Drop work folders of earlier jobs with other arguments that wrote to `output`."""
    for folder in output.parent.glob(f".{output.name}.ferry-*"):
        if folder != keep and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
