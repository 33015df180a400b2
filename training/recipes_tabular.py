"""The `tabular` recipe: an MLP on breast cancer or on the user's CSV/Parquet file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from export.signature import Signature, TensorSpec
from training.data import Table, fingerprint, load_breast_cancer, load_table
from training.errors import DataError
from training.evaluation import evaluation
from training.loop import TrainConfig, fit, predict_proba
from training.metrics import classification_metrics
from training.models.tabular import TabularConfig, TabularMLP
from training.split import stratified_split
from training.trained import Trained


def train_tabular(
    data: Path | Table | None,
    target: str | None,
    train_config: TrainConfig | None = None,
    *,
    progress: bool = True,
) -> Trained:
    """Train the tabular MLP on `data` (CSV/Parquet with a `target` column, or a ready
    `Table` such as the retraining job's combined data) or breast cancer."""
    config = train_config or TrainConfig()
    table = _table(data, target)
    splits = stratified_split(table, config.seed)
    torch.manual_seed(config.seed)  # weight initialisation
    model_config = TabularConfig(in_features=len(table.feature_names), n_classes=len(table.labels))
    module = TabularMLP(model_config)
    module.standardize.fit(splits.X_train)
    result = fit(module, splits, config, progress=progress)
    proba = predict_proba(module, splits.X_test)
    metrics = classification_metrics(splits.y_test, proba)
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
        evaluation=evaluation(result.learning_curve, splits.y_test, proba, table.labels),
        reference_inputs={"features": np.ascontiguousarray(splits.X_train, dtype=np.float32)},
    )


def _table(data: Path | Table | None, target: str | None) -> Table:
    if isinstance(data, Table):
        return data
    if data is None:
        if target is not None:
            raise DataError(f"target {target!r} given without a data file")
        return load_breast_cancer()
    if target is None:
        raise DataError(f"{data}: name the target column to train on")
    return load_table(Path(data), target)
