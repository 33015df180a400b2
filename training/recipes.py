"""Training recipes: each model registers how it is trained and what it publishes.

A recipe turns data into a `Trained` bundle that export and the registry can use
without knowing the model: the module, its signature, held-out rows for parity,
and the facts the manifest records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from export.signature import Signature, TensorSpec
from training.data import Table, fingerprint, load_breast_cancer, load_table
from training.errors import DataError, UnknownRecipe
from training.loop import TrainConfig, fit, predict_proba
from training.metrics import classification_metrics
from training.models.tabular import TabularConfig, TabularMLP
from training.split import stratified_split


@dataclass
class Trained:
    """A trained module in eval mode plus everything publishing and checkpoints need."""

    module: nn.Module
    signature: Signature
    sample_inputs: dict[str, np.ndarray]
    labels: list[str]
    features: list[str]
    metrics: dict[str, float]
    data_fingerprint: str
    task: str
    preprocessing: dict[str, Any]
    training: dict[str, Any]
    kind: str = "tabular"
    config: dict[str, Any] = field(default_factory=dict)


TrainFn = Callable[..., Trained]


@dataclass(frozen=True)
class Recipe:
    """A named way to train a model: `train(data, target, train_config, progress=...)`."""

    name: str
    train: TrainFn
    description: str = ""


RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    """Make `recipe` available by name; a later registration of the same name replaces it."""
    RECIPES[recipe.name] = recipe
    return recipe


def get_recipe(name: str) -> Recipe:
    """The recipe called `name`, or `UnknownRecipe` listing the known names."""
    try:
        return RECIPES[name]
    except KeyError:
        known = ", ".join(sorted(RECIPES)) or "none"
        raise UnknownRecipe(f"unknown recipe {name!r} (known: {known})") from None


def train_tabular(
    data: Path | None,
    target: str | None,
    train_config: TrainConfig | None = None,
    *,
    progress: bool = True,
) -> Trained:
    """Train the tabular MLP on `data` (CSV/Parquet with a `target` column) or breast cancer."""
    config = train_config or TrainConfig()
    table = _table(data, target)
    splits = stratified_split(table, config.seed)
    torch.manual_seed(config.seed)  # weight initialisation
    model_config = TabularConfig(in_features=len(table.feature_names), n_classes=len(table.labels))
    module = TabularMLP(model_config)
    module.standardize.fit(splits.X_train)
    result = fit(module, splits, config, progress=progress)
    metrics = classification_metrics(splits.y_test, predict_proba(module, splits.X_test))
    n_features, n_classes = model_config.in_features, model_config.n_classes
    return Trained(
        module=module,
        signature=Signature(
            inputs=(TensorSpec("features", "float32", (-1, n_features)),),
            outputs=(TensorSpec("probabilities", "float32", (-1, n_classes)),),
        ),
        sample_inputs={"features": np.ascontiguousarray(splits.X_test, dtype=np.float32)},
        labels=table.labels,
        features=table.feature_names,
        metrics=metrics,
        data_fingerprint=fingerprint(table),
        task="binary-classification" if n_classes == 2 else "classification",
        preprocessing={"standardize": module.standardize.describe(), "in_graph": True},
        training={
            **config.to_dict(),
            "epochs_run": result.epochs,
            "best_epoch": result.best_epoch,
            "best_val_loss": result.best_val_loss,
            "rows": splits.rows(),
            "source": table.source,
        },
        kind="tabular",
        config=model_config.to_dict(),
    )


def _table(data: Path | None, target: str | None) -> Table:
    if data is None:
        if target is not None:
            raise DataError(f"target {target!r} given without a data file")
        return load_breast_cancer()
    if target is None:
        raise DataError(f"{data}: name the target column to train on")
    return load_table(Path(data), target)


register(
    Recipe(
        "tabular",
        train_tabular,
        "MLP with in-graph standardisation; breast cancer, or a CSV/Parquet file with a target",
    )
)
