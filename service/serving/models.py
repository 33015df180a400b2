"""The models one service process serves: per model, the alias's version and any others kept.

Each loaded version has its own ONNX Runtime session and batcher, so traffic to
one model (or version) never waits in another's batch. A model's entry is an
immutable snapshot replaced as a whole, so a reader sees the old set or the new.
A text model's batcher keeps length buckets apart and pads to the batch's longest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from export.errors import ExportError
from export.registry import Registry
from service.runtime import ModelRuntime
from service.runtime.errors import ModelLoadError
from service.runtime.settings import RuntimeSettings
from service.runtime.text import TEXT_INPUT, bucket_bounds
from service.runtime.text.padding import padded_join
from service.runtime.text.settings import TextSettings
from service.serving.batcher import Batcher, BatchHook
from service.serving.errors import NotReady, UnknownModel
from service.serving.settings import BatchSettings, RegistrySettings
from service.serving.texts import infer_texts

log = logging.getLogger("ferry.service")


@dataclass
class ServedModel:
    """A runtime and the batcher that feeds it (with a text model's length buckets)."""

    runtime: ModelRuntime
    batcher: Batcher
    buckets: tuple[int, ...] = ()

    async def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs for inputs validated against `runtime.interface`."""
        if self.runtime.text is None:
            return await self.batcher.submit(inputs)
        return await self.infer_texts(inputs[TEXT_INPUT].tolist())

    async def infer_texts(self, texts: list[str]) -> dict[str, np.ndarray]:
        """A text model's outputs for validated strings, one row per text."""
        assert self.runtime.text is not None, f"{self.runtime.name} is not a text model"
        return await infer_texts(self.batcher, self.runtime.text, self.buckets, texts)


@dataclass(frozen=True)
class ModelEntry:
    """One model: the version its alias names and every version kept loaded."""

    default: ServedModel
    versions: dict[str, ServedModel] = field(default_factory=dict)


class ModelSet:
    """Loads the configured models from the registry and looks them up by name and version."""

    def __init__(
        self,
        registry: RegistrySettings | None = None,
        runtime: RuntimeSettings | None = None,
        batching: BatchSettings | None = None,
        on_batch: BatchHook | None = None,
        text: TextSettings | None = None,
    ) -> None:
        self.registry_settings = registry or RegistrySettings()
        self.runtime_settings = runtime or RuntimeSettings()
        self.batching = batching or BatchSettings()
        self.text_settings = text or TextSettings()
        self.on_batch = on_batch
        self.registry = Registry(self.registry_settings.registry)
        self.entries: dict[str, ModelEntry] = {}
        self.errors: dict[str, str] = {}

    @property
    def models(self) -> dict[str, ServedModel]:
        """The alias's version of each model, by name."""
        return {name: entry.default for name, entry in self.entries.items()}

    def wanted(self) -> list[str]:
        """Models named in settings, else every model that has the serving alias."""
        if self.registry_settings.models:
            return list(self.registry_settings.models)
        alias = self.registry_settings.alias
        return [m for m in self.registry.models() if alias in self.registry.aliases(m)]

    def wanted_versions(self, name: str, default: str) -> list[str]:
        """The versions the policy keeps loaded for `name`, the alias's version included."""
        policy = self.registry_settings.versions
        if policy == "aliases":
            extra = set(self.registry.aliases(name).values())
        elif policy.startswith("latest:"):
            extra = set(self.registry.versions(name)[-int(policy.split(":")[1]) :])
        else:
            extra = set()
        return sorted(extra | {default}, key=lambda v: (len(v), v))

    def load_all(self) -> None:
        """Load every wanted model; a model that fails is reported, not fatal to the others."""
        for name in self.wanted():
            try:
                self.entries[name] = self.load_entry(name)
                self.errors.pop(name, None)
            except (ExportError, ModelLoadError) as err:
                self.errors[name] = str(err)
                log.error("model %s not loaded: %s", name, err)

    def load_entry(self, name: str, reuse: ModelEntry | None = None) -> ModelEntry:
        """Load the alias's version and the policy's others, reusing already loaded ones."""
        _, default = self.registry.resolve(f"{name}@{self.registry_settings.alias}")
        loaded = dict(reuse.versions) if reuse else {}
        versions = {
            v: loaded.get(v) or self.load_version(name, v)
            for v in self.wanted_versions(name, default)
        }
        return ModelEntry(versions[default], versions)

    def load_version(self, name: str, version: str) -> ServedModel:
        runtime = ModelRuntime.load(
            self.registry.get(f"{name}:{version}", verify=False),
            self.runtime_settings,
            warm_up=False,
        )
        b = self.batching
        buckets: tuple[int, ...] = ()
        if runtime.text is None:
            runtime.warm_up(self.runtime_settings.warmup_rows)
        else:
            buckets = bucket_bounds(self.text_settings.buckets, runtime.text.max_length)
            # Every bucket's shapes at the sizes batches take alone and under load.
            runtime.warm_up((1, b.max_batch_size), buckets)
        log.info("loaded %s version %s on %s", name, version, runtime.providers)
        batcher = Batcher(
            runtime.run,
            f"{name}:{version}",
            max_batch_size=b.max_batch_size,
            max_latency_ms=b.max_latency_ms,
            max_queue_rows=b.max_queue_rows,
            retry_after_s=b.retry_after_s,
            on_batch=self.on_batch,
            join=padded_join(runtime.text.pads()) if runtime.text else None,
            inline_below_ms=b.inline_below_ms,
        )
        return ServedModel(runtime, batcher, buckets)

    def get(self, name: str | None, version: str | None = None) -> ServedModel:
        if name is None:
            if len(self.entries) == 1:
                return next(iter(self.entries.values())).default
            raise UnknownModel(
                f"model: required when serving {len(self.entries)} models {self.names()}"
            )
        entry = self.entries.get(name)
        if entry is None:
            if name in self.errors:
                raise NotReady(f"model {name!r} is not ready: {self.errors[name]}")
            raise UnknownModel(f"model {name!r} is not served here (models: {self.names()})")
        if version is None:
            return entry.default
        if version not in entry.versions:
            known = ", ".join(sorted(entry.versions))
            where = f"model {name!r}"
            raise UnknownModel(f"version {version!r} of {where} is not served (versions: {known})")
        return entry.versions[version]

    def names(self) -> list[str]:
        return sorted(self.entries)

    def ready(self) -> bool:
        return bool(self.entries) and not self.errors

    def status(self) -> dict[str, object]:
        return {
            "ready": self.ready(),
            "models": {
                name: {
                    **entry.default.runtime.describe(),
                    **({"buckets": list(entry.default.buckets)} if entry.default.buckets else {}),
                    "loaded_versions": sorted(entry.versions),
                }
                for name, entry in sorted(self.entries.items())
            },
            "errors": dict(self.errors),
        }

    async def close(self) -> None:
        for entry in self.entries.values():
            for served in entry.versions.values():
                await served.batcher.close()
