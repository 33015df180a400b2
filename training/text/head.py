"""Frozen encoder: embed every text once, then train only a linear head on the cached vectors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from training.loop import FitResult, TrainConfig, fit
from training.split import Splits
from training.text.classifier import TextHead
from training.text.embed import run_module
from training.text.encoder import TextEncoder

if TYPE_CHECKING:
    from tokenizers import Tokenizer


def embed_splits(encoder: TextEncoder, tokenizer: Tokenizer, splits: Splits) -> Splits:
    """`splits` with each text replaced by its embedding; the encoder runs once per text."""
    parts = (splits.X_train, splits.X_val, splits.X_test)
    vectors = run_module(encoder, tokenizer, [str(t) for part in parts for t in part])
    train, val = len(splits.X_train), len(splits.X_val)
    return Splits(
        vectors[:train],
        splits.y_train,
        vectors[train : train + val],
        splits.y_val,
        vectors[train + val :],
        splits.y_test,
    )


def train_head(
    vectors: Splits, n_classes: int, config: TrainConfig, progress: bool
) -> tuple[TextHead, FitResult]:
    """A `TextHead` fitted on cached embeddings with the project's loop (AdamW, early
    stopping on validation loss, best weights restored)."""
    torch.manual_seed(config.seed)  # head initialisation
    head = TextHead(n_classes, dim=int(np.shape(vectors.X_train)[1]))
    result = fit(head, vectors, config, progress=progress)
    return head, result
