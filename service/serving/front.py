"""A lean ASGI front for the inference paths, outside BentoML's per-request stack.

`POST /predict`, `POST /v2/models/{name}[/versions/{v}]/infer` and the OpenAI
`POST /v1/embeddings` are answered here; every other request passes through to
BentoML unchanged. BentoML wraps
each request in a metrics middleware, a tracing middleware, a timeout task, a
request context and then a mounted FastAPI router; on 2 cores that stack cost
more than the model (see docs/benchmarks.md). The front does the same work the
routes do, through the same data plane (`service.serving.handlers`), with its own
request metrics, a body size bound and a deadline. With tracing on
(`state.tracing`) it opens each request's span under the caller's `traceparent`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from service.serving import handlers
from service.serving.errors import DeadlineExceeded, TooLarge
from service.serving.handlers import Answer
from service.serving.monitoring import REQUEST_ID_HEADER
from service.serving.openai import embeddings_answer
from service.serving.protocol import HEADER
from service.serving.routing import KEY_HEADER
from service.serving.tracing import Tracing

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: (endpoint, answer, seconds) for each request the front answered
OnRequest = Callable[[str, Answer, float], None]

PREDICT, INFER, EMBEDDINGS = "/predict", "/v2/infer", "/v1/embeddings"
METRICS = "/metrics"
_MODELS, _INFER = "/v2/models/", "/infer"
_HEADER = HEADER.lower().encode()
_SPANS = {
    PREDICT: "POST /predict",
    INFER: "POST /v2/models/{name}/infer",
    EMBEDDINGS: "POST /v1/embeddings",
}
_REQUEST_ID = REQUEST_ID_HEADER.lower().encode()
_KEY = KEY_HEADER.lower().encode()


class ClientGone(Exception):
    """The client closed the connection before its request body arrived."""


class InferenceFront:
    """ASGI middleware: answers the inference paths itself, passes the rest to `app`.

    `state` is where the service puts its `ModelSet` (`state.models`) once loaded.
    """

    def __init__(
        self,
        app: ASGIApp,
        state: Any,
        timeout_s: float,
        max_body_bytes: int,
        on_request: OnRequest | None = None,
        before_metrics: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.state = state
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self.on_request = on_request
        # Runs before BentoML answers GET /metrics: ferry's histograms are written out in
        # bulk (service.serving.tally), so a scrape sees every request answered so far.
        self.before_metrics = before_metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = match(scope) if scope["type"] == "http" else None
        if route is None:
            if self.before_metrics is not None and scope.get("path") == METRICS:
                self.before_metrics()
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        tracing: Tracing | None = getattr(self.state, "tracing", None)
        try:
            async with asyncio.timeout(self.timeout_s):
                if tracing is None:
                    answer = await self._answer(route, scope, receive)
                else:
                    answer = await self._traced(tracing, route, scope, receive)
        except ClientGone:
            return
        except TimeoutError:
            answer = handlers.error_answer(
                DeadlineExceeded(f"not answered within {self.timeout_s:g} s"), route[0]
            )
        await _send(send, answer)
        if self.on_request is not None:
            self.on_request(route[0], answer, time.perf_counter() - started)

    async def _traced(
        self,
        tracing: Tracing,
        route: tuple[str, str | None, str | None],
        scope: Scope,
        receive: Receive,
    ) -> Answer:
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        about = {"http.route": _SPANS[route[0]], **({"ferry.model": route[1]} if route[1] else {})}
        with tracing.request(_SPANS[route[0]], carrier, about) as span:
            answer = await self._answer(route, scope, receive)
            span.set_attribute("http.response.status_code", answer.status)
            return answer

    async def _answer(
        self, route: tuple[str, str | None, str | None], scope: Scope, receive: Receive
    ) -> Answer:
        endpoint, name, version = route
        try:
            raw = await _read_body(receive, self.max_body_bytes)
        except TooLarge as err:
            return handlers.error_answer(err, endpoint)
        models = getattr(self.state, "models", None)
        binary, request_id, key = _headers(scope)
        if endpoint == PREDICT:
            return await handlers.predict_answer(models, raw, request_id, key)
        if endpoint == EMBEDDINGS:
            return await embeddings_answer(models, raw, key)
        return await handlers.infer_answer(models, str(name), version, raw, binary, request_id, key)


def match(scope: Scope) -> tuple[str, str | None, str | None] | None:
    """`(endpoint, model, version)` for an inference request, else None."""
    if scope.get("method") != "POST":
        return None
    path: str = scope["path"]
    if path in (PREDICT, EMBEDDINGS):
        return path, None, None
    if not (path.startswith(_MODELS) and path.endswith(_INFER)):
        return None
    parts = path[len(_MODELS) : -len(_INFER)].split("/")
    if len(parts) == 1 and parts[0]:
        return INFER, parts[0], None
    if len(parts) == 3 and parts[1] == "versions" and parts[0] and parts[2]:
        return INFER, parts[0], parts[2]
    return None


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body: larger than the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _headers(scope: Scope) -> tuple[str | None, str | None, str | None]:
    """The binary extension's header, the client's request id and canary key, if sent."""
    binary = request_id = canary_key = None
    for key, value in scope["headers"]:
        if key == _HEADER:
            binary = str(value.decode("latin-1"))
        elif key == _REQUEST_ID:
            request_id = str(value.decode("latin-1"))
        elif key == _KEY:
            canary_key = str(value.decode("latin-1"))
    return binary, request_id, canary_key


async def _send(send: Send, answer: Answer) -> None:
    headers = [(k.lower().encode(), v.encode()) for k, v in answer.headers.items()]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
