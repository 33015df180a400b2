"""When to follow alias moves: the first load, polls, the admin call, versions not to retry.

The refresher decides when a model is brought in line with the registry; the
model set does it (`ModelSet.update`: load → warm → swap → drain → retire), so no
request is dropped. Each model is refreshed on its own: one whose version fails to
load or warm (or whose alias cannot be read) is recorded and skipped, and the others
still follow their aliases. If loading fails, the old version keeps serving and
polls do not retry that version until its alias moves again. A registry that
cannot be read at all leaves every loaded version serving and says so in `status`.
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

from export.errors import ExportError
from service.runtime.errors import ServiceError
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


@dataclass
class RegistryState:
    """Whether the last look at the registry worked, and since when it has not."""

    ok: bool = True
    error: str | None = None
    since: float | None = None

    def failed(self, why: str) -> None:
        if self.ok or self.error != why:
            log.error("registry: %s", why)
        self.since = self.since if not self.ok else time.time()
        self.ok, self.error = False, why

    def recovered(self) -> None:
        if not self.ok:
            log.info("registry readable again")
        self.ok, self.error, self.since = True, None, None

    def describe(self) -> dict[str, object]:
        return {"ok": self.ok, "error": self.error, "since": self.since}


class Refresher:
    """Brings a `ModelSet` in line with the registry, one refresh at a time."""

    def __init__(
        self, models: ModelSet, on_result: Hook | None = None, registry_timeout_s: float = 30.0
    ) -> None:
        self.models = models
        self.on_result = on_result
        self.registry_timeout_s = registry_timeout_s
        # Registry reads run here, one at a time: never on the event loop, and a read
        # that hangs (a stalled volume) holds one thread, not one per poll.
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry")
        self.last_refresh: float | None = None
        self.registry = RegistryState()
        # model -> (version that failed, why); polls do not retry that version
        self._failed: dict[str, tuple[str, str]] = {}
        # model -> why its alias could not be resolved at the last refresh
        self._unresolved: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._started: float | None = None  # when the running refresh began

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
            return await self._refresh_all(retry_failed)
        finally:
            self._started = None
            self._lock.release()

    async def _refresh_all(self, retry_failed: bool) -> list[RefreshResult]:
        names = await self._wanted()
        results = []
        for name in names or ():
            result = await self._refresh_model(name, retry_failed)
            if result is not None:
                results.append(result)
                if self.on_result is not None:
                    self.on_result(result)
        self.last_refresh = time.time()
        return results

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
            "registry": self.registry.describe(),
        }

    async def _refresh_logged(self, retry_failed: bool = False) -> None:
        try:
            await self.refresh(retry_failed)
        except Exception:  # a bug here must not end polling; models keep serving
            log.exception("registry poll failed")

    async def _read(self, read: Callable[..., T], *args: Any) -> T:
        """`read(*args)` in the registry thread, or `RegistryTimeout` past the bound."""
        future = asyncio.wrap_future(self._io.submit(read, *args))
        try:
            return await asyncio.wait_for(future, self.registry_timeout_s)
        except TimeoutError as err:
            root = self.models.registry_settings.registry
            raise RegistryTimeout(
                f"the registry at {root} did not answer within {self.registry_timeout_s:g} s "
                "(FERRY_REGISTRY_TIMEOUT_S)"
            ) from err

    async def _wanted(self) -> list[str] | None:
        """The models to serve, or None (recorded) when the registry cannot say."""
        models = self.models
        root = models.registry_settings.registry
        try:
            names = await self._read(models.wanted)
        except Exception as err:  # unreadable: whatever is loaded keeps serving
            self.registry.failed(f"cannot read the registry at {root}: {_why(err)}")
            return None
        if not names:
            alias = models.registry_settings.alias
            kept = f"; the {len(models.entries)} loaded keep serving" if models.entries else ""
            self.registry.failed(
                f"no model in the registry at {root} has the alias {alias!r}{kept}"
            )
            if models.entries:  # a vanished volume looks like an empty registry
                return None
        else:
            self.registry.recovered()
        models.wanted_names = tuple(names)
        return names

    async def _refresh_model(self, name: str, retry_failed: bool) -> RefreshResult | None:
        models = self.models
        entry = models.entries.get(name)
        old = entry.default.runtime.version if entry else None
        try:
            target = await self._read(models.target, name)
        except Exception as err:
            alias = models.registry_settings.alias
            why = f"cannot resolve {name}@{alias}: {_why(err)}"
            first = self._unresolved.get(name) != why
            self._unresolved[name] = why
            if first and entry is None:
                models.failed(name, _Unresolved(why))
            elif first:
                log.warning("model %s: %s; version %s keeps serving", name, why, old)
            return RefreshResult(name, old, None, why) if first else None
        self._unresolved.pop(name, None)
        if models.serves(name, target):
            self._failed.pop(name, None)  # the alias came back to what is serving
            return None
        failed = self._failed.get(name)
        if failed is not None and failed[0] == target.default and not retry_failed:
            return None
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
            return RefreshResult(name, old, target.default, why)
        self._failed.pop(name, None)
        new = fresh.default.runtime.version
        log.info("model %s: now serving version %s (was %s)", name, new, old)
        return RefreshResult(name, old, new)


class RefreshBusy(ServiceError):
    """The admin call found a refresh still running (loading a model, say) past its wait."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


class RegistryTimeout(ServiceError):
    """A registry read that did not finish in time (a hung volume or object store)."""


class _Unresolved(ServiceError):
    """A wanted model whose alias could not be read, so nothing was loaded."""


def _ours(err: Exception) -> bool:
    return isinstance(err, ExportError | ServiceError)


def _why(err: Exception) -> str:
    """The error's message, with its type when it is not one of ours (an OSError, say)."""
    return str(err) if _ours(err) else f"{type(err).__name__}: {err}"
