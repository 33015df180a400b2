"""One registry with a model of every kind (tabular, image, text embedding, text classifier)."""

from __future__ import annotations

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving.models import ModelSet
from service.serving.settings import BatchSettings, RegistrySettings
from tests.support.image_models import publish_image
from tests.support.onnx_models import publish_linear
from tests.support.text_models import publish_text

#: model -> the seed its weights were drawn with (tests/support/*_models.py)
SEEDS = {"tabular": 0, "digits": 0, "text-embed": 0, "text-classify": 1}


def publish_every_kind(registry: Registry) -> Registry:
    publish_linear(registry, "tabular", seed=SEEDS["tabular"])
    publish_image(registry, "digits", seed=SEEDS["digits"])
    publish_text(registry, "text-embed", seed=SEEDS["text-embed"])
    publish_text(registry, "text-classify", classes=3, seed=SEEDS["text-classify"])
    return registry


def cpu_model_set(registry: Registry, **batching: object) -> ModelSet:
    """Every model in `registry`, loaded on the CPU, with batch settings overridden."""
    models = ModelSet(
        RegistrySettings(registry=registry.root),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
        BatchSettings(**batching),  # type: ignore[arg-type]
    )
    models.load_all()
    return models
