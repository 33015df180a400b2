"""Train, checkpoint, publish and promote in one call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from export.publish import publish
from export.registry import PRODUCTION, Artifact, Registry
from export.signature import Signature
from training.checkpoint import build_module, load_checkpoint, save_checkpoint
from training.loop import TrainConfig
from training.recipes import Trained, get_recipe


def train_and_publish(
    recipe: str,
    registry: Registry,
    data: Path | None = None,
    target: str | None = None,
    train_config: TrainConfig | None = None,
    name: str | None = None,
    promote: bool = True,
    checkpoint_dir: Path | None = None,
    *,
    progress: bool = True,
    options: dict[str, Any] | None = None,
) -> Artifact:
    """Train with `recipe`, save `<checkpoint_dir>/<name>.pt`, publish the next version of
    `name` (default: the recipe name) and, with `promote`, point `production` at it.

    `options` are the recipe's own settings (e.g. `text_col` for `text-classify`)."""
    run = get_recipe(recipe).run
    trained = run(data, target, train_config, progress=progress, **(options or {}))
    # what the retraining job needs to train a challenger the same way
    trained.training.setdefault("recipe", recipe)
    if target is not None:
        trained.training.setdefault("target", target)
    name = name or recipe
    if checkpoint_dir is not None:
        save_trained(Path(checkpoint_dir) / f"{name}.pt", trained)
    return publish_trained(trained, registry, name, promote=promote)


def publish_trained(
    trained: Trained, registry: Registry, name: str, *, promote: bool = True
) -> Artifact:
    """Publish a `Trained` bundle as the next version of `name`, optionally promoting it."""
    artifact = publish(
        registry,
        name,
        trained.module,
        trained.signature,
        trained.sample_inputs,
        labels=trained.labels,
        features=trained.features,
        metrics=trained.metrics,
        data_fingerprint=trained.data_fingerprint,
        task=trained.task,
        preprocessing=trained.preprocessing,
        training=trained.training,
        files=trained.files,
        random_rows=trained.parity_rows,
        evaluation=trained.evaluation,
        reference_inputs=trained.reference_inputs or None,
    )
    if promote:
        registry.promote(name, artifact.manifest.version, PRODUCTION, reason="train_and_publish")
    return artifact


def save_trained(path: Path, trained: Trained) -> Path:
    """Checkpoint a `Trained` bundle with all it needs to be published again later."""
    samples = {key: torch.from_numpy(np.array(v)) for key, v in trained.sample_inputs.items()}
    reference = {key: torch.from_numpy(np.array(v)) for key, v in trained.reference_inputs.items()}
    return save_checkpoint(
        path,
        trained.module,
        trained.config,
        trained.metrics,
        trained.data_fingerprint,
        extra={
            "labels": trained.labels,
            "feature_names": trained.features,
            "signature": trained.signature.to_dict(),
            "sample_inputs": samples,
            "task": trained.task,
            "preprocessing": trained.preprocessing,
            "training": trained.training,
            "files": trained.files,
            "parity_rows": trained.parity_rows,
            "evaluation": trained.evaluation,
            "reference_inputs": reference,
        },
        kind=trained.kind,
    )


def load_trained(path: Path) -> Trained:
    """Rebuild a `Trained` bundle from a checkpoint written by `save_trained`."""
    content: dict[str, Any] = load_checkpoint(path)
    return Trained(
        module=build_module(content),
        signature=Signature.from_dict(content["signature"]),
        sample_inputs={k: v.numpy() for k, v in content["sample_inputs"].items()},
        labels=list(content["labels"]),
        features=list(content["feature_names"]),
        metrics=dict(content["metrics"]),
        data_fingerprint=content["data_fingerprint"],
        task=content["task"],
        preprocessing=content["preprocessing"],
        training=content["training"],
        kind=content["model"]["kind"],
        config=content["model"]["config"],
        files=dict(content.get("files", {})),
        parity_rows=int(content.get("parity_rows", 1000)),
        evaluation=dict(content.get("evaluation", {})),
        reference_inputs={k: v.numpy() for k, v in content.get("reference_inputs", {}).items()},
    )
