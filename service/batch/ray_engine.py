"""The same batch job on Ray Data: `map_batches` over a pool of actors, one ONNX session each.

Reading and writing go through Ray's Parquet and CSV datasources, so the job runs
unchanged on a cluster (`RAY_ADDRESS`, with the registry and the files on storage
every node sees) and here on a local Ray instance. Rows are converted, validated
and scored by the same functions as the local engine, through `ModelRuntime`.

The output is a folder of part files written by Ray, published by renaming; the
rejects (kept columns and reason; Ray does not number rows) are a folder too.
Ray is imported only here: `pip install 'ferry[ray]'`.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from export.registry import Registry
from service.batch.columns import ColumnPlan
from service.batch.convert import prepare
from service.batch.outputs import REASON, rejects_table, scored_table
from service.batch.planning import Planned, ScoreJob, ScoreResult, plan_job
from service.batch.reader import csv_convert_options
from service.batch.settings import ScoreSettings
from service.batch.writer import output_format
from service.runtime import ModelRuntime

RAW = "__ferry_text__"


class Scorer:
    """A Ray actor: loads the model once, then scores batches of rows (Arrow tables)."""

    def __init__(
        self, registry: str, ref: str, plan: ColumnPlan, scored: pa.Schema, rejects: pa.Schema
    ) -> None:
        self.runtime = ModelRuntime.load(Registry(registry).get(ref))
        self.plan, self.scored, self.rejects = plan, scored, rejects

    def __call__(self, table: pa.Table) -> pa.Table:
        """Scored rows, then rejected rows (outputs null, `reject_reason` set)."""
        batch = _one_batch(table.select(self.plan.read.names), self.plan.read)
        prepared = prepare(batch, self.plan)
        results = self.runtime.run(prepared.inputs) if prepared.inputs else None
        good = scored_table(prepared, results, self.runtime, self.scored, self.plan.keep)
        bad = rejects_table(prepared, self.rejects, self.plan.keep)
        return combine(good, bad, self.scored, self.plan.parsed)


def combine(
    good: pa.RecordBatch, bad: pa.RecordBatch, scored: pa.Schema, parsed: frozenset[str]
) -> pa.Table:
    """One table of both kinds of rows, told apart by a null or set `reject_reason`.

    Kept columns read as text hold numbers in scored rows but the original text in
    rejected rows, so the text travels in a column of its own (`RAW` + name).
    """
    raw = [pa.field(RAW + name, pa.string()) for name in sorted(parsed)]
    schema = pa.schema([*scored, pa.field(REASON, pa.string()), *raw])
    ok = [*good.columns, *(pa.nulls(good.num_rows, f.type) for f in list(schema)[len(scored) :])]
    rejected = [
        bad.column(f.name)
        if f.name in bad.schema.names and f.name not in parsed
        else pa.nulls(bad.num_rows, f.type)
        for f in scored
    ]
    rejected += [bad.column(REASON)] + [bad.column(f.name[len(RAW) :]) for f in raw]
    return pa.Table.from_batches(
        [
            pa.RecordBatch.from_arrays(ok, schema=schema),
            pa.RecordBatch.from_arrays(rejected, schema=schema),
        ]
    )


def run_ray(job: ScoreJob, settings: ScoreSettings | None = None) -> ScoreResult:
    """Run `job` on Ray; the output and rejects appear (as folders of parts) only when complete."""
    settings = settings or ScoreSettings()
    started = time.perf_counter()
    planned = plan_job(job, numbered_rejects=False)
    ray = connect(settings)
    scored = _read(ray, planned).map_batches(
        Scorer,
        fn_constructor_kwargs={
            "registry": str(job.registry.resolve()),
            "ref": f"{planned.manifest.name}:{planned.manifest.version}",
            "plan": planned.plan,
            "scored": planned.scored,
            "rejects": planned.rejects,
        },
        batch_size=job.batch_rows,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=settings.ray_actors),
        num_cpus=settings.ray_num_cpus,
        num_gpus=settings.ray_num_gpus or None,
    )
    scored = scored.materialize()  # scored once, then split (Ray spills to disk as needed)
    reason = ray.data.expressions.col(REASON)
    good = scored.filter(expr=reason.is_null()).select_columns(planned.scored.names)
    parsed = planned.plan.parsed
    bad = scored.filter(expr=reason.is_not_null()).select_columns(
        [RAW + c if c in parsed else c for c in planned.rejects.names]
    )
    if parsed:
        bad = bad.rename_columns({RAW + c: c for c in parsed})
    counts = _write(good, job.output), _write(bad, job.rejects_path)
    return ScoreResult(
        output=job.output,
        rejects=job.rejects_path,
        rows_scored=counts[0],
        rows_rejected=counts[1],
        seconds=time.perf_counter() - started,
        rows_this_run=sum(counts),
        engine="ray",
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


def _read(ray: Any, planned: Planned) -> Any:
    files = [str(p.resolve()) for p in planned.source.files]
    if planned.source.format == "parquet":
        return ray.data.read_parquet(files).select_columns(planned.plan.read.names)
    convert = csv_convert_options(planned.plan.read)
    return ray.data.read_csv(files, convert_options=convert)


def _write(dataset: Any, final: Path) -> int:
    """Write a folder of parts beside `final`, then swap it into place."""
    tmp = final.parent / f".{final.name}.ray-{uuid.uuid4().hex[:12]}"
    if output_format(final) == "parquet":
        dataset.write_parquet(str(tmp))
    else:
        dataset.write_csv(str(tmp))
    tmp.mkdir(exist_ok=True)  # Ray writes no folder for an empty dataset
    rows = dataset.count()
    old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:12]}"
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return int(rows)


def _one_batch(table: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    table = table.cast(schema) if not table.schema.equals(schema) else table
    batches = table.combine_chunks().to_batches()
    if not batches:
        return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)
