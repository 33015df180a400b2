"""The set of models one service process serves, each with its own runtime and batcher."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from export.errors import ExportError
from export.registry import Registry
from service.batcher import Batcher, BatchHook
from service.errors import ModelLoadError, NotReady, UnknownModel
from service.runtime import ModelRuntime
from service.settings import BatchSettings, RegistrySettings, RuntimeSettings

log = logging.getLogger("ferry.service")


@dataclass
class ServedModel:
    """A runtime and the batcher that feeds it."""

    runtime: ModelRuntime
    batcher: Batcher

    async def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return await self.batcher.submit(inputs)


class ModelSet:
    """Loads the configured models from the registry and looks them up by name."""

    def __init__(
        self,
        registry: RegistrySettings | None = None,
        runtime: RuntimeSettings | None = None,
        batching: BatchSettings | None = None,
        on_batch: BatchHook | None = None,
    ) -> None:
        self.registry_settings = registry or RegistrySettings()
        self.runtime_settings = runtime or RuntimeSettings()
        self.batching = batching or BatchSettings()
        self.on_batch = on_batch
        self.registry = Registry(self.registry_settings.registry)
        self.models: dict[str, ServedModel] = {}
        self.errors: dict[str, str] = {}

    def wanted(self) -> list[str]:
        """Models named in settings, else every model that has the serving alias."""
        if self.registry_settings.models:
            return list(self.registry_settings.models)
        alias = self.registry_settings.alias
        return [m for m in self.registry.models() if alias in self.registry.aliases(m)]

    def load_all(self) -> None:
        """Load every wanted model; a model that fails is reported, not fatal to the others."""
        for name in self.wanted():
            try:
                self.models[name] = self.load(name)
            except (ExportError, ModelLoadError) as err:
                self.errors[name] = str(err)
                log.error("model %s not loaded: %s", name, err)

    def load(self, name: str) -> ServedModel:
        ref = f"{name}@{self.registry_settings.alias}"
        runtime = ModelRuntime.load(self.registry.get(ref, verify=False), self.runtime_settings)
        log.info("loaded %s version %s on %s", name, runtime.version, runtime.providers)
        b = self.batching
        batcher = Batcher(
            runtime.run,
            name,
            max_batch_size=b.max_batch_size,
            max_latency_ms=b.max_latency_ms,
            max_queue_rows=b.max_queue_rows,
            retry_after_s=b.retry_after_s,
            on_batch=self.on_batch,
        )
        return ServedModel(runtime, batcher)

    def get(self, name: str | None) -> ServedModel:
        if name is None:
            if len(self.models) == 1:
                return next(iter(self.models.values()))
            raise UnknownModel(
                f"model: required when serving {len(self.models)} models {self.names()}"
            )
        if name in self.models:
            return self.models[name]
        if name in self.errors:
            raise NotReady(f"model {name!r} is not ready: {self.errors[name]}")
        raise UnknownModel(f"model {name!r} is not served here (models: {self.names()})")

    def names(self) -> list[str]:
        return sorted(self.models)

    def ready(self) -> bool:
        return bool(self.models) and not self.errors

    def status(self) -> dict[str, object]:
        return {
            "ready": self.ready(),
            "models": {n: m.runtime.describe() for n, m in sorted(self.models.items())},
            "errors": dict(self.errors),
        }

    async def close(self) -> None:
        for model in self.models.values():
            await model.batcher.close()
