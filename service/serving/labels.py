"""Bounded labels for request metrics: the route template a path matched, never the path.

BentoML's request metrics label every request it answers by its raw path, so 300
requests to `/v2/models/<random>/ready` made 300 new series (`/metrics` grew from
45 KB to 2.5 MB). `RouteLabels` maps a path to the template of the route that
serves it (`/v2/models/{name}/ready`), or to `other`; the set of labels is the set of
routes. `bound_request_labels` puts it under BentoML's metrics middleware.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, MutableMapping
from typing import Any

from starlette.routing import BaseRoute, Mount, compile_path

log = logging.getLogger("ferry.service")
OTHER = "other"
_ORIGINAL = "ferry.original_scope"
_CACHE_SIZE = 4096  # paths remembered; beyond it, lookups are matched afresh


class RouteLabels:
    """Path → route template, from a Starlette app's routes (mounted apps included)."""

    def __init__(self, templates: Iterable[str]) -> None:
        self.templates = list(dict.fromkeys(templates))
        self._patterns = [(compile_path(t)[0], t) for t in self.templates]
        self._cache: dict[str, str] = {}

    @classmethod
    def of(cls, routes: Iterable[BaseRoute], extra: Iterable[str] = ()) -> RouteLabels:
        return cls([*_templates(routes, ""), *extra])

    def __call__(self, path: str) -> str:
        label = self._cache.get(path)
        if label is None:
            label = next((t for regex, t in self._patterns if regex.match(path)), OTHER)
            if len(self._cache) < _CACHE_SIZE:
                self._cache[path] = label
        return label


def _templates(routes: Iterable[BaseRoute], prefix: str) -> list[str]:
    found: list[str] = []
    for route in routes:
        path = getattr(route, "path", None)
        if path is None:
            continue
        if isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if inner is not None:
                found += _templates(inner, prefix + path)
            else:  # static files and the like: one label for everything under it
                found.append(prefix + path + "/{rest:path}")
        else:
            found.append(prefix + path)
    return found


Scope = MutableMapping[str, Any]


def bound_request_labels(app: Any) -> bool:
    """Make the BentoML app's request-metrics middleware label by route template.

    The middleware reads `scope["path"]` for its `endpoint` label; it is given a copy
    of the scope whose path is the template, and the app after it gets the real scope
    back. Returns False (and logs) if this BentoML has no such middleware.
    """
    stack = getattr(app, "user_middleware", None)
    for middleware in stack or ():
        if getattr(middleware.cls, "__name__", "") == "RunnerTrafficMetricsMiddleware":
            labels = RouteLabels.of(app.router.routes)
            middleware.cls = _bounded(middleware.cls, labels)
            return True
    log.warning("BentoML's request metrics middleware not found: its labels stay raw paths")
    return False


def _bounded(cls: type, labels: RouteLabels) -> type:
    class Bounded(cls):
        def __init__(self, app: Any, **options: Any) -> None:
            super().__init__(_Restore(app), **options)

        async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await super().__call__(scope, receive, send)
                return
            shadow = {**scope, "path": labels(scope["path"]), _ORIGINAL: scope}
            await super().__call__(shadow, receive, send)

    return Bounded


class _Restore:
    """Hands the app behind the metrics middleware the request's real scope."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.app(scope.get(_ORIGINAL, scope), receive, send)
