"""A text classifier: the sentence encoder, a linear head and softmax, as one module."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from training.text.encoder import EMBED_DIM, TextEncoder, build_encoder

#: Embeddings are unit vectors, so their dot products with a head's rows start near 0; the
#: head scales them up front (a cosine classifier's temperature) rather than needing huge
#: weights, which plain AdamW reaches only after hundreds of epochs.
SCALE = 16.0


class TextHead(nn.Module):
    """`embedding [N, 384] -> logits [N, n_classes]`; `forward` gives probabilities.

    Trained alone on cached embeddings when the encoder is frozen (it has the
    `logits` method `training.loop.fit` expects)."""

    def __init__(self, n_classes: int, dim: int = EMBED_DIM) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, n_classes)

    def logits(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.linear(embedding * SCALE)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(embedding), dim=-1)


class TextClassifier(nn.Module):
    """`(input_ids, attention_mask) -> probabilities [N, n_classes]`."""

    def __init__(self, encoder: TextEncoder, head: TextHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head.logits(self.encoder(input_ids, attention_mask))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(input_ids, attention_mask), dim=-1)


def build_classifier(config: dict[str, Any]) -> TextClassifier:
    """An untrained classifier from `{"bert": <config.json dict>, "n_classes": n}`."""
    return TextClassifier(build_encoder(config["bert"]), TextHead(int(config["n_classes"])))
