"""Self-describing training checkpoints that load with `torch.load(weights_only=True)`.

A checkpoint holds tensors and plain containers only (no pickled classes), so
loading one never runs code from the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from training.errors import TrainingError
from training.models.digits import DigitsCNN, DigitsConfig
from training.models.tabular import TabularConfig, TabularMLP

KIND_TABULAR = "tabular"
KIND_DIGITS = "digits"

#: How to build an untrained module of each kind from its config dict.
BUILDERS: dict[str, Callable[[dict[str, Any]], nn.Module]] = {
    KIND_TABULAR: lambda config: TabularMLP(TabularConfig.from_dict(config)),
    KIND_DIGITS: lambda config: DigitsCNN(DigitsConfig.from_dict(config)),
}


def save_checkpoint(
    path: Path,
    model: nn.Module,
    config: dict[str, Any],
    metrics: dict[str, float],
    fingerprint: str,
    extra: dict[str, Any] | None = None,
    kind: str = KIND_TABULAR,
) -> Path:
    """Write the weights and everything needed to rebuild the module, atomically.

    `extra` adds plain-container entries such as `labels` and `feature_names`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content: dict[str, Any] = {
        "labels": [],
        "feature_names": [],
        **(extra or {}),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "model": {"kind": kind, "config": dict(config)},
        "metrics": {k: float(v) for k, v in metrics.items()},
        "data_fingerprint": fingerprint,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(content, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint without unpickling arbitrary objects."""
    try:
        content = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise TrainingError(f"checkpoint {path} not found") from err
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, ... for bad files
        raise TrainingError(f"checkpoint {path} cannot be loaded safely: {err}") from err
    if not isinstance(content, dict) or "state_dict" not in content or "model" not in content:
        raise TrainingError(f"{path} is not a ferry checkpoint (no state_dict/model entries)")
    return content


def build_module(checkpoint: dict[str, Any]) -> nn.Module:
    """Rebuild the module a checkpoint describes, load its weights, and put it in eval mode."""
    spec = checkpoint["model"]
    builder = BUILDERS.get(spec.get("kind"))
    if builder is None:
        known = ", ".join(map(repr, sorted(BUILDERS)))
        raise TrainingError(f"unknown model kind {spec.get('kind')!r} (known: {known})")
    module = builder(spec["config"])
    module.load_state_dict(checkpoint["state_dict"])
    module.eval()
    return module
