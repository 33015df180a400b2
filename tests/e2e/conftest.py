from __future__ import annotations

from collections.abc import Iterator

import pytest

from export.registry import Artifact, Registry
from loadtests.servers import running_service


@pytest.fixture(scope="session")
def trained_registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, Artifact]:
    """The real pipelines, a few epochs each: train, export, parity, publish, promote."""
    from training.loop import TrainConfig
    from training.pipeline import train_and_publish

    registry = Registry(tmp_path_factory.mktemp("e2e") / "registry")
    artifact = train_and_publish(
        "tabular", registry, train_config=TrainConfig(epochs=15), promote=True
    )
    # the image model beside it: two models, each with its own session and batcher
    train_and_publish("digits", registry, train_config=TrainConfig(epochs=4), promote=True)
    return registry, artifact


@pytest.fixture(scope="session")
def service_url(
    trained_registry: tuple[Registry, Artifact], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    registry, _ = trained_registry
    log = tmp_path_factory.mktemp("server") / "service.log"
    with running_service(registry.root, log, FERRY_MAX_ROWS_PER_REQUEST="64") as url:
        yield url
