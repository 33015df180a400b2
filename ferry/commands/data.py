"""`ferry data simulate`: write a drop of fresh rows, to try `ferry retrain` without a feed."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ferry.errors import friendly
from ferry.options import DEFAULT_REGISTRY, RegistryOption

app = typer.Typer(no_args_is_help=True, help="Data for the retraining job.")
console = Console(stderr=True, highlight=False)


@app.command()
@friendly
def simulate(
    name: Annotated[str, typer.Argument(help="A model in the registry, or a recipe (tabular).")],
    out: Annotated[Path, typer.Option(help="Folder to write the drop into (created).")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    rows: Annotated[int, typer.Option(min=1, help="Rows to write.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed; the same seed writes the same rows.")] = 0,
    shuffle_labels: Annotated[
        bool, typer.Option(help="Permute the labels: a drop from a broken labelling pipeline.")
    ] = False,
    parquet: Annotated[bool, typer.Option(help="Write Parquet instead of CSV.")] = False,
    shift: Annotated[
        list[str] | None,
        typer.Option(
            help="FEATURE=SIGMAS: move a feature by that many standard deviations (drifted "
            "inputs); repeatable."
        ),
    ] = None,
) -> None:
    """Write a drop like the model's base data (new rows, not copies) and print its path."""
    from export.registry import Registry
    from training.retrain.schema import load_base, schema_of
    from training.retrain.simulate import simulate as draw
    from training.retrain.simulate import to_frame

    moves = _shifts(shift or [])
    schema = schema_of(Registry(registry), name)
    frame = to_frame(draw(load_base(schema), rows, seed, shuffle_labels, moves), schema.target)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    suffix = ".parquet" if parquet else ".csv"
    kind = ("-shuffled" if shuffle_labels else "") + ("-shifted" if moves else "")
    path = out / f"drop-{stamp}-s{seed}{kind}{suffix}"
    tmp = out / f".{path.name}.tmp"  # hidden until complete: retrain ignores dot files
    if parquet:
        frame.to_parquet(tmp, index=False)
    else:
        frame.to_csv(tmp, index=False)
    os.replace(tmp, path)
    console.print(f"wrote {rows} rows for {name} ({schema.source}, target {schema.target!r})")
    print(path)


def _shifts(given: list[str]) -> dict[str, float]:
    moves = {}
    for item in given:
        name, sep, sigmas = item.rpartition("=")
        try:
            moves[name] = float(sigmas)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise typer.BadParameter(
                f"{item!r}: expected FEATURE=SIGMAS, e.g. 'mean radius=1'", param_hint="--shift"
            )
    return moves
