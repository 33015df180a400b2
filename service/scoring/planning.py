"""A job's definition, its result, and the checks made before any row is scored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from export.manifest import Manifest
from export.registry import Registry
from service.scoring.columns import ColumnPlan, plan_columns
from service.scoring.outputs import output_schema, rejects_schema, reserved_names
from service.scoring.reader import Source
from service.scoring.writer import output_format


@dataclass(frozen=True)
class ScoreJob:
    """Everything that defines a job: the same job after a crash resumes where it stopped."""

    model: str
    input: Path
    output: Path
    registry: Path = Path("registry")
    keep: tuple[str, ...] | None = None
    rejects: Path | None = None
    batch_rows: int = 65536

    @property
    def rejects_path(self) -> Path:
        """`--rejects`, by default `<output stem>.rejects<suffix>` beside the output."""
        out = self.output
        return self.rejects or out.with_name(f"{out.stem}.rejects{out.suffix}")


@dataclass(frozen=True)
class ScoreResult:
    """What a finished job did (row counts cover the whole job, time only this run)."""

    output: Path
    rejects: Path
    rows_scored: int
    rows_rejected: int
    seconds: float
    rows_this_run: int
    resumed_parts: int = 0
    engine: str = "local"
    threads: int = 1  # ONNX Runtime threads the model ran on (its placement)
    compute_bound: bool | None = None  # as its placement measured it (None: not measured)

    @property
    def rows_per_second(self) -> float:
        """Rows read (scored or rejected) per second in this run."""
        return self.rows_this_run / max(self.seconds, 1e-9)


@dataclass(frozen=True)
class Planned:
    """A job checked against its model and input, before any row is scored."""

    job: ScoreJob
    registry: Registry
    manifest: Manifest
    source: Source
    plan: ColumnPlan
    scored: pa.Schema
    rejects: pa.Schema


def plan_job(job: ScoreJob) -> Planned:
    """Resolve the model, open the input and match columns; fails fast on any mismatch."""
    registry = Registry(job.registry)
    manifest = registry.get(job.model, verify=False).manifest
    source = Source.open(job.input)
    text_output = "csv" in (output_format(job.output), output_format(job.rejects_path))
    plan = plan_columns(
        manifest,
        source.schema(),
        job.keep,
        reserved_names(manifest),
        text_output=text_output,
        text_input=source.format == "csv",
    )
    scored = output_schema(plan, manifest)
    return Planned(job, registry, manifest, source, plan, scored, rejects_schema(plan))
