"""`ferry export REF --precision int8|fp16`: publish a lower-precision variant as a new version."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ferry.errors import existing
from ferry.options import DEFAULT_REGISTRY, RegistryOption

console = Console()


class Precision(StrEnum):
    """Precisions a variant can be made in."""

    int8 = "int8"
    fp16 = "fp16"


def export(
    ref: Annotated[str, typer.Argument(help="An fp32 version: name, name:version or name@alias.")],
    precision: Annotated[
        Precision, typer.Option(help="int8: CPU, dynamic per-channel; fp16: a GPU format.")
    ],
    registry: RegistryOption = DEFAULT_REGISTRY,
    inputs: Annotated[
        Path | None,
        typer.Option(
            help="Held-out rows (.npz, one array per input) to measure quality on "
            "(default: built-in texts for text models, else random rows)."
        ),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Rows per run when measuring.")] = 32,
    threads: Annotated[int, typer.Option(min=1, help="ONNX Runtime threads when timing.")] = 1,
    rounds: Annotated[int, typer.Option(min=1, help="Timed passes over the rows.")] = 3,
    record: Annotated[
        bool,
        typer.Option(
            help="Also keep the speed figures in the registry's benchmark records "
            "(the model cards of the variant and its source show them)."
        ),
    ] = True,
) -> None:
    """Make an int8 or fp16 copy of a published version and publish it as a new version,
    with its quality against the source and both speeds in its manifest. No alias moves."""
    from export.probe import load_inputs
    from export.registry import Registry
    from export.variants import benchmark_entry, publish_variant

    rows = load_inputs(existing(inputs, "--inputs")) if inputs is not None else None
    reg = Registry(registry)
    artifact = publish_variant(
        reg,
        ref,
        precision.value,
        inputs=rows,
        batch=batch,
        threads=threads,
        rounds=rounds,
    )
    m = artifact.manifest
    if record:
        reg.append_benchmark(m.name, benchmark_entry(m))
    quality, speed = m.variant["quality"], m.variant["speed"]
    ratio = speed["rows_per_s"] / max(speed["source_rows_per_s"], 1e-9)
    console.print(
        f"published [bold]{m.name}:{m.version}[/bold] ({precision.value} of "
        f"{m.name}:{m.variant['source_version']}): cosine min {quality['cosine_min']:.5f} "
        f"mean {quality['cosine_mean']:.5f}, max |Δ| {quality['max_abs_diff']:.2e} over "
        f"{quality['rows']} rows; {speed['rows_per_s']:.1f} rows/s vs "
        f"{speed['source_rows_per_s']:.1f} ({ratio:.2f}x, {speed['threads']} thread(s))"
    )
    print(m.version)
