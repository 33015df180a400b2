"""`ferry train RECIPE`: train, export, verify parity, publish, promote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ferry.errors import existing
from ferry.options import DEFAULT_REGISTRY, RegistryOption

console = Console()


def train(
    recipe: Annotated[
        str, typer.Argument(help="Training recipe: tabular, digits, text-embed, text-classify.")
    ],
    registry: RegistryOption = DEFAULT_REGISTRY,
    data: Annotated[Path | None, typer.Option(help="Your own CSV or Parquet file.")] = None,
    target: Annotated[
        str | None, typer.Option("--target", "--label-col", help="Label column in --data.")
    ] = None,
    text_col: Annotated[
        str | None, typer.Option(help="text-classify: text column in --data (default: text).")
    ] = None,
    finetune: Annotated[
        bool,
        typer.Option(
            "--finetune/--frozen",
            help="text-classify: fine-tune the encoder too, or train a head on the frozen "
            "encoder (faster; see README for the trade-off).",
        ),
    ] = False,
    name: Annotated[str | None, typer.Option(help="Model name (default: the recipe).")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Most epochs to train.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for splits, init and shuffling.")] = 0,
    promote: Annotated[bool, typer.Option(help="Move `production` to the new version.")] = True,
    checkpoints: Annotated[Path, typer.Option(help="Folder for the training checkpoint.")] = Path(
        "checkpoints"
    ),
) -> None:
    """Train a model and publish it as a new version in the registry."""
    if (data is None) != (target is None):
        raise typer.BadParameter(
            "--data and --target go together (--label-col is another name for --target)",
            param_hint="--data/--target",
        )
    if data is not None:
        existing(data, "--data")
    options = _recipe_options(text_col, finetune)
    from dataclasses import replace

    from export.registry import Registry
    from training.loop import TrainConfig
    from training.pipeline import train_and_publish

    config = TrainConfig(seed=seed)
    if epochs is not None:
        config = replace(config, epochs=epochs)
    artifact = train_and_publish(
        recipe,
        Registry(registry),
        data=data,
        target=target,
        train_config=config,
        name=name,
        promote=promote,
        checkpoint_dir=checkpoints,
        options=options,
    )
    m = artifact.manifest
    metrics = " ".join(f"{k}={v:.4f}" for k, v in sorted(m.metrics.items()))
    console.print(
        f"published [bold]{m.name}:{m.version}[/bold] ({metrics}; parity max |Δ| "
        f"{m.parity.max_abs_diff:.2e} over {m.parity.rows} rows)"
    )
    print(m.version)


def _recipe_options(text_col: str | None, finetune: bool) -> dict[str, Any]:
    """Recipe-specific options that were given; a recipe refuses options it does not take."""
    options: dict[str, Any] = {}
    if text_col is not None:
        options["text_col"] = text_col
    if finetune:
        options["finetune"] = True
    return options
