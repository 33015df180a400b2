"""The same batch job on Ray Data: units of the input over a pool of actors, one ONNX session each.

Ray Data hands the job's units (`units.py`: `batch_rows` rows of Parquet, or one CSV
file) to `map_batches` over an actor pool (`FERRY_SCORE_RAY_ACTORS`, GPUs per actor
from `FERRY_SCORE_RAY_NUM_GPUS`). Each actor reads its unit with the local engine's
reader, scores it through `ModelRuntime` and commits it to the work folder
(`staging.py`). Ray's own datasources cannot say where in its file a row came from,
which numbered rejects and resumption both need; units can, and they let a killed
job skip every unit it finished. The output is the folder of the units' part files,
renamed into place when all are done; the rejects are one file, numbered and
ordered exactly like the local engine's.

On object storage (`s3://…` input and output, `service.scoring.remote`), the input is
fetched by the driver and each unit's part is stored as its own object, committed by
the object that names them. On a cluster (`RAY_ADDRESS`) the registry may be `s3://`,
but the input and the job's work folder must be on storage every node sees. Ray is
imported only here: `pip install 'ferry[ray]'`.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from export.registry import Registry
from service.runtime import ModelRuntime, RuntimeSettings
from service.scoring.faults import maybe_crash
from service.scoring.job import NoProgress, Progress, committed, remote_output, work_key
from service.scoring.memory import use_batch_pool
from service.scoring.outputs import ROW, unread_rejects
from service.scoring.planning import Planned, ScoreJob, ScoreResult, plan_job
from service.scoring.remote import RemoteOutput, fetch_input
from service.scoring.settings import ScoreSettings
from service.scoring.staging import UnitDone, UnitStore
from service.scoring.state import locked, remove_stale, work_folder
from service.scoring.unit_job import UnitWork, score_unit
from service.scoring.units import Unit, plan_units
from service.scoring.writer import TableSink, output_format, publish


class UnitScorer:
    """A Ray actor: loads the model once, then scores the units it is handed."""

    def __init__(self, work: UnitWork) -> None:
        self.work = work
        use_batch_pool()
        # The CPUs the actor reserves, as one instance's threads, whatever serving asks for.
        settings = RuntimeSettings().model_copy(
            update={
                "intra_op_threads": work.threads,
                "model_threads": {},
                "instances": 1,
                "model_instances": {},
            }
        )
        self.runtime = ModelRuntime.load(
            Registry(work.registry).get(work.ref), settings, warm_up=False
        )

    def __call__(self, batch: pa.Table) -> pa.Table:
        """One row per unit: its index and the rows it scored and rejected."""
        rows = []
        for item in batch.to_pylist():
            done = score_unit(self.work, unit_of(item), self.runtime)
            rows.append({"unit": item["unit"], "scored": done.scored, "rejected": done.rejected})
        return pa.Table.from_pylist(rows)


def run_ray(
    job: ScoreJob, settings: ScoreSettings | None = None, progress: Progress | None = None
) -> ScoreResult:
    """Run `job` on Ray, resuming from its work folder; the output appears when complete."""
    settings, progress = settings or ScoreSettings(), progress or NoProgress()
    started = time.perf_counter()
    if job.input_url is not None:
        fetch_input(job.input_url, job.input)
    planned = plan_job(job)
    key = work_key(planned, engine="ray")
    remote = remote_output(job, key)
    if remote is not None and (record := remote.finished()) is not None:
        return committed(job, record, started)
    folder = work_folder(job.output, key)
    with locked(folder):
        remove_stale(job.output, folder)
        store = UnitStore(folder, job.output)
        units = plan_units(planned.source, job.batch_rows)
        done = store.done()
        resumed = sum(d.rows for d in done.values())
        progress.start(planned.source.total_rows(), resumed)
        pending = [u for u in units if u.index not in done]
        for index, finished in _score(planned, folder, pending, settings):
            done[index] = finished
            progress.advance(finished.rows)
            maybe_crash(len(done) - (len(units) - len(pending)))
        done = store.done()  # with the lines the reader skipped
        rejected = _publish(planned, store, units, done, remote)
        shutil.rmtree(folder, ignore_errors=True)
    scored = sum(d.scored for d in done.values())
    return ScoreResult(
        output=job.shown_output,
        rejects=job.shown_rejects,
        rows_scored=scored,
        rows_rejected=rejected,
        seconds=time.perf_counter() - started,
        rows_this_run=scored + sum(d.rejected for d in done.values()) - resumed,
        resumed_parts=len(units) - len(pending),
        engine="ray",
        threads=max(1, int(settings.ray_num_cpus)),  # per actor
    )


def connect(settings: ScoreSettings | None = None) -> Any:
    """Import Ray and join `RAY_ADDRESS`, or start a local instance; returns the module."""
    # Ray Data reads its log level when imported; one INFO line per plan step otherwise.
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")
    import ray

    settings = settings or ScoreSettings()
    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init(log_to_driver=False)
        else:
            ray.init(num_cpus=settings.ray_local_cpus, include_dashboard=False, log_to_driver=False)
    return ray


def unit_of(item: dict[str, Any]) -> Unit:
    """A unit from the row Ray Data carries it in."""
    rows = item["rows"]
    return Unit(item["unit"], tuple(Path(f) for f in item["files"]), item["skip"], rows)


def _score(
    planned: Planned, folder: Path, pending: list[Unit], settings: ScoreSettings
) -> Iterator[tuple[int, UnitDone]]:
    """Score `pending` on Ray, yielding each unit as an actor finishes it."""
    if not pending:
        return
    ray = connect(settings)
    ray.data.DataContext.get_current().enable_progress_bars = False  # the job shows its own
    job = planned.job
    work = UnitWork(
        registry=planned.registry.url,
        ref=f"{planned.manifest.name}:{planned.manifest.version}",
        source=planned.source,
        plan=planned.plan,
        scored=planned.scored,
        rejects=planned.rejects,
        batch_rows=job.batch_rows,
        folder=folder.resolve(),
        output=job.output,
        threads=max(1, int(settings.ray_num_cpus)),
        batch_tokens=settings.batch_tokens,
    )
    items = [
        {"unit": u.index, "files": [str(f) for f in u.files], "skip": u.skip, "rows": u.rows}
        for u in pending
    ]
    # One block per unit, so that idle actors take the next unit as soon as they are free.
    finished = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        UnitScorer,
        fn_constructor_kwargs={"work": work},
        batch_size=1,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=settings.ray_actors),
        num_cpus=settings.ray_num_cpus,
        num_gpus=settings.ray_num_gpus or None,
    )
    for row in finished.iter_rows():
        yield int(row["unit"]), UnitDone(int(row["scored"]), int(row["rejected"]))


def _publish(
    planned: Planned,
    store: UnitStore,
    units: list[Unit],
    done: dict[int, UnitDone],
    remote: RemoteOutput | None = None,
) -> int:
    """Write the numbered rejects, then rename them and the output folder into place
    (on object storage: store the parts, then commit them with the rejects).

    Returns the rows rejected, counting the lines the reader skipped.
    """
    job = planned.job
    tmp = store.folder / f"rejects{job.rejects_path.suffix}"
    first_row, rejected = 0, 0
    with TableSink(tmp, planned.rejects, output_format(job.rejects_path)) as sink:
        for unit in units:
            table = store.rejects(unit.index)
            rows = pc.add(table.column(ROW), pa.scalar(first_row, pa.int64()))
            sink.write(table.set_column(0, ROW, rows))
            first_row += done[unit.index].rows
            rejected += table.num_rows
        unread = [line for unit in units for line in done[unit.index].unread]
        if unread:
            sink.write(unread_rejects(unread, planned.rejects))
    if remote is not None:
        stored = remote.stored()
        names = [remote.put_part(u.index, store.part_path(u.index), stored) for u in units]
        scored = sum(d.scored for d in done.values())
        counts: dict[str, int | str] = {
            "scored": scored,
            "rejected": rejected + len(unread),
            "engine": "ray",
        }
        remote.commit(names, tmp, counts)
        return rejected + len(unread)
    # Rejects first: killed between the two renames, the job can still rebuild them,
    # while the output's parts have already left the work folder.
    publish(tmp, job.rejects_path)
    store.drop_unfinished()
    _replace_folder(store.output, job.output)
    return rejected + len(unread)


def _replace_folder(folder: Path, final: Path) -> None:
    """Move a finished folder to `final`, replacing whatever was there."""
    folder.mkdir(exist_ok=True)  # a job without rows has no parts
    old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:12]}"
    if final.exists():
        os.replace(final, old)
    os.replace(folder, final)
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)
