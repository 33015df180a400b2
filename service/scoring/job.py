"""A batch scoring job on this machine: stream the input, score, write, resume after a crash.

Part `k` holds input rows `[k * batch_rows, (k + 1) * batch_rows)`. The model's
outputs for each finished part are saved in the work folder as soon as it is
scored, so a job killed at any moment keeps every part it finished. The output and
the rejects are written as the parts stream by, under temporary names, and renamed
into place last. A resumed job reads its input from the start again: finished parts
take their saved outputs instead of running the model. Reading starts while the
model loads. On object storage (`service.scoring.remote`) the input is fetched first,
and each part of the output is stored as its own object as soon as it is written,
committed at the end by the object that names them.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa

from service.runtime import ModelRuntime
from service.runtime.settings import RuntimeSettings
from service.scoring.closing import ClosedOnExit
from service.scoring.convert import Prepared, prepare
from service.scoring.faults import CRASH_AFTER_PARTS, maybe_crash
from service.scoring.memory import use_batch_pool
from service.scoring.outputs import rejects_table, scored_table, unread_rejects
from service.scoring.parts import OutputStore
from service.scoring.pipeline import Stage
from service.scoring.planning import Planned, ScoreJob, ScoreResult, plan_job
from service.scoring.remote import RemoteOutput, fetch_input
from service.scoring.settings import ScoreSettings, scoring_runtime
from service.scoring.state import claim, job_key, locked, remove_stale, work_folder
from service.scoring.writer import TableSink, output_format, publish

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
    use_batch_pool()
    if job.input_url is not None:
        fetch_input(job.input_url, job.input)
    planned = plan_job(job)
    key = work_key(planned)
    remote = remote_output(job, key)
    if remote is not None and (record := remote.finished()) is not None:
        return committed(job, record, started)  # this very job committed it already
    folder = work_folder(job.output, key)
    settings = settings or ScoreSettings()
    with locked(folder), ExitStack() as stages:
        remove_stale(job.output, folder)
        claim(folder, key)
        unread: list[str] = []
        ready = _prepared(planned, settings, unread, stages)  # reading starts now...
        ref = f"{planned.manifest.name}:{planned.manifest.version}"
        base = runtime_settings or RuntimeSettings()
        # ...meanwhile. No warm-up: a part's batch allocates its own shapes whatever ran
        # before, and warming a text model at its max length cost a 500-text job a fifth.
        runtime = ModelRuntime.load(
            planned.registry.get(ref), scoring_runtime(base, settings), warm_up=False
        )
        store, files = OutputStore(folder), WorkFiles.of(job, folder)
        scored = stages.enter_context(
            Stage(_scored(ready, runtime, store, settings.batch_tokens), settings.queue_parts)
        )
        sink = PartSink(remote, folder, planned) if remote else None
        tally = _write_parts(
            planned, runtime, store, files, scored, unread, progress or NoProgress(), sink
        )
        if remote is not None and sink is not None:
            remote.commit(sink.names, files.rejects, tally.counts())
        else:
            publish(files.output, job.output)
            publish(files.rejects, job.rejects_path)
        shutil.rmtree(folder, ignore_errors=True)
    return ScoreResult(
        output=job.shown_output,
        rejects=job.shown_rejects,
        rows_scored=tally.scored,
        rows_rejected=tally.rejected,
        seconds=time.perf_counter() - started,
        rows_this_run=tally.rows_this_run,
        resumed_parts=tally.resumed_parts,
        threads=runtime.placement.threads,
        compute_bound=runtime.placement.compute_bound,
    )


def work_key(planned: Planned, **more: str) -> str:
    """The hash naming a job's work folder: everything that determines its output."""
    job = planned.job
    urls = {"urls": [job.input_url, job.output_url, job.rejects_url]} if job.output_url else {}
    return job_key(
        {
            "model": [planned.manifest.name, planned.manifest.version],
            "input": [str(job.input.resolve()), planned.source.fingerprint()],
            "output": str(job.output.resolve()),
            "rejects": str(job.rejects_path.resolve()),
            "keep": job.keep,
            "batch_rows": job.batch_rows,
            **urls,
            **more,
        }
    )


def remote_output(job: ScoreJob, key: str) -> RemoteOutput | None:
    """Where a job on object storage commits its output, or None for a local output."""
    if job.output_url is None or job.rejects_url is None:
        return None
    return RemoteOutput(job.output_url, job.rejects_url, key, job.output.suffix)


def committed(job: ScoreJob, record: dict[str, object], started: float) -> ScoreResult:
    """The result of a job whose output was committed by an earlier run."""
    return ScoreResult(
        output=job.shown_output,
        rejects=job.shown_rejects,
        rows_scored=int(str(record["scored"])),
        rows_rejected=int(str(record["rejected"])),
        seconds=time.perf_counter() - started,
        rows_this_run=0,
        resumed_parts=len(record["parts"]),  # type: ignore[arg-type]
        engine=str(record.get("engine", "local")),
    )


@dataclass
class Tally:
    """Rows scored and rejected by the whole job, and what this run did itself."""

    scored: int = 0
    rejected: int = 0
    rows_this_run: int = 0
    parts_this_run: int = 0
    resumed_parts: int = 0

    def counts(self) -> dict[str, int | str]:
        """What the commit object of an output records."""
        return {"scored": self.scored, "rejected": self.rejected}


@dataclass(frozen=True)
class WorkFiles:
    """The output and the rejects while they are written, in the work folder."""

    output: Path
    rejects: Path

    @classmethod
    def of(cls, job: ScoreJob, folder: Path) -> WorkFiles:
        """Temporary names with the final files' suffixes (which choose their formats)."""
        return cls(
            folder / f"output{job.output.suffix}", folder / f"rejects{job.rejects_path.suffix}"
        )


Scored = tuple[Prepared, dict[str, np.ndarray] | None, bool]  # part, outputs, scored now


def _prepared(
    planned: Planned, settings: ScoreSettings, unread: list[str], stages: ExitStack
) -> Stage[Prepared]:
    """Parts read in one thread and converted in another, starting at once."""
    rows, plan, depth = planned.job.batch_rows, planned.plan, settings.queue_parts

    def on_invalid(file: str, reason: str) -> None:
        unread.append(f"{file}: {reason}")

    parts = stages.enter_context(Stage(planned.source.parts(plan.read, rows, 0, on_invalid), depth))
    prepared = (prepare(b, plan, i, i * rows) for i, b in enumerate(parts))
    return stages.enter_context(Stage(prepared, depth))


def _scored(
    ready: Iterable[Prepared], runtime: ModelRuntime, store: OutputStore, batch_tokens: int
) -> Iterator[Scored]:
    """Each part with its outputs: those an earlier run saved, up to the first part whose
    file is missing or torn; from there on, the model's."""
    names = [spec.name for spec in runtime.signature.outputs]
    saved = store.count()
    for part in ready:
        good = len(next(iter(part.inputs.values()))) if part.inputs else 0
        if part.index < saved:
            whole, outputs = store.load(part.index, names, good)
            if whole:
                yield part, outputs, False
                continue
            saved = part.index
        yield part, runtime.predict(part.inputs, batch_tokens) if part.inputs else None, True


def _write_parts(
    planned: Planned,
    runtime: ModelRuntime,
    store: OutputStore,
    files: WorkFiles,
    scored_parts: Iterable[Scored],
    unread: list[str],
    progress: Progress,
    parts: PartSink | None = None,
) -> Tally:
    """Stream every part into the output (or its parts) and the rejects, saving the
    outputs of new ones."""
    job, tally, keep = planned.job, Tally(), planned.plan.keep
    with (
        parts or TableSink(files.output, planned.scored, output_format(job.output)) as sink,
        TableSink(files.rejects, planned.rejects, output_format(job.rejects_path)) as rejects,
    ):
        progress.start(planned.source.total_rows(), 0)
        for prepared, results, fresh in scored_parts:
            scored = scored_table(prepared, results, runtime, planned.scored, keep)
            rejected = rejects_table(prepared, planned.rejects, keep)
            if fresh:
                store.save(prepared.index, results)
                tally.parts_this_run += 1
                tally.rows_this_run += prepared.batch.num_rows
            else:
                tally.resumed_parts += 1
            sink.write(scored)
            rejects.write(rejected)
            tally.scored += scored.num_rows
            tally.rejected += rejected.num_rows
            progress.advance(prepared.batch.num_rows)
            maybe_crash(tally.parts_this_run)
        if unread:
            rejects.write(unread_rejects(unread, planned.rejects))
            tally.rejected += len(unread)
    return tally


class PartSink(ClosedOnExit):
    """An output on object storage: each part written is stored as its own object at once
    (unless an earlier run of the job stored it); `names` lists them, in order."""

    def __init__(self, remote: RemoteOutput, folder: Path, planned: Planned) -> None:
        self.remote, self.folder, self.planned = remote, folder, planned
        self.stored = remote.stored()
        self.names: list[str] = []

    def write(self, data: pa.RecordBatch) -> None:
        """Store one part's rows (an empty part too: part `k` is always the `k`th)."""
        job = self.planned.job
        path = self.folder / f"part{job.output.suffix}"
        with TableSink(path, self.planned.scored, output_format(job.output)) as sink:
            sink.write(data)
        self.names.append(self.remote.put_part(len(self.names), path, self.stored))
        path.unlink()

    def close(self) -> None:
        """Nothing stays open between parts."""
