"""The retraining job: train a challenger on fresh data, compare it with the champion on a
holdout neither has seen, publish it, and move an alias by a recorded rule.

Imports training and the export package (the registry, by its methods only).
`retrain` and `Decision` import torch on first use, so the scheduler, the lock check and
the data simulator stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from training.retrain.decision import Decision
    from training.retrain.job import retrain

__all__ = ["Decision", "retrain"]


def __getattr__(name: str) -> Any:
    if name == "retrain":
        from training.retrain.job import retrain

        return retrain
    if name == "Decision":
        from training.retrain.decision import Decision

        return Decision
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
