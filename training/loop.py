"""The train/evaluate loop: AdamW, cross-entropy, early stopping on validation loss."""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from training.history import History
from training.metrics import metric_value, primary_metric
from training.split import Splits


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; the same seed gives bit-identical results on CPU."""

    epochs: int = 200
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 20
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict, for manifests and checkpoints."""
        return asdict(self)


@dataclass(frozen=True)
class FitResult:
    """How training went; the module already holds the best weights."""

    epochs: int
    best_epoch: int
    best_val_loss: float
    # `manifest.evaluation.learning_curve` (see `training.history`); {} where not recorded
    learning_curve: dict[str, Any] = field(default_factory=dict)


def fit(model: nn.Module, splits: Splits, config: TrainConfig, progress: bool = True) -> FitResult:
    """Train `model` (which must have `logits(features)`), restoring the best-validation weights.

    Every epoch records the loss and the primary metric on the training and validation
    splits (eval mode, whole split), the learning curve a card draws."""
    torch.manual_seed(config.seed)  # dropout masks
    loader = _loader(splits.X_train, splits.y_train, config)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    loss_fn = nn.CrossEntropyLoss()
    train, val = _tensors(splits.X_train, splits.y_train), _tensors(splits.X_val, splits.y_val)
    history = History(primary_metric(_classes(model, val[0])))
    best_loss, best_epoch, best_state = math.inf, 0, copy.deepcopy(model.state_dict())
    epoch = 0
    with _progress(progress) as bar:
        task = bar.add_task("training", total=config.epochs, loss=math.nan)
        for epoch in range(1, config.epochs + 1):
            model.train()
            for xb, yb in loader:
                optimiser.zero_grad(set_to_none=True)
                loss_fn(model.logits(xb), yb).backward()  # type: ignore[operator]
                optimiser.step()
            train_loss, train_metric = _evaluate(model, loss_fn, *train, history.metric)
            val_loss, val_metric = _evaluate(model, loss_fn, *val, history.metric)
            history.add(
                epoch,
                train_loss=train_loss,
                val_loss=val_loss,
                train_metric=train_metric,
                val_metric=val_metric,
            )
            bar.update(task, advance=1, loss=val_loss)
            if val_loss < best_loss:
                best_loss, best_epoch = val_loss, epoch
                best_state = copy.deepcopy(model.state_dict())
            elif epoch - best_epoch >= config.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    curve = history.to_dict(best_epoch, config.patience)
    return FitResult(
        epochs=epoch, best_epoch=best_epoch, best_val_loss=best_loss, learning_curve=curve
    )


def predict_proba(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """Probabilities from the module's forward, in eval mode, without gradients."""
    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(X, dtype=np.float32))).numpy()


def _loader(X: np.ndarray, y: np.ndarray, config: TrainConfig) -> DataLoader[Any]:
    generator = torch.Generator().manual_seed(config.seed)
    dataset = TensorDataset(*_tensors(X, y))
    return DataLoader(dataset, batch_size=config.batch_size, shuffle=True, generator=generator)


def _tensors(X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return (
        torch.as_tensor(np.asarray(X, dtype=np.float32)),
        torch.as_tensor(np.asarray(y, dtype=np.int64)),
    )


def _evaluate(
    model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor, metric: str
) -> tuple[float, float | None]:
    """Loss and `metric` of `model` on one whole split, in eval mode."""
    model.eval()
    with torch.no_grad():
        logits = model.logits(x)  # type: ignore[operator]
        loss = float(loss_fn(logits, y))
        proba = torch.softmax(logits, dim=1).numpy()
    return loss, metric_value(metric, y.numpy(), proba)


def _classes(model: nn.Module, x: torch.Tensor) -> int:
    """The width of the model's logits, from one row in eval mode (no dropout, no RNG use)."""
    model.eval()
    with torch.no_grad():
        return int(model.logits(x[:1]).shape[1])  # type: ignore[operator]


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("epoch {task.completed}/{task.total}"),
        TextColumn("val loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        transient=True,
        disable=not enabled,
    )
