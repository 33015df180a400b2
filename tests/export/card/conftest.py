from __future__ import annotations

import json
from pathlib import Path

import pytest

from export.manifest import MANIFEST
from export.registry import Artifact, Registry
from export.transfer import copy_version


@pytest.fixture
def card_registry(tabular_registry: tuple[Registry, Artifact], tmp_path: Path) -> Registry:
    """A fresh registry holding a copy of the session's trained `tabular:1` as production."""
    source, artifact = tabular_registry
    registry = Registry(tmp_path / "registry")
    copy_version(source, f"tabular:{artifact.manifest.version}", registry)
    return registry


@pytest.fixture(scope="module")
def second_version(
    tabular_registry: tuple[Registry, Artifact], tmp_path_factory: pytest.TempPathFactory
) -> Registry:
    """tabular:1 (5 epochs, seed 0) and a challenger tabular:2 (3 epochs, seed 1)."""
    from training.loop import TrainConfig
    from training.pipeline import publish_trained
    from training.recipes import train_tabular

    source, artifact = tabular_registry
    registry = Registry(tmp_path_factory.mktemp("two") / "registry")
    copy_version(source, f"tabular:{artifact.manifest.version}", registry)
    challenger = train_tabular(None, None, TrainConfig(epochs=3, seed=1), progress=False)
    publish_trained(challenger, registry, "tabular", promote=False)
    return registry


def strip_evaluation(registry: Registry, ref: str) -> None:
    """Rewrite a version's manifest as ferry wrote it before it recorded curves."""
    folder = registry.get(ref).path
    data = json.loads((folder / MANIFEST).read_text())
    del data["evaluation"]
    (folder / MANIFEST).write_text(json.dumps(data, indent=2))
