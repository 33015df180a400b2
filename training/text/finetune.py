"""Fine-tuning: the encoder and the head train together, with early stopping per epoch.

Two learning rates: the pretrained encoder moves slowly (a large step forgets
what it knows), the fresh head quickly.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from training.history import History
from training.loop import FitResult
from training.metrics import metric_value, primary_metric
from training.split import Splits
from training.text.classifier import TextClassifier
from training.text.embed import run_module
from training.text.tokenizer import ATTENTION_MASK, INPUT_IDS, encode

if TYPE_CHECKING:
    from tokenizers import Tokenizer


@dataclass(frozen=True)
class FineTuneConfig:
    """Settings of a fine-tuning run."""

    epochs: int = 6
    batch_size: int = 16
    encoder_lr: float = 5e-5
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    patience: int = 2
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for the manifest's training record."""
        return asdict(self)


def fine_tune(
    model: TextClassifier, tokenizer: Tokenizer, splits: Splits, config: FineTuneConfig
) -> FitResult:
    """Train `model` on `splits` (texts), keeping the weights of the best validation loss.

    The learning curve records the mean batch loss of each epoch as its training loss (a
    second pass through the encoder over the training texts would double the cost) and the
    loss and primary metric on the validation texts."""
    torch.manual_seed(config.seed)  # shuffling and dropout
    optimiser = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": config.encoder_lr},
            {"params": model.head.parameters(), "lr": config.head_lr},
        ],
        weight_decay=config.weight_decay,
    )
    loss_fn = nn.CrossEntropyLoss()
    history = History(primary_metric(model.head.linear.out_features))
    best_loss, best_epoch, best_state = math.inf, 0, copy.deepcopy(model.state_dict())
    epoch = 0
    for epoch in range(1, config.epochs + 1):
        train_loss = _epoch(model, tokenizer, splits, config, optimiser, loss_fn, epoch)
        proba = run_module(model, tokenizer, [str(t) for t in splits.X_val])
        val_loss = cross_entropy(proba, splits.y_val)
        val_metric = metric_value(history.metric, splits.y_val, proba)
        history.add(epoch, train_loss=train_loss, val_loss=val_loss, val_metric=val_metric)
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


def cross_entropy(proba: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-probability of the true classes."""
    picked = np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0)
    return float(-np.log(picked).mean())


def _epoch(
    model: TextClassifier,
    tokenizer: Tokenizer,
    splits: Splits,
    config: FineTuneConfig,
    optimiser: torch.optim.Optimizer,
    loss_fn: nn.Module,
    epoch: int,
) -> float:
    """One pass over the shuffled training texts; the mean batch loss."""
    model.train()
    order = np.random.default_rng(config.seed + epoch).permutation(len(splits.y_train))
    texts = [str(splits.X_train[i]) for i in order]
    labels = splits.y_train[order]
    losses = []
    # shuffled batches, each padded only to its own longest text
    for start in range(0, len(texts), config.batch_size):
        inputs = encode(tokenizer, texts[start : start + config.batch_size])
        target = torch.from_numpy(labels[start : start + config.batch_size])
        optimiser.zero_grad(set_to_none=True)
        logits = model.logits(
            torch.from_numpy(inputs[INPUT_IDS]), torch.from_numpy(inputs[ATTENTION_MASK])
        )
        loss = loss_fn(logits, target)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    return float(np.mean(losses)) if losses else math.nan
