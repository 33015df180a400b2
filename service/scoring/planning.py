"""A job's definition, its result, and the checks made before any row is scored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from export.manifest import Manifest
from export.registry import Registry
from service.scoring.columns import ColumnPlan, plan_columns
from service.scoring.errors import InputError
from service.scoring.outputs import output_schema, rejects_schema, reserved_names
from service.scoring.paths import check_paths
from service.scoring.reader import Source
from service.scoring.remote import is_remote, local_name, rejects_beside, staging
from service.scoring.writer import output_format


@dataclass(frozen=True)
class ScoreJob:
    """Everything that defines a job: the same job after a crash resumes where it stopped.

    `input` and `output` are local paths; a job on object storage (`ScoreJob.at`) also
    has the URLs, and its paths are the local staging copies (`service.scoring.remote`)."""

    model: str
    input: Path
    output: Path
    registry: str = "registry"
    keep: tuple[str, ...] | None = None
    rejects: Path | None = None
    batch_rows: int = 65536
    input_url: str | None = None
    output_url: str | None = None
    rejects_url: str | None = None

    @classmethod
    def at(
        cls,
        model: str,
        input: str | Path,
        output: str | Path,
        *,
        registry: str | Path = "registry",
        keep: tuple[str, ...] | None = None,
        rejects: str | Path | None = None,
        batch_rows: int = 65536,
    ) -> ScoreJob:
        """A job whose input, output and rejects are paths or object-store URLs."""
        source, target = str(input), str(output)
        input_url = source if is_remote(source) else None
        output_url = target if is_remote(target) else None
        rejects_url = None
        if output_url is not None:
            rejects_url = str(rejects) if rejects is not None else rejects_beside(output_url)
            if not is_remote(rejects_url):
                raise InputError(f"--rejects {rejects}: an s3:// output needs its rejects beside")
        return cls(
            model=model,
            input=_local(source, input_url),
            output=_local(target, output_url),
            registry=str(registry),
            keep=keep,
            rejects=_local(str(rejects), rejects_url) if rejects is not None else None,
            batch_rows=batch_rows,
            input_url=input_url,
            output_url=output_url,
            rejects_url=rejects_url,
        )

    @property
    def rejects_path(self) -> Path:
        """`--rejects`, by default `<output stem>.rejects<suffix>` beside the output."""
        out = self.output
        return self.rejects or out.with_name(f"{out.stem}.rejects{out.suffix}")

    @property
    def shown_output(self) -> Path | str:
        """Where the output is: its URL on object storage, else its path."""
        return self.output_url or self.output

    @property
    def shown_rejects(self) -> Path | str:
        return self.rejects_url or self.rejects_path


def _local(location: str, url: str | None) -> Path:
    return staging(url) / local_name(url) if url is not None else Path(location)


@dataclass(frozen=True)
class ScoreResult:
    """What a finished job did (row counts cover the whole job, time only this run)."""

    output: Path | str
    rejects: Path | str
    rows_scored: int
    rows_rejected: int
    seconds: float
    rows_this_run: int
    resumed_parts: int = 0
    engine: str = "local"

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
    """Resolve the model, open the input and match columns; fails fast on any mismatch
    (and before anything is written, on outputs that would overwrite the input)."""
    check_paths(job.input, job.output, job.rejects_path)
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
