"""`ferry score`: a batch scoring job over CSV or Parquet files, locally or on Ray."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ferry.errors import Code, existing
from ferry.options import DEFAULT_REGISTRY, RegistryOption

if TYPE_CHECKING:
    from service.scoring.job import ScoreResult

EXIT_REJECTED = Code.REJECTED
console = Console(stderr=True)


class Engine(StrEnum):
    """Where a job runs."""

    local = "local"
    ray = "ray"


def score(
    model: Annotated[str, typer.Argument(help="name, name:version or name@alias")],
    input_path: Annotated[
        str,
        typer.Option(
            "--input", "-i", help="CSV or Parquet file, or a folder of them (or an s3:// URL)."
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Scored file; .parquet or .csv (a folder of parts with --engine ray; on "
            "s3://, parts committed by NAME/_ferry_output.json).",
        ),
    ],
    registry: RegistryOption = DEFAULT_REGISTRY,
    id_col: Annotated[
        list[str] | None,
        typer.Option("--id-col", help="Input column copied to the output (repeat; default: all)."),
    ] = None,
    rejects: Annotated[
        str | None,
        typer.Option(
            help="Rows that cannot be scored, with reasons (default: NAME.rejects.SUFFIX beside "
            "the output NAME.SUFFIX)."
        ),
    ] = None,
    batch_rows: Annotated[
        int | None,
        typer.Option(min=1, help="Rows per part (default: $FERRY_SCORE_BATCH_ROWS or 65536)."),
    ] = None,
    engine: Annotated[
        Engine, typer.Option(help="local, or ray (on $RAY_ADDRESS, else a local Ray).")
    ] = Engine.local,
) -> None:
    """Score a file with a model: same runtime as the service, resumable, nothing lost."""
    from service.scoring.job import ScoreJob
    from service.scoring.settings import ScoreSettings

    if "://" not in input_path:  # a local input must exist (an s3:// one is checked on read)
        existing(Path(input_path), "--input")
    settings = ScoreSettings()
    job = ScoreJob.at(
        model,
        input_path,
        output,
        registry=registry,
        keep=tuple(id_col) if id_col else None,
        rejects=rejects,
        batch_rows=batch_rows or settings.batch_rows,
    )
    from ferry.progress import RowProgress

    with RowProgress(console, f"scoring {input_path.rstrip('/').rsplit('/', 1)[-1]}") as progress:
        if engine is Engine.ray:
            from service.scoring.ray_engine import run_ray

            result = run_ray(job, settings, progress)
        else:
            from service.scoring.job import run_local

            result = run_local(job, progress, settings)
    summarize(result)
    if result.rows_rejected:
        raise typer.Exit(int(EXIT_REJECTED))


def summarize(result: ScoreResult) -> None:
    """One line per fact: rows scored and rejected, time, rows/s, where the files are."""
    resumed = f", resumed after {result.resumed_parts} parts" if result.resumed_parts else ""
    console.print(
        f"scored [bold]{result.rows_scored:,}[/bold] rows, rejected "
        f"[bold]{result.rows_rejected:,}[/bold] in {result.seconds:.1f} s "
        f"({result.rows_per_second:,.0f} rows/s, {result.engine} engine{resumed})",
        highlight=False,
    )
    console.print(f"output:  {result.output}", highlight=False)
    if result.rows_rejected:
        console.print(
            f"rejects: {result.rejects} (exit code {int(EXIT_REJECTED)})", highlight=False
        )
