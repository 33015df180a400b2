"""The models one service process serves, and their life cycle: load → warm → swap → drain → retire.

Per model, the version its alias names and any others the policy keeps
(`FERRY_VERSIONS`), each with its own session and batcher (`service.serving.served`).
The model set owns every change to that map: `update` loads and warms a model's new
versions in a worker thread, swaps the model's entry in one step, then retires the
versions it no longer keeps once their queued and running batches have drained.
When to update is the refresher's call (`service.serving.refresh`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from export.errors import ExportError
from export.registry import Registry
from service.runtime.errors import ModelLoadError
from service.runtime.settings import RuntimeSettings
from service.runtime.text.settings import TextSettings
from service.serving.batcher import BatchHook, BatchTracer, StatsHook
from service.serving.errors import NotReady, UnknownModel
from service.serving.monitoring import Monitoring
from service.serving.served import ModelEntry, ServedModel, serve_version
from service.serving.settings import BatchSettings, RegistrySettings

__all__ = ["ModelEntry", "ModelSet", "ServedModel", "Target"]

log = logging.getLogger("ferry.service")


@dataclass(frozen=True)
class Target:
    """What the registry wants loaded for one model: the alias's version and all kept ones."""

    default: str
    versions: tuple[str, ...]


class ModelSet:
    """Loads the configured models from the registry and looks them up by name and version."""

    def __init__(
        self,
        registry: RegistrySettings | None = None,
        runtime: RuntimeSettings | None = None,
        batching: BatchSettings | None = None,
        on_batch: BatchHook | None = None,
        text: TextSettings | None = None,
        on_stats: StatsHook | None = None,
        tracer: BatchTracer | None = None,
        monitoring: Monitoring | None = None,
    ) -> None:
        self.registry_settings = registry or RegistrySettings()
        self.runtime_settings = runtime or RuntimeSettings()
        self.batching = batching or BatchSettings()
        self.text_settings = text or TextSettings()
        self.on_batch = on_batch
        self.on_stats = on_stats  # metrics of every batch (service.serving.metrics)
        self.tracer = tracer  # spans of every batch, when tracing (service.serving.tracing)
        self.monitoring = monitoring  # drift and the prediction log; None: neither
        self.registry = Registry(self.registry_settings.registry)
        self.entries: dict[str, ModelEntry] = {}
        self.errors: dict[str, str] = {}
        self._retiring: set[asyncio.Task[None]] = set()

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

    def target(self, name: str) -> Target:
        """What the registry wants loaded for `name` now."""
        _, default = self.registry.resolve(f"{name}@{self.registry_settings.alias}")
        return Target(default, tuple(self.wanted_versions(name, default)))

    def serves(self, name: str, target: Target) -> bool:
        """Whether `name`'s entry already is `target`."""
        entry = self.entries.get(name)
        return (
            entry is not None
            and entry.default.runtime.version == target.default
            and sorted(entry.versions) == sorted(target.versions)
        )

    def load_all(self) -> None:
        """Load every wanted model at start-up; a model that fails is reported, not fatal
        to the others."""
        for name in self.wanted():
            try:
                self.entries[name] = self.load_entry(name)
                self.errors.pop(name, None)
            except (ExportError, ModelLoadError) as err:
                self.errors[name] = str(err)
                log.error("model %s not loaded: %s", name, err)

    def load_entry(
        self, name: str, reuse: ModelEntry | None = None, target: Target | None = None
    ) -> ModelEntry:
        """Load → warm: the target's versions, reusing those `reuse` already has loaded."""
        target = target or self.target(name)
        loaded = dict(reuse.versions) if reuse else {}
        versions = {v: loaded.get(v) or self.load_version(name, v) for v in target.versions}
        return ModelEntry(versions[target.default], versions)

    def load_version(self, name: str, version: str) -> ServedModel:
        artifact = self.registry.get(f"{name}:{version}", verify=False)  # the runtime verifies
        return serve_version(
            artifact,
            self.runtime_settings,
            self.batching,
            self.text_settings,
            self.on_batch,
            self.on_stats,
            self.tracer,
            self.monitoring,
        )

    async def update(self, name: str, target: Target) -> ModelEntry:
        """Bring `name` to `target`: load and warm its new versions in a worker thread,
        swap the entry in one step, then drain and retire the versions no longer kept.

        Raises if loading fails; the entry it had keeps serving untouched."""
        old = self.entries.get(name)
        fresh = await asyncio.to_thread(self.load_entry, name, old, target)
        self.entries[name] = fresh  # the swap: one reference, read by every request
        self.errors.pop(name, None)
        self._retire(old, fresh)
        return fresh

    def _retire(self, old: ModelEntry | None, fresh: ModelEntry) -> None:
        """Close the batchers of versions `fresh` dropped once their batches finish."""
        if old is None:
            return
        for version, served in old.versions.items():
            if fresh.versions.get(version) is not served:
                if self.monitoring is not None:
                    self.monitoring.forget(served.runtime)
                task = asyncio.get_running_loop().create_task(served.batcher.close())
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)

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
        """Drain and stop every batcher, those being retired included."""
        if self._retiring:
            await asyncio.wait(set(self._retiring))
        for entry in self.entries.values():
            for served in entry.versions.values():
                await served.batcher.close()
