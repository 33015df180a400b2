"""A small CNN for 8x8 grey-level digit images with its pixel scaling baked into the graph.

The exported graph takes raw pixel values (0..16 for scikit-learn's digits) and
returns class probabilities, so clients send images as they come.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

MIN_STD = 1e-6


@dataclass(frozen=True)
class DigitsConfig:
    """Shape of a `DigitsCNN`: two 3x3 convolutions, one 2x2 max-pool, a small head."""

    image_size: int = 8
    channels: tuple[int, int] = (16, 32)
    hidden: int = 64
    n_classes: int = 10
    dropout: float = 0.1
    pixel_max: float = 16.0

    def to_dict(self) -> dict[str, Any]:
        """Plain containers only, so the config fits a `weights_only` checkpoint and JSON."""
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DigitsConfig:
        """Inverse of `to_dict`; missing keys take the defaults."""
        default = cls()
        first, second = (int(c) for c in data.get("channels", default.channels))
        return cls(
            image_size=int(data.get("image_size", default.image_size)),
            channels=(first, second),
            hidden=int(data.get("hidden", default.hidden)),
            n_classes=int(data.get("n_classes", default.n_classes)),
            dropout=float(data.get("dropout", default.dropout)),
            pixel_max=float(data.get("pixel_max", default.pixel_max)),
        )


class PixelScale(nn.Module):
    """`(x / pixel_max - mean) / std`, one mean and spread over all training pixels (buffers)."""

    scale: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, pixel_max: float) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(1.0 / pixel_max))
        self.register_buffer("mean", torch.tensor(0.0))
        self.register_buffer("std", torch.tensor(1.0))

    def fit(self, images: np.ndarray) -> PixelScale:
        """Take the statistics from raw training images (the training split only); returns self."""
        scaled = np.asarray(images, dtype=np.float64) * float(self.scale)
        with torch.no_grad():
            self.mean.fill_(float(scaled.mean()))
            self.std.fill_(max(float(scaled.std()), MIN_STD))
        return self

    def describe(self) -> dict[str, float]:
        """The scaling as plain numbers, for the manifest's preprocessing record."""
        return {
            "pixel_max": 1.0 / float(self.scale),
            "mean": float(self.mean),
            "std": float(self.std),
        }

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map raw pixels to roughly zero mean and unit spread."""
        return (images * self.scale - self.mean) / self.std


class DigitsCNN(nn.Module):
    """PixelScale -> conv, ReLU -> conv, ReLU, max-pool -> Linear, ReLU -> Linear -> softmax."""

    def __init__(self, config: DigitsConfig) -> None:
        super().__init__()
        self.config = config
        first, second = config.channels
        pooled = config.image_size // 2
        self.scale = PixelScale(config.pixel_max)
        self.features = nn.Sequential(
            nn.Conv2d(1, first, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(first, second, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(config.dropout),
            nn.Linear(second * pooled * pooled, config.hidden),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.n_classes),
        )

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Unnormalised class scores; training uses these for a stable cross-entropy."""
        return self.head(self.features(self.scale(images)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class probabilities for raw images [batch, 1, size, size], shape [batch, n_classes]."""
        return torch.softmax(self.logits(images), dim=-1)
