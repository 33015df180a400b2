"""A job's work folder and progress file: what makes a killed job resumable.

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
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from service.batch.errors import JobBusy

STATE = "state.json"
LOCK = ".lock"
FORMAT = 1  # bump when parts written by an older ferry could differ


@dataclass(frozen=True)
class JobState:
    """How far a job got: parts finished and the rows they scored and rejected."""

    key: str
    parts_done: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0

    @property
    def rows(self) -> int:
        """Input rows the finished parts hold."""
        return self.rows_scored + self.rows_rejected

    def advanced(self, scored: int, rejected: int) -> JobState:
        """The state after one more part."""
        return replace(
            self,
            parts_done=self.parts_done + 1,
            rows_scored=self.rows_scored + scored,
            rows_rejected=self.rows_rejected + rejected,
        )


def job_key(fields: dict[str, Any]) -> str:
    """A stable hash of what determines a job's output."""
    text = json.dumps({"format": FORMAT, **fields}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def work_folder(output: Path, key: str) -> Path:
    """The hidden folder beside `output` where the job with `key` keeps its parts."""
    return output.parent / f".{output.name}.ferry-{key[:16]}"


def load_state(folder: Path, key: str) -> JobState:
    """The saved state of the job, or a fresh one if none (or another job's) is saved."""
    path = folder / STATE
    try:
        data = json.loads(path.read_text())
        state = JobState(**data)
    except (OSError, ValueError, TypeError):
        return JobState(key)
    return state if state.key == key else JobState(key)


def save_state(folder: Path, state: JobState) -> None:
    """Replace the state file atomically (readers see the old state or the new one).

    Not fsynced, like the parts: a resumed job re-checks the parts the state counts.
    """
    tmp = folder / f".{STATE}.tmp"
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    os.replace(tmp, folder / STATE)


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
