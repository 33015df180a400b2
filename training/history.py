"""The learning curve: loss and the primary metric per epoch, and where early stopping ended.

Recorded by the training loops and published in `manifest.evaluation.learning_curve`,
so a version's card can draw how it trained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: Most epochs a published learning curve keeps: a 200-epoch run stays a few KB of manifest.
MAX_EPOCHS = 101


@dataclass
class History:
    """One entry per finished epoch; `None` where a figure was not measured."""

    metric: str
    epochs: list[int] = field(default_factory=list)
    train_loss: list[float | None] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    train_metric: list[float | None] = field(default_factory=list)
    val_metric: list[float | None] = field(default_factory=list)

    def add(
        self,
        epoch: int,
        *,
        train_loss: float | None,
        val_loss: float | None,
        train_metric: float | None = None,
        val_metric: float | None = None,
    ) -> None:
        """Record one epoch's figures."""
        self.epochs.append(epoch)
        self.train_loss.append(_finite(train_loss))
        self.val_loss.append(_finite(val_loss))
        self.train_metric.append(_finite(train_metric))
        self.val_metric.append(_finite(val_metric))

    def to_dict(self, best_epoch: int, patience: int | None) -> dict[str, Any]:
        """`manifest.evaluation.learning_curve`: the series (at most `MAX_EPOCHS` epochs,
        evenly spread, the best and the last always kept) plus the early-stopping point."""
        keep = kept(len(self.epochs), MAX_EPOCHS, self._index(best_epoch))
        series = ("epochs", "train_loss", "val_loss", "train_metric", "val_metric")
        return {
            "metric": self.metric,
            **{name: [getattr(self, name)[i] for i in keep] for name in series},
            "best_epoch": best_epoch,
            "stopped_epoch": self.epochs[-1] if self.epochs else 0,
            "patience": patience,
        }

    def _index(self, epoch: int) -> int | None:
        return self.epochs.index(epoch) if epoch in self.epochs else None


def kept(count: int, limit: int, must: int | None = None) -> list[int]:
    """At most `limit` indices of `count`, evenly spread, with the first, the last and `must`."""
    if count <= limit:
        return list(range(count))
    chosen = {round(i * (count - 1) / (limit - 2)) for i in range(limit - 1)}
    if must is not None:
        chosen.add(must)
    return sorted(chosen)


def _finite(value: float | None) -> float | None:
    # JSON has no NaN or infinity; a diverged epoch shows as a gap, not as an invalid manifest
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)
