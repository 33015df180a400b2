"""Hot swap: follow alias moves without dropping a request.

For each model whose alias (or kept versions) changed: load the new version in a
worker thread (sha256 verified, warmed up), swap the model's entry in one step,
then retire the old sessions once their queued and running batches finish. If
loading fails, the old version keeps serving and the failure is recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from export.errors import ExportError
from service.runtime.errors import ModelLoadError
from service.serving.models import ModelEntry, ModelSet

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
        self._retiring: set[asyncio.Task[None]] = set()

    async def refresh(self, retry_failed: bool = False) -> list[RefreshResult]:
        """Check every wanted model once; return what changed or failed."""
        async with self._lock:
            results = []
            for name in self.models.wanted():
                result = await self._refresh_model(name, retry_failed)
                if result is not None:
                    results.append(result)
                    if self.on_result is not None:
                        self.on_result(result)
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
        return {"failures": failures, "last_refresh": self.last_refresh}

    async def _refresh_model(self, name: str, retry_failed: bool) -> RefreshResult | None:
        models = self.models
        entry = models.entries.get(name)
        try:
            _, target = models.registry.resolve(f"{name}@{models.registry_settings.alias}")
            wanted = models.wanted_versions(name, target)
        except ExportError as err:
            log.warning(
                "model %s: cannot resolve %s: %s", name, models.registry_settings.alias, err
            )
            return None
        if entry is not None and _serves(entry, target, wanted):
            self._failed.pop(name, None)  # the alias came back to what is serving
            return None
        if name in self._failed and self._failed[name][0] == target and not retry_failed:
            return None
        old = entry.default.runtime.version if entry else None
        try:
            fresh = await asyncio.to_thread(models.load_entry, name, entry)
        except (ExportError, ModelLoadError) as err:
            self._failed[name] = (target, str(err))
            log.error(
                "model %s: refresh to version %s failed, %s keeps serving: %s",
                name,
                target,
                old,
                err,
            )
            return RefreshResult(name, old, target, str(err))
        models.entries[name] = fresh  # the swap: one reference, read by every request
        models.errors.pop(name, None)
        self._failed.pop(name, None)
        self._retire(entry, fresh)
        log.info(
            "model %s: now serving version %s (was %s)", name, fresh.default.runtime.version, old
        )
        return RefreshResult(name, old, fresh.default.runtime.version)

    def _retire(self, old: ModelEntry | None, fresh: ModelEntry) -> None:
        if old is None:
            return
        for version, served in old.versions.items():
            if fresh.versions.get(version) is not served:
                task = asyncio.get_running_loop().create_task(served.batcher.close())
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)


def _serves(entry: ModelEntry, target: str, wanted: list[str]) -> bool:
    return entry.default.runtime.version == target and sorted(entry.versions) == sorted(wanted)
