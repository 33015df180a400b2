"""A batch scoring job on this machine: stream the input, score, write, resume after a crash.

Part `k` holds input rows `[k * batch_rows, (k + 1) * batch_rows)`. Each finished
part is saved in the work folder before the progress file counts it, so a job
killed at any moment restarts after its last counted part. The output and the
rejects file are assembled under temporary names and renamed into place last.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from service.batch.convert import Prepared, prepare
from service.batch.faults import CRASH_AFTER_PARTS, maybe_crash
from service.batch.outputs import rejects_table, scored_table, unread_rejects
from service.batch.parts import PartStore
from service.batch.pipeline import background
from service.batch.planning import Planned, ScoreJob, ScoreResult, plan_job
from service.batch.settings import ScoreSettings
from service.batch.state import (
    JobState,
    job_key,
    load_state,
    locked,
    remove_stale,
    save_state,
    work_folder,
)
from service.batch.writer import TableSink, output_format, publish
from service.runtime import ModelRuntime
from service.settings import RuntimeSettings

__all__ = ["CRASH_AFTER_PARTS", "NoProgress", "Progress", "ScoreJob", "ScoreResult", "run_local"]


class Progress(Protocol):
    """Where a job reports how far it is (a progress bar, or nothing)."""

    def start(self, total: int | None, done: int) -> None: ...

    def advance(self, rows: int) -> None: ...


class NoProgress:
    """Reports nothing."""

    def start(self, total: int | None, done: int) -> None:
        """Ignore the start."""

    def advance(self, rows: int) -> None:
        """Ignore progress."""


def run_local(
    job: ScoreJob,
    progress: Progress | None = None,
    settings: ScoreSettings | None = None,
    runtime_settings: RuntimeSettings | None = None,
) -> ScoreResult:
    """Run `job` on this machine, resuming from its work folder if an earlier run was killed."""
    started = time.perf_counter()
    planned = plan_job(job)
    key = work_key(planned)
    folder = work_folder(job.output, key)
    with locked(folder):
        remove_stale(job.output, folder)
        ref = f"{planned.manifest.name}:{planned.manifest.version}"
        runtime = ModelRuntime.load(planned.registry.get(ref), runtime_settings)
        resumed, after, unread = _score_parts(
            planned,
            runtime,
            folder,
            load_state(folder, key),
            progress or NoProgress(),
            settings or ScoreSettings(),
        )
        _finish(planned, folder, after, unread)
        shutil.rmtree(folder, ignore_errors=True)
    return ScoreResult(
        output=job.output,
        rejects=job.rejects_path,
        rows_scored=after.rows_scored,
        rows_rejected=after.rows_rejected + len(unread),
        seconds=time.perf_counter() - started,
        rows_this_run=after.rows - resumed.rows,
        resumed_parts=resumed.parts_done,
    )


def work_key(planned: Planned, **more: str) -> str:
    """The hash naming a job's work folder: everything that determines its output."""
    job = planned.job
    return job_key(
        {
            "model": [planned.manifest.name, planned.manifest.version],
            "input": [str(job.input.resolve()), planned.source.fingerprint()],
            "output": str(job.output.resolve()),
            "rejects": str(job.rejects_path.resolve()),
            "keep": job.keep,
            "batch_rows": job.batch_rows,
            **more,
        }
    )


def _score_parts(
    planned: Planned,
    runtime: ModelRuntime,
    folder: Path,
    state: JobState,
    progress: Progress,
    settings: ScoreSettings,
) -> tuple[JobState, JobState, list[str]]:
    """Score the parts not yet done, appending every part to the output as it finishes.

    Returns the state found on disk (the parts resumed), the final state, and the lines
    the reader could not parse.
    """
    job, store = planned.job, PartStore(folder)
    whole = store.whole(state.parts_done)
    if whole != state.parts_done:  # a part torn by a power failure: redo it
        state = _recount(store, state.key, whole)
    start, resumed = state, state.parts_done
    unread: list[str] = []
    fmt = output_format(job.output)
    with TableSink(folder / f"output{job.output.suffix}", planned.scored, fmt) as sink:
        for index in range(resumed):
            sink.write(store.scored(index))
        progress.start(planned.source.total_rows(), state.rows)
        for prepared, results in _stream(planned, runtime, resumed, settings, unread):
            keep = planned.plan.keep
            scored = scored_table(prepared, results, runtime, planned.scored, keep)
            rejected = rejects_table(prepared, planned.rejects, keep)
            store.write(prepared.index, scored, rejected)
            state = state.advanced(scored.num_rows, rejected.num_rows)
            save_state(folder, state)
            sink.write(scored)
            progress.advance(prepared.batch.num_rows)
            maybe_crash(state.parts_done - resumed)
    return start, state, unread


def _recount(store: PartStore, key: str, parts: int) -> JobState:
    state = JobState(key)
    for index in range(parts):
        state = state.advanced(store.scored(index).num_rows, store.rejects(index).num_rows)
    return state


def _stream(
    planned: Planned,
    runtime: ModelRuntime,
    first_part: int,
    settings: ScoreSettings,
    unread: list[str],
) -> Iterator[tuple[Prepared, dict[str, np.ndarray] | None]]:
    """Read and convert in one thread, run the model in another, hand results to the caller."""
    rows, plan = planned.job.batch_rows, planned.plan

    def on_invalid(file: str, reason: str) -> None:
        unread.append(f"{file}: {reason}")

    parts = planned.source.parts(plan.read, rows, first_part * rows, on_invalid)
    prepared = (prepare(b, plan, i, i * rows) for i, b in enumerate(parts, start=first_part))
    ready = background(prepared, settings.queue_parts)
    scored = ((p, runtime.run(p.inputs) if p.inputs else None) for p in ready)
    return background(scored, settings.queue_parts)


def _finish(planned: Planned, folder: Path, state: JobState, unread: list[str]) -> None:
    """Assemble the rejects, then rename the output and the rejects into place."""
    job, store = planned.job, PartStore(folder)
    rejects_tmp = folder / f"rejects{job.rejects_path.suffix}"
    with TableSink(rejects_tmp, planned.rejects, output_format(job.rejects_path)) as sink:
        for index in range(state.parts_done if state.rows_rejected else 0):
            sink.write(store.rejects(index))
        if unread:
            sink.write(unread_rejects(unread, planned.rejects))
    publish(folder / f"output{job.output.suffix}", job.output)
    publish(rejects_tmp, job.rejects_path)
