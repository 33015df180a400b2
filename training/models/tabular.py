"""An MLP for tabular classification with its standardisation baked into the graph.

The exported graph takes raw features and returns class probabilities, so online
serving, batch scoring and training all apply the same scaling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

MIN_STD = 1e-6


@dataclass(frozen=True)
class TabularConfig:
    """Shape of a `TabularMLP`."""

    in_features: int
    hidden: tuple[int, ...] = (64, 32)
    n_classes: int = 2
    dropout: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        """Plain containers only, so the config fits a `weights_only` checkpoint and JSON."""
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TabularConfig:
        """Inverse of `to_dict`."""
        return cls(
            in_features=int(data["in_features"]),
            hidden=tuple(int(h) for h in data.get("hidden", (64, 32))),
            n_classes=int(data.get("n_classes", 2)),
            dropout=float(data.get("dropout", 0.1)),
        )


class Standardize(nn.Module):
    """`(x - mean) / std` with the statistics held as buffers (saved and exported)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, in_features: int, mean: Any = None, std: Any = None) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("std", torch.ones(in_features))
        if mean is not None or std is not None:
            self.set(
                mean if mean is not None else np.zeros(in_features),
                std if std is not None else np.ones(in_features),
            )

    def set(self, mean: Any, std: Any) -> None:
        """Replace the statistics; std is clamped to >= 1e-6 so constant columns stay finite."""
        mean_t = torch.as_tensor(np.asarray(mean, dtype=np.float32))
        std_t = torch.as_tensor(np.asarray(std, dtype=np.float32)).clamp_min(MIN_STD)
        if mean_t.shape != self.mean.shape or std_t.shape != self.std.shape:
            raise ValueError(
                f"standardize expects {tuple(self.mean.shape)} statistics, "
                f"got mean {tuple(mean_t.shape)} and std {tuple(std_t.shape)}"
            )
        with torch.no_grad():
            self.mean.copy_(mean_t)
            self.std.copy_(std_t)

    def fit(self, x: np.ndarray) -> Standardize:
        """Take the statistics from `x` (the training split only); returns self."""
        x64 = np.asarray(x, dtype=np.float64)
        self.set(x64.mean(axis=0), x64.std(axis=0))
        return self

    def describe(self) -> dict[str, list[float]]:
        """The statistics as plain lists, for the manifest's preprocessing record."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale each column to zero mean and unit spread (by the training statistics)."""
        return (x - self.mean) / self.std


class TabularMLP(nn.Module):
    """Standardize -> (Linear, ReLU, Dropout)* -> Linear -> softmax."""

    def __init__(self, config: TabularConfig) -> None:
        super().__init__()
        self.config = config
        self.standardize = Standardize(config.in_features)
        layers: list[nn.Module] = []
        width = config.in_features
        for hidden in config.hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(config.dropout)]
            width = hidden
        layers.append(nn.Linear(width, config.n_classes))
        self.body = nn.Sequential(*layers)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Unnormalised class scores; training uses these for a stable cross-entropy."""
        return self.body(self.standardize(features))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Class probabilities for raw (unscaled) features, shape [batch, n_classes]."""
        return torch.softmax(self.logits(features), dim=-1)
