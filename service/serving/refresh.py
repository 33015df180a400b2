"""When to follow alias moves: the first load, polls, the admin call, versions not to retry.

The refresher decides when a model is brought in line with the registry; the
model set does it (`ModelSet.update`: load → warm → swap → drain → retire), so no
request is dropped. Each model is refreshed on its own: one whose version fails to
load or warm (or whose alias cannot be read) is recorded and skipped, and the others
still follow their aliases. If loading fails, the old version keeps serving and
polls do not retry that version until its alias moves again. A canary or shadow
version that fails to load is left out of the model's entry (the alias's version
serves alone) and tried again when the rollout changes, or by the admin call.

Registry reads run in one worker thread with a time bound, so a slow, unreachable or
hung store never holds up the event loop that serves requests (nor piles up
threads); while it cannot be read, what is loaded keeps serving and `/status` says
so (`registry`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

from export.errors import ExportError, StorageError
from export.registry import AliasState
from service.runtime.errors import ServiceError
from service.serving import heap
from service.serving.models import ModelSet

log = logging.getLogger("ferry.service")


@dataclass(frozen=True)
class RefreshResult:
    model: str
    old: str | None
    new: str | None  # None when the alias itself could not be read
    error: str | None = None


Hook = Callable[[RefreshResult], None]
T = TypeVar("T")


class RefreshBusy(ServiceError):
    """The admin call found a refresh still running (loading a model, say) past its wait."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


class RegistryTimeout(ServiceError):
    """A registry read that did not finish in time (a hung volume or object store)."""


class RegistryEmpty(ServiceError):
    """The registry lists none of the models being served (a volume gone, say)."""


class _Unresolved(ServiceError):
    """A wanted model whose alias could not be read, so nothing was loaded."""


class Refresher:
    """Brings a `ModelSet` in line with the registry, one refresh at a time."""

    def __init__(
        self,
        models: ModelSet,
        on_result: Hook | None = None,
        registry_timeout_s: float = 30.0,
        settle: bool = False,
    ) -> None:
        self.models = models
        self.on_result = on_result
        self.registry_timeout_s = registry_timeout_s
        self.settle = settle  # after a change, freeze what is held (`service.serving.heap`)
        self.last_refresh: float | None = None
        # model -> (version that failed, why); polls do not retry that version
        self._failed: dict[str, tuple[str, str]] = {}
        # model -> why its alias could not be resolved at the last refresh
        self._unresolved: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._started: float | None = None  # when the running refresh began
        # Registry reads run here, one at a time: never on the event loop, and a read
        # that hangs (a stalled volume) holds one thread, not one per poll.
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry")

    async def refresh(
        self, retry_failed: bool = False, wait_s: float | None = None
    ) -> list[RefreshResult]:
        """Check every wanted model once; return what changed or failed. Never raises
        for a model or registry fault: those are recorded in `status()`. With `wait_s`,
        a refresh already running for longer than that raises `RefreshBusy`."""
        try:
            async with asyncio.timeout(wait_s):
                await self._lock.acquire()
        except TimeoutError as err:
            since = time.time() - (self._started or time.time())
            raise RefreshBusy(f"a refresh has been running for {since:.0f} s; try later") from err
        try:
            self._started = time.time()
            results = await self._refresh_all(retry_failed)
            if self.settle and any(r.error is None for r in results):  # something loaded
                log.debug("heap settled in %.3f s", heap.settle())
            return results
        finally:
            self._started = None
            self._lock.release()

    async def run(self, interval_s: float) -> None:
        """Load every wanted model (the first refresh), then poll every `interval_s`
        seconds (0: never) until cancelled; errors never stop the loop."""
        await self._refresh_logged(retry_failed=True)
        state = "ready" if self.models.ready() else "not ready"
        log.info("ferry %s: %s", state, self.models.status())
        while interval_s > 0:
            await asyncio.sleep(interval_s)
            await self._refresh_logged()

    def status(self) -> dict[str, object]:
        failures = {name: f"version {v}: {why}" for name, (v, why) in self._failed.items()}
        failures.update(self._unresolved)
        return {
            "failures": failures,
            "last_refresh": self.last_refresh,
            "registry": self.models.store.describe(),
        }

    async def _refresh_logged(self, retry_failed: bool = False) -> None:
        try:
            await self.refresh(retry_failed)
        except Exception:  # a bug here must not end polling; models keep serving
            log.exception("registry poll failed")

    async def _refresh_all(self, retry_failed: bool) -> list[RefreshResult]:
        models = self.models
        results: list[RefreshResult] = []
        try:
            names = await self._read(models.candidates)
        except Exception as err:  # unreadable: whatever is loaded keeps serving
            models.store.failed(err)
            return results
        followed: list[str] = []
        reached = True
        for name in names:
            try:
                follows, result = await self._refresh_model(name, retry_failed)
            except (StorageError, RegistryTimeout) as err:  # the store, not this model
                models.store.failed(err)  # logged once, however many models it stops
                reached = False
                follows, result = name in models.entries, None
                if not follows and name in models.registry_settings.models:
                    models.errors[name] = str(err)  # wanted, and not loaded: say why
            if follows:
                followed.append(name)
            if result is not None:
                results.append(result)
                if self.on_result is not None:
                    self.on_result(result)
        if reached:
            self._reached(followed)
        self.last_refresh = time.time()
        return results

    def _reached(self, followed: list[str]) -> None:
        """The registry answered: record what it wants, unless it lists nothing while
        models are served (a vanished volume looks like an empty registry)."""
        models = self.models
        if not followed and models.entries:
            alias = models.registry_settings.alias
            models.store.failed(
                RegistryEmpty(
                    f"no model in the registry at {models.store.url} has the alias {alias!r}; "
                    f"the {len(models.entries)} loaded keep serving"
                )
            )
            return
        models.store.ok()
        models.wanted_names = tuple(followed)

    async def _read(self, read: Callable[..., T], *args: Any) -> T:
        """`read(*args)` in the registry thread, or `RegistryTimeout` past the bound."""
        future = asyncio.wrap_future(self._io.submit(read, *args))
        try:
            return await asyncio.wait_for(future, self.registry_timeout_s)
        except TimeoutError as err:
            raise RegistryTimeout(
                f"the registry at {self.models.store.url} did not answer within "
                f"{self.registry_timeout_s:g} s (FERRY_REGISTRY_TIMEOUT_S)"
            ) from err

    async def _refresh_model(
        self, name: str, retry_failed: bool
    ) -> tuple[bool, RefreshResult | None]:
        """(whether `name` is followed, what its refresh did)."""
        models = self.models
        entry = models.entries.get(name)
        old = entry.default.runtime.version if entry else None
        try:
            state: AliasState = await self._read(models.registry.poll, name)
        except (StorageError, RegistryTimeout):
            raise
        except Exception as err:  # followed if it serves or is named in settings
            listed = old is not None or bool(models.registry_settings.models)
            return self._unresolvable(name, old, err, listed)
        if not models.follows(name, state):
            return False, None
        try:
            target = await self._read(models.target, name, state)
        except (StorageError, RegistryTimeout):
            raise
        except Exception as err:
            return self._unresolvable(name, old, err, True)
        self._unresolved.pop(name, None)
        if models.serves(name, target) and not (retry_failed and models.missing(name)):
            self._failed.pop(name, None)  # the alias came back to what is serving
            return True, None
        failed = self._failed.get(name)
        if failed is not None and failed[0] == target.default and not retry_failed:
            return True, None
        try:
            fresh = await models.update(name, target)
        except Exception as err:  # this model only: the others still refresh
            why = _why(err)
            self._failed[name] = (target.default, why)
            if old is not None:  # a first load's failure is logged by the model set
                log.error(
                    "model %s: refresh to version %s failed, %s keeps serving: %s",
                    name,
                    target.default,
                    old,
                    why,
                    exc_info=None if _ours(err) else err,
                )
            return True, RefreshResult(name, old, target.default, why)
        self._failed.pop(name, None)
        new = fresh.default.runtime.version
        rollout = fresh.rollout.describe()
        log.info("model %s: now serving version %s (was %s); rollout: %s", name, new, old, rollout)
        return True, RefreshResult(name, old, new)

    def _unresolvable(
        self, name: str, old: str | None, err: Exception, followed: bool
    ) -> tuple[bool, RefreshResult | None]:
        """A model whose aliases cannot be read or resolved: recorded (logged once)."""
        models = self.models
        alias = models.registry_settings.alias
        why = f"cannot resolve {name}@{alias}: {_why(err)}"
        first = self._unresolved.get(name) != why
        if followed:
            self._unresolved[name] = why
        if first and old is None and followed:
            models.failed(name, _Unresolved(why))
        elif first and old is not None:
            log.warning("model %s: %s; version %s keeps serving", name, why, old)
        result = RefreshResult(name, old, None, why) if first and followed else None
        return followed, result


def _ours(err: Exception) -> bool:
    return isinstance(err, ExportError | ServiceError)


def _why(err: Exception) -> str:
    """The error's message, with its type when it is not one of ours (an OSError, say)."""
    return str(err) if _ours(err) else f"{type(err).__name__}: {err}"
