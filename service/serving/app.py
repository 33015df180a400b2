"""The BentoML service: `bentoml serve service.app:Ferry` (or `ferry serve`).

Typed JSON predictions at `POST /predict` (a BentoML API, listed on BentoML's
OpenAPI page), Open Inference Protocol V2 under `/v2`, OpenAI embeddings under
`/v1` and details at `/status` (a mounted FastAPI app), BentoML's `/livez`,
`/readyz` and `/metrics`; V2 over gRPC on its own port (`service.serving.grpc`),
started and stopped with the service. The registry is polled for alias moves
(`service.serving.refresh`); `POST /admin/refresh` refreshes at once.

Batching is ours (`service.serving.batcher`), not BentoML's `batchable=True`: measured
on 2 cores, BentoML's dispatcher sheds load with 503 once its latency budget is
spent, where ours queues up to a bound and then answers 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Any, cast

import bentoml
from starlette.responses import JSONResponse

from service.serving import arrival, handlers, openapi
from service.serving.front import InferenceFront
from service.serving.handlers import Answer
from service.serving.labels import bound_request_labels
from service.serving.metrics import Metrics
from service.serving.models import ModelSet
from service.serving.monitoring import REQUEST_ID_HEADER, Monitoring
from service.serving.monitoring.gauges import DriftGauges
from service.serving.protocol.response import VERSION_HEADER
from service.serving.refresh import Refresher, RefreshResult
from service.serving.routes import build_app, to_response
from service.serving.schemas import PredictResponse
from service.serving.settings import GrpcSettings, HttpSettings, RefreshSettings
from service.serving.shadow import ShadowGauges
from service.serving.tracing import Tracing

if TYPE_CHECKING:
    from service.serving.grpc import GrpcServer

log = logging.getLogger("ferry.service")
log.setLevel(logging.INFO)  # BentoML's handlers pass INFO; our logger would default to WARNING
http = HttpSettings()
routes = build_app()
PUBLISH_INTERVAL_S = 1.0  # histograms are tallied and gauges sampled, then written out


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
        sys.setswitchinterval(http.gil_switch_ms / 1000)
        self.metrics = Metrics.create()
        self.tracing = _tracing() if http.trace_inference else None
        self.monitoring = Monitoring(gauges=DriftGauges.create())
        self.models = ModelSet(
            on_stats=self.metrics.observe_batch,
            tracer=self.tracing,
            monitoring=self.monitoring,
            shadow_gauges=ShadowGauges(),
        )
        self.refresh_settings = RefreshSettings()
        self.refresher = Refresher(
            self.models,
            self._refreshed,
            self.refresh_settings.registry_timeout_s,
            settle=self.refresh_settings.gc_freeze,
        )
        self._poller: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._grpc: GrpcServer | None = None
        routes.state.models = self.models
        routes.state.tracing = self.tracing
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

    @bentoml.on_startup
    async def start_grpc(self) -> None:
        settings = GrpcSettings()
        if settings.port == 0:
            return
        # imported here: grpc and the protocol's messages cost ~0.4 s, for nothing when off
        from service.serving.grpc import InferenceServicer, start_grpc

        servicer = InferenceServicer(routes.state, http.timeout_s, _observe, self.tracing)
        self._grpc = await start_grpc(servicer, settings, http.host, http.workers)
        log.info("gRPC (Open Inference Protocol) on %s", self._grpc.address)

    @bentoml.on_startup
    async def start_publishing(self) -> None:
        self._publisher = asyncio.get_running_loop().create_task(_publish_every_second())

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
            rid = handlers.request_id_for(self.models, None)
            body = await handlers.predict(self.models, model, inputs, texts, rid)
        except Exception as err:  # rendered like every other transport's errors
            return to_response(handlers.error_answer(err, "/predict"))  # type: ignore[return-value]
        headers = {VERSION_HEADER: body["model_version"]}
        if rid is not None:
            headers[REQUEST_ID_HEADER] = rid
        return JSONResponse(body, headers=headers)  # type: ignore[return-value]

    @bentoml.on_shutdown
    async def shutdown(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        await self.models.close()
        await asyncio.to_thread(self.monitoring.close)  # the log's last files, whole

    @bentoml.on_shutdown
    async def close_grpc(self) -> None:
        # named to run before `shutdown` (hooks run in name order): stop taking calls,
        # let running ones finish, then the model set drains its batchers
        if self._grpc is not None:
            await self._grpc.stop(grace_s=min(5.0, http.timeout_s))
        if self._publisher is not None:
            self._publisher.cancel()
        _publish_metrics()  # what the last second tallied


def _observe(endpoint: str, answer: Answer, seconds: float) -> None:
    metrics: Metrics | None = getattr(routes.state, "metrics", None)
    if metrics is not None:
        metrics.request(endpoint, answer, seconds)


def _publish_metrics() -> None:
    """Write tallied histograms out and sample the gauges: each second, and before a scrape."""
    metrics: Metrics | None = getattr(routes.state, "metrics", None)
    models: ModelSet | None = getattr(routes.state, "models", None)
    if metrics is not None and models is not None:
        entries = list(models.entries.values())
        metrics.publish(v for entry in entries for v in entry.versions.values())


async def _publish_every_second() -> None:
    while True:
        await asyncio.sleep(PUBLISH_INTERVAL_S)
        _publish_metrics()


def _tracing() -> Tracing:
    """Spans through the tracer provider BentoML builds from its `tracing` settings."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    return Tracing.from_provider(BentoMLContainer.tracer_provider.get())


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


# Traced or not, inference is answered in the front (it opens its own spans).
if http.lean_front:
    arrival.install()  # the front's times start as uvicorn parses a request
    put_front_outside(
        Ferry,
        state=routes.state,
        timeout_s=http.timeout_s,
        max_body_bytes=http.max_body_bytes,
        body_timeout_s=http.body_timeout_s,
        on_request=_observe,
        before_metrics=_publish_metrics,
    )
else:
    put_front_outside(Ferry)

# One OpenAPI document at /openapi.json: the V2, status and admin routes with BentoML's APIs.
openapi.install(routes, lambda: cast(Any, Ferry).openapi_spec.asdict())
