from __future__ import annotations

from pathlib import Path

import pytest

from export.registry import Artifact, Registry
from training.loop import TrainConfig
from training.recipes import Trained, train_tabular


@pytest.fixture(scope="session")
def tabular_trained() -> Trained:
    """The tabular recipe on breast cancer, a few epochs: a real model in about a second."""
    return train_tabular(None, None, TrainConfig(epochs=5), progress=False)


@pytest.fixture(scope="session")
def tabular_registry(
    tabular_trained: Trained, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Registry, Artifact]:
    """A registry holding `tabular_trained` published once as `tabular:1`."""
    from training.pipeline import publish_trained

    registry = Registry(Path(tmp_path_factory.mktemp("publish")) / "registry")
    artifact = publish_trained(tabular_trained, registry, "tabular", promote=False)
    return registry, artifact
