"""The models one service process serves, and their life cycle: load → warm → swap → drain → retire.

Per model, the version its alias names and any others the policy keeps
(`FERRY_VERSIONS`), each with its own session and batcher (`service.serving.served`).
The model set owns every change to that map: `update` loads and warms a model's new
versions in a worker thread, swaps the model's entry in one step, then retires the
versions it no longer keeps once their queued and running batches have drained.
When to update is the refresher's call (`service.serving.refresh`).

An alias's rollout rides along: its canary and shadow versions are loaded beside it
(one that fails to load is left out and reported, and the alias's version serves
alone); `route` sends the canary its share of the alias's requests, and the shadow
gets its share of what the alias's version answered: a tensor model's batches whole,
from the batcher of the alias's version (`_mirror_batches`), a text model's requests
from the data plane (`mirror`).

Following the registry costs one small conditional read of each model's aliases per
poll (`Registry.poll`); without `FERRY_MODELS`, the model folders are listed again every
`FERRY_DISCOVERY_INTERVAL_S`. If the registry cannot be reached, whatever is loaded
keeps serving and `store` says what fails.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

import numpy as np

from export.errors import ExportError
from export.registry import AliasState, Registry, Rollout
from export.shadow import ShadowRecord, replica_id, save
from service.runtime.errors import ModelLoadError, short
from service.runtime.settings import RuntimeSettings
from service.runtime.text.settings import TextSettings
from service.serving.batcher import BatchHook, BatchTracer, StatsHook
from service.serving.errors import NotReady, UnknownModel
from service.serving.monitoring import Monitoring
from service.serving.routing import takes_canary
from service.serving.served import ModelEntry, ServedModel, Target, serve_version
from service.serving.settings import BatchSettings, RegistrySettings
from service.serving.shadow import Route, Session, ShadowGauges, ShadowSettings, ShadowWorker

__all__ = ["ModelEntry", "ModelSet", "ServedModel", "Target"]

log = logging.getLogger("ferry.service")


class StoreHealth:
    """Whether the registry answered the last time it was asked, and if not, why."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.error: str | None = None
        self.since: float | None = None

    def failed(self, err: Exception) -> None:
        if self.error is None:
            self.since = time.time()
            log.error("registry %s unreachable, loaded versions keep serving: %s", self.url, err)
        self.error = str(err)

    def ok(self) -> None:
        if self.error is not None:
            log.info("registry %s answers again", self.url)
        self.error, self.since = None, None

    def describe(self) -> dict[str, object]:
        return {"url": self.url, "ok": self.error is None, "error": self.error,
                "failing_since": self.since}  # fmt: skip


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
        shadow: ShadowSettings | None = None,
        shadow_gauges: ShadowGauges | None = None,
    ) -> None:
        self.registry_settings = registry or RegistrySettings()
        self.runtime_settings = runtime or RuntimeSettings()
        self.batching = batching or BatchSettings()
        self.text_settings = text or TextSettings()
        self.on_batch = on_batch
        self.on_stats = on_stats  # metrics of every batch (service.serving.metrics)
        self.tracer = tracer  # spans of every batch, when tracing (service.serving.tracing)
        self.monitoring = monitoring  # drift and the prediction log; None: neither
        settings = self.registry_settings
        self.registry = Registry(settings.registry, cache_dir=settings.cache_dir)
        self.store = StoreHealth(self.registry.url)
        self._names: list[str] = []
        self._listed_at: float | None = None
        self.entries: dict[str, ModelEntry] = {}
        # model -> why it is not loaded (its load or warm-up failed, or its alias is unreadable)
        self.errors: dict[str, str] = {}
        # the models the registry wanted at its last reading; None until the first one
        self.wanted_names: tuple[str, ...] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        shadow = shadow or ShadowSettings()
        persist = self._persist if shadow.persist else None
        self.shadowing = ShadowWorker(shadow, replica_id(), persist, shadow_gauges)

    @property
    def models(self) -> dict[str, ServedModel]:
        """The alias's version of each model, by name."""
        return {name: entry.default for name, entry in self.entries.items()}

    def candidates(self) -> list[str]:
        """Models to follow: those named in settings, else the registry's model folders
        (listed again once `discovery_interval_s` has passed)."""
        if self.registry_settings.models:
            return list(self.registry_settings.models)
        now = time.monotonic()
        due = self._listed_at is None or now - self._listed_at >= (
            self.registry_settings.discovery_interval_s
        )
        if due:
            self._names = self.registry.model_names()
            self._listed_at = now
        return list(self._names)

    def follows(self, name: str, state: AliasState) -> bool:
        """Whether `name` is served: named in settings, or it has the serving alias."""
        return bool(self.registry_settings.models) or self.registry_settings.alias in state.aliases

    def wanted(self) -> list[str]:
        """Models named in settings, else every model that has the serving alias."""
        return [m for m in self.candidates() if self.follows(m, self.registry.poll(m))]

    def wanted_versions(
        self, name: str, default: str, state: AliasState | None = None
    ) -> list[str]:
        """The versions the policy keeps loaded for `name`, the alias's version included."""
        policy = self.registry_settings.versions
        if policy == "aliases":
            aliases = state.aliases if state is not None else self.registry.aliases(name)
            extra = set(aliases.values())
        elif policy.startswith("latest:"):
            extra = set(self.registry.versions(name)[-int(policy.split(":")[1]) :])
        else:
            extra = set()
        return sorted(extra | {default}, key=lambda v: (len(v), v))

    def target(self, name: str, state: AliasState | None = None) -> Target:
        """What the registry wants loaded for `name` now (from `state`, its aliases as
        just polled; with the default version policy no other request is made)."""
        state = state if state is not None else self.registry.poll(name)
        alias = self.registry_settings.alias
        default = state.aliases.get(alias)
        if default is None:
            _, default = self.registry.resolve(f"{name}@{alias}")  # names what is missing
        rollout = state.rollouts.get(alias, Rollout())
        return Target(default, tuple(self.wanted_versions(name, default, state)), rollout)

    def serves(self, name: str, target: Target) -> bool:
        """Whether `name`'s entry already is `target` (a rollout version that failed to
        load is not tried again until the target changes)."""
        entry = self.entries.get(name)
        return entry is not None and entry.target == target

    def missing(self, name: str) -> bool:
        """Whether `name`'s entry lacks a rollout version that failed to load."""
        entry = self.entries.get(name)
        return entry is not None and bool(entry.problems)

    def load_all(self) -> None:
        """Load every wanted model now (tests, tools); a model that fails is reported, not
        fatal to the others. An unreachable registry leaves nothing loaded (not ready) until
        a poll reaches it. The service loads through `update`, off the event loop."""
        try:
            wanted = self.wanted()
        except Exception as err:  # an unreadable registry: nothing to load yet
            self.store.failed(err)
            return
        self.store.ok()
        self.wanted_names = tuple(wanted)
        for name in wanted:
            try:
                old, fresh = self.entries.get(name), self.load_entry(name)
                self.entries[name] = fresh
                self.errors.pop(name, None)
                self._mirror_batches(old, fresh)
                if old is not None and old.route is not None:
                    self.shadowing.close_route(old.route)
            except Exception as err:  # one bad model never stops the others
                self.failed(name, err)

    def load_entry(
        self, name: str, reuse: ModelEntry | None = None, target: Target | None = None
    ) -> ModelEntry:
        """Load → warm: the target's versions, reusing those `reuse` already has loaded."""
        target = target or self.target(name)
        loaded = dict(reuse.versions) if reuse else {}
        versions = {v: loaded.get(v) or self.load_version(name, v) for v in target.versions}
        problems = {}
        for version in target.rollout.versions():  # a broken canary or shadow serves nothing
            if version not in versions:
                try:
                    versions[version] = loaded.get(version) or self.load_version(name, version)
                except Exception as err:  # whatever it is, the alias's version still serves
                    problems[version] = str(err)
                    ours = isinstance(err, ExportError | ModelLoadError)
                    log.error("model %s: rollout version %s not loaded: %s", name, version, err,
                              exc_info=None if ours else err)  # fmt: skip
        rollout = target.rollout
        canary = versions.get(rollout.canary) if rollout.canary else None
        shadow = versions.get(rollout.shadow) if rollout.shadow else None
        default = versions[target.default]
        session, route = None, None
        if shadow is not None:
            alias = self.registry_settings.alias
            session = Session(name, alias, target.default, shadow.runtime.version, rollout.session)
            route = self.shadowing.open_route(
                Route(session, default.runtime, shadow.runtime, shadow.buckets)
            )
        return ModelEntry(
            default, versions, rollout, canary, shadow, session, route, problems, target
        )

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
        try:
            fresh = await asyncio.to_thread(self.load_entry, name, old, target)
        except Exception as err:
            if old is None:  # nothing serves this model: say why wherever it is asked for
                self.failed(name, err)
            raise
        self.entries[name] = fresh  # the swap: one reference, read by every request
        self.errors.pop(name, None)
        self._mirror_batches(old, fresh)
        self._retire(old, fresh)
        return fresh

    def _mirror_batches(self, old: ModelEntry | None, fresh: ModelEntry) -> None:
        """Hook the batcher of `fresh`'s alias version to its shadow, if it has one and
        is a tensor model (its answered batches are offered whole); unhook `old`'s."""
        for served in old.versions.values() if old is not None else ():
            served.batcher.mirror = None
        if fresh.route is not None and fresh.default.runtime.text is None:
            hook = self.shadowing.mirror(fresh.route, fresh.rollout.fraction)
            fresh.default.batcher.mirror = hook

    def _retire(self, old: ModelEntry | None, fresh: ModelEntry) -> None:
        """Close the batchers of versions `fresh` dropped once their batches finish."""
        if old is None:
            return
        if old.route is not None:
            self.shadowing.close_route(old.route)
        for version, served in old.versions.items():
            if fresh.versions.get(version) is not served:
                if self.monitoring is not None:
                    self.monitoring.forget(served.runtime)
                task = asyncio.get_running_loop().create_task(served.batcher.close())
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)

    def route(
        self, name: str | None, version: str | None = None, key: str | None = None
    ) -> ServedModel:
        """The version that answers a request: the one asked for, else the alias's canary
        for its share of the keys (`service.serving.routing`), else the alias's version."""
        if version is not None:
            return self.get(name, version)
        entry = self.entry(name)
        canary = entry.canary
        if canary is not None and takes_canary(canary.runtime.name, key, entry.rollout.weight):
            return canary
        return entry.default

    def mirror(
        self,
        served: ServedModel,
        inputs: dict[str, np.ndarray] | list[str],
        outputs: dict[str, np.ndarray],
    ) -> None:
        """Hand an answered text request to the shadow, if the alias's version answered
        it and it falls in the shadow's fraction; queues only. (A tensor model's requests
        reach the shadow batch by batch, from its batcher: `_mirror_batches`.)"""
        if served.runtime.text is None:
            return
        entry = self.entries.get(served.runtime.name)
        if entry is None or entry.route is None or entry.default is not served:
            return
        fraction = entry.rollout.fraction
        if fraction < 1.0 and random.random() >= fraction:
            return
        self.shadowing.offer(entry.route, tuple(inputs) if isinstance(inputs, list) else inputs,
                             outputs, 1)  # fmt: skip

    def entry(self, name: str | None) -> ModelEntry:
        """The entry of model `name` (None: the only one served), or why there is none."""
        if name is None:
            if len(self.entries) == 1:
                return next(iter(self.entries.values()))
            if not self.entries and (self.wanted_names is None or self.wanted_names):
                raise NotReady("no model is loaded yet")
            raise UnknownModel(
                f"model: required when serving {len(self.entries)} models {self.names()}"
            )
        entry = self.entries.get(name)
        if entry is None:
            if name in self.errors:
                raise NotReady(f"model {name!r} is not ready: {self.errors[name]}")
            if self.wanted_names is None or name in self.wanted_names:
                raise NotReady(f"model {short(name)} is not ready: still loading")
            raise UnknownModel(f"model {short(name)} is not served here (models: {self.names()})")
        return entry

    def get(self, name: str | None, version: str | None = None) -> ServedModel:
        entry = self.entry(name)
        if version is None:
            return entry.default
        if version not in entry.versions:
            known = ", ".join(sorted(entry.versions))
            where = f"model {name!r}"
            raise UnknownModel(
                f"version {short(version)} of {where} is not served (versions: {known})"
            )
        return entry.versions[version]

    def names(self) -> list[str]:
        return sorted(self.entries)

    def ready(self) -> bool:
        """Every wanted model is loaded and warmed (and the registry wants at least one)."""
        names = self.wanted_names
        if names is None:
            return False
        return bool(names) and all(name in self.entries for name in names)

    def model_ready(self, name: str, version: str | None = None) -> bool | None:
        """Whether `name` (at `version`) serves now; None for a model not wanted here."""
        entry = self.entries.get(name)
        if entry is not None:
            return version is None or version in entry.versions or None
        if self.wanted_names is None or name in self.errors or name in self.wanted_names:
            return False  # not loaded (yet): before the registry's first reading, nothing is
        return None

    def failed(self, name: str, err: Exception) -> None:
        """Record why `name` is not loaded; the others are not affected."""
        self.errors[name] = str(err)
        ours = isinstance(err, ExportError | ModelLoadError)
        log.error("model %s not loaded: %s", name, err, exc_info=None if ours else err)

    def status(self) -> dict[str, object]:
        loading = [
            n for n in self.wanted_names or () if n not in self.entries and n not in self.errors
        ]
        return {
            "ready": self.ready(),
            "loading": loading,
            "models": {
                name: {
                    **entry.default.runtime.describe(),
                    **({"buckets": list(entry.default.buckets)} if entry.default.buckets else {}),
                    "loaded_versions": sorted(entry.versions),
                    **({"rollout": entry.describe_rollout()} if not entry.rollout.empty else {}),
                }
                for name, entry in sorted(self.entries.items())
            },
            "errors": dict(self.errors),
            "registry": self.store.describe(),
            "shadow": self.shadowing.status(),
        }

    def _persist(self, record: ShadowRecord) -> None:
        save(self.registry, record)

    async def close(self) -> None:
        """Drain and stop every batcher, those being retired included, then the shadow
        (what it queued is compared and written first)."""
        if self._retiring:
            await asyncio.wait(set(self._retiring))
        for entry in self.entries.values():
            for served in entry.versions.values():
                await served.batcher.close()
        await asyncio.to_thread(self.shadowing.close)
