"""When to follow alias moves: polls, the admin call, and versions not to retry.

The refresher decides when a model is brought in line with the registry; the
model set does it (`ModelSet.update`: load → warm → swap → drain → retire), so no
request is dropped. If loading fails, the old version keeps serving, the failure
is recorded, and polls do not retry that version until its alias moves again. A
canary or shadow version that fails to load is left out of the model's entry (the
alias's version serves alone) and retried when the rollout changes, or by the admin call.
Registry reads run in a worker thread, so a slow or unreachable store never holds up
the event loop that serves requests; while it is unreachable, what is loaded keeps
serving and `/status` says so (`registry`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from export.errors import ExportError, StorageError
from export.registry import AliasState
from service.runtime.errors import ModelLoadError
from service.serving.models import ModelSet

log = logging.getLogger("ferry.service")


@dataclass(frozen=True)
class RefreshResult:
    model: str
    old: str | None
    new: str
    error: str | None = None


Hook = Callable[[RefreshResult], None]


class Refresher:
    """Brings a `ModelSet` in line with the registry, one refresh at a time."""

    def __init__(self, models: ModelSet, on_result: Hook | None = None) -> None:
        self.models = models
        self.on_result = on_result
        self.last_refresh: float | None = None
        # model -> (version that failed, why); polls do not retry that version
        self._failed: dict[str, tuple[str, str]] = {}
        self._lock = asyncio.Lock()

    async def refresh(self, retry_failed: bool = False) -> list[RefreshResult]:
        """Check every wanted model once; return what changed or failed."""
        async with self._lock:
            results: list[RefreshResult] = []
            try:
                names = await asyncio.to_thread(self.models.candidates)
            except ExportError as err:
                self.models.store.failed(err)
                return results
            reached = True
            for name in names:
                try:
                    result = await self._refresh_model(name, retry_failed)
                except StorageError as err:
                    self.models.store.failed(err)
                    reached = False
                    continue
                if result is not None:
                    results.append(result)
                    if self.on_result is not None:
                        self.on_result(result)
            if reached:
                self.models.store.ok()
            self.last_refresh = time.time()
            return results

    async def poll(self, interval_s: float) -> None:
        """Refresh every `interval_s` seconds until cancelled; errors never stop the loop."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.refresh()
            except Exception:  # a broken registry must not kill serving
                log.exception("registry poll failed")

    def status(self) -> dict[str, object]:
        failures = {name: f"version {v}: {why}" for name, (v, why) in self._failed.items()}
        return {
            "failures": failures,
            "last_refresh": self.last_refresh,
            "registry": self.models.store.describe(),
        }

    async def _refresh_model(self, name: str, retry_failed: bool) -> RefreshResult | None:
        models = self.models
        try:
            state: AliasState = await asyncio.to_thread(models.registry.poll, name)
            if not models.follows(name, state):
                return None
            target = await asyncio.to_thread(models.target, name, state)
        except StorageError:
            raise
        except ExportError as err:
            alias = models.registry_settings.alias
            log.warning("model %s: cannot resolve %s: %s", name, alias, err)
            return None
        if models.serves(name, target) and not (retry_failed and models.missing(name)):
            self._failed.pop(name, None)  # the alias came back to what is serving
            return None
        failed = self._failed.get(name)
        if failed is not None and failed[0] == target.default and not retry_failed:
            return None
        entry = models.entries.get(name)
        old = entry.default.runtime.version if entry else None
        try:
            fresh = await models.update(name, target)
        except (ExportError, ModelLoadError) as err:
            self._failed[name] = (target.default, str(err))
            log.error(
                "model %s: refresh to version %s failed, %s keeps serving: %s",
                name,
                target.default,
                old,
                err,
            )
            return RefreshResult(name, old, target.default, str(err))
        self._failed.pop(name, None)
        new = fresh.default.runtime.version
        rollout = fresh.rollout.describe()
        log.info("model %s: now serving version %s (was %s); rollout: %s", name, new, old, rollout)
        return RefreshResult(name, old, new)
