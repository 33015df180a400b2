"""The BentoML service: `bentoml serve service.app:Ferry` (or `ferry serve`).

Typed JSON predictions at `POST /predict` (a BentoML API, listed on BentoML's
OpenAPI page), Open Inference Protocol V2 under `/v2` and details at `/status`
(a mounted FastAPI app), BentoML's `/livez`, `/readyz` and `/metrics`. The
registry is polled for alias moves (`service.serving.refresh`); `POST /admin/refresh`
refreshes at once.

Batching is ours (`service.serving.batcher`), not BentoML's `batchable=True`: measured
on 2 cores, BentoML's dispatcher sheds load with 503 once its latency budget is
spent, where ours queues up to a bound and then answers 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import bentoml
from starlette.responses import JSONResponse

from service.serving import handlers, openapi
from service.serving.front import InferenceFront
from service.serving.labels import bound_request_labels
from service.serving.metrics import Metrics
from service.serving.models import ModelSet
from service.serving.protocol.response import VERSION_HEADER
from service.serving.refresh import Refresher, RefreshResult
from service.serving.routes import build_app, to_response
from service.serving.schemas import PredictResponse
from service.serving.settings import HttpSettings, RefreshSettings

log = logging.getLogger("ferry.service")
log.setLevel(logging.INFO)  # BentoML's handlers pass INFO; our logger would default to WARNING
http = HttpSettings()
routes = build_app()


@bentoml.service(
    name="ferry",
    workers=http.workers,
    traffic={"timeout": http.timeout_s},
    logging={"access": {"enabled": http.access_log}},
    tracing={"excluded_urls": http.untraced_paths},
)
@bentoml.asgi_app(routes, path="/")
class Ferry:
    """Serves every configured model from the registry, each with its own session and batcher."""

    def __init__(self) -> None:
        # Nothing here touches the registry: BentoML answers no request, not even
        # /livez, until this returns, so models load in the background (`start`).
        self.metrics = Metrics.create()
        self.models = ModelSet(on_batch=self.metrics.observe_batch)
        self.refresh_settings = RefreshSettings()
        self.refresher = Refresher(
            self.models, self._refreshed, self.refresh_settings.registry_timeout_s
        )
        self._poller: asyncio.Task[None] | None = None
        routes.state.models = self.models
        routes.state.refresher = self.refresher
        routes.state.admin_token = self.refresh_settings.admin_token
        routes.state.metrics = self.metrics

    def _refreshed(self, result: RefreshResult) -> None:
        served = self.models.models.get(result.model)
        providers = served.runtime.providers if served else []
        self.metrics.refreshed(result, providers, served is not None)

    @bentoml.on_startup
    async def start(self) -> None:
        """Load every wanted model (one at a time, each in a worker thread), then poll
        the registry; probes are answered meanwhile, `/readyz` is 503 until all load."""
        run = self.refresher.run(self.refresh_settings.refresh_interval_s)
        self._poller = asyncio.get_running_loop().create_task(run)

    def __is_ready__(self) -> bool:
        return self.models.ready()

    @bentoml.api(route="/predict")
    async def predict(
        self,
        inputs: dict[str, Any] | None = None,
        model: str | None = None,
        texts: list[str] | None = None,
    ) -> PredictResponse:
        """Score rows: `inputs` maps each input name to a nested list with rows first;
        a text model also takes `texts`, a list of strings."""
        try:
            body = await handlers.predict(self.models, model, inputs, texts)
        except Exception as err:  # rendered like every other transport's errors
            return to_response(handlers.error_answer(err, "/predict"))  # type: ignore[return-value]
        return JSONResponse(body, headers={VERSION_HEADER: body["model_version"]})  # type: ignore[return-value]

    @bentoml.on_shutdown
    async def shutdown(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        await self.models.close()


def _observe(endpoint: str, status: int, seconds: float) -> None:
    metrics: Metrics | None = getattr(routes.state, "metrics", None)
    if metrics is not None:
        metrics.request(endpoint, status, seconds)


def put_front_outside(service: Any, **options: Any) -> None:
    """Make `service.to_asgi()` return BentoML's app, its request metrics labelled by
    route template (`service.serving.labels`), wrapped in the `InferenceFront`.

    `add_asgi_middleware` would place the front inside BentoML's metrics, tracing,
    timeout and context middleware, which is the cost the front exists to avoid
    (measured at 32 clients: 575 us of server CPU per request as a middleware,
    340-370 us outside, 460-550 us for a plain FastAPI app). BentoML's worker serves
    whatever `to_asgi()` returns, so a subclass that wraps it puts the front first.
    Without `options` (the lean front off) only the labels are bounded.
    """
    base = type(service)

    class Fronted(base):  # type: ignore[valid-type,misc]
        __slots__ = ()  # same layout as the slotted attrs class, so the swap is allowed

        def to_asgi(self, is_main: bool = True) -> Any:
            app = base.to_asgi(self, is_main)
            bound_request_labels(app)
            return InferenceFront(app, **options) if options else app

    service.__class__ = Fronted


# Traced inference goes through BentoML's tracing middleware, so it skips the front.
if http.lean_front and not http.trace_inference:
    put_front_outside(
        Ferry,
        state=routes.state,
        timeout_s=http.timeout_s,
        max_body_bytes=http.max_body_bytes,
        body_timeout_s=http.body_timeout_s,
        on_request=_observe,
    )
else:
    put_front_outside(Ferry)

# One OpenAPI document at /openapi.json: the V2, status and admin routes with BentoML's APIs.
openapi.install(routes, lambda: cast(Any, Ferry).openapi_spec.asdict())
