from __future__ import annotations

import pytest

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving.errors import NotReady, UnknownModel
from service.serving.models import ModelSet
from service.serving.settings import RegistrySettings
from tests.support.onnx_models import publish_linear


def model_set(registry: Registry, **settings: object) -> ModelSet:
    models = ModelSet(
        RegistrySettings(registry=registry.root, **settings),  # type: ignore[arg-type]
        RuntimeSettings(providers=["CPUExecutionProvider"]),
    )
    models.load_all()
    return models


def test_serves_every_model_with_a_production_alias(registry: Registry) -> None:
    publish_linear(registry, "a")
    publish_linear(registry, "b", n_features=4)
    publish_linear(registry, "draft-only", promote=False)
    models = model_set(registry)
    assert models.names() == ["a", "b"]
    assert models.ready()
    with pytest.raises(UnknownModel, match="model: required when serving 2 models"):
        models.get(None)


def test_models_named_in_settings(registry: Registry) -> None:
    publish_linear(registry, "a")
    publish_linear(registry, "b")
    assert model_set(registry, models=["b"]).names() == ["b"]


def test_a_corrupted_artifact_is_refused_and_reported(registry: Registry) -> None:
    good = publish_linear(registry, "good")
    bad = publish_linear(registry, "bad")
    bad.model_path.write_bytes(bad.model_path.read_bytes()[:-10])
    models = model_set(registry)
    assert models.names() == ["good"]
    assert not models.ready()
    assert "sha256" in models.status()["errors"]["bad"]  # type: ignore[index]
    with pytest.raises(NotReady, match="model 'bad' is not ready"):
        models.get("bad")
    assert models.get("good").runtime.version == good.manifest.version


def test_no_models_means_not_ready(registry: Registry) -> None:
    models = model_set(registry)
    assert not models.ready() and models.names() == []
