"""A lean ASGI front for the inference paths, outside BentoML's per-request stack.

`POST /predict`, `POST /v2/models/{name}[/versions/{v}]/infer` and the OpenAI
`POST /v1/embeddings` are answered here; every other request passes through to
BentoML unchanged. BentoML wraps
each request in a metrics middleware, a tracing middleware, a timeout task, a
request context and then a mounted FastAPI router; on 2 cores that stack cost
more than the model (see docs/benchmarks.md). The front does the same work the
routes do, through the same data plane (`service.serving.handlers`), with its own
request metrics, body bounds (size and arrival time), a deadline per request and a
watch for clients that disconnect while their request waits. With tracing on
(`state.tracing`) it opens each request's span under the caller's `traceparent`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from service.runtime.errors import InvalidInput, ServiceError
from service.serving import deadlines, handlers
from service.serving.arrival import arrived
from service.serving.errors import BodyTimeout, DeadlineExceeded, TooLarge
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
#: (endpoint, answer, seconds) for each request the front answered (status 499: the
#: client left before its answer)
OnRequest = Callable[[str, Answer, float], None]
Route = tuple[str, str | None, str | None]  # endpoint, model, version

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


CLIENT_GONE = 499  # recorded (never sent) for a request whose client left first
TIMEOUT_HEADER = "X-Request-Timeout-Ms"
_TIMEOUT_HEADER = TIMEOUT_HEADER.lower().encode()
#: A request still unanswered after this long starts watching for its client leaving
#: (a task per request would cost every fast request more than its model does).
WATCH_AFTER_S = 0.02
_CLOSE = {"connection": "close"}  # a refused body is not read, so the connection cannot be reused


class ClientGone(Exception):
    """The client closed the connection before its request body arrived."""


class InferenceFront:
    """ASGI middleware: answers the inference paths itself, passes the rest to `app`.

    `state` is where the service puts its `ModelSet` (`state.models`) once loaded.
    Each request runs under a deadline (`timeout_s`, or the client's shorter
    `X-Request-Timeout-Ms`); its body must arrive within `body_timeout_s` and fit
    `max_body_bytes` (a declared `Content-Length` above it is refused unread). A
    request whose client disconnects while it waits is cancelled, which takes it out
    of its model's queue before compute.
    """

    def __init__(
        self,
        app: ASGIApp,
        state: Any,
        timeout_s: float,
        max_body_bytes: int,
        on_request: OnRequest | None = None,
        before_metrics: Callable[[], None] | None = None,
        body_timeout_s: float = 10.0,
    ) -> None:
        self.app = app
        self.state = state
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self.on_request = on_request
        # Runs before BentoML answers GET /metrics: ferry's histograms are written out in
        # bulk (service.serving.tally), so a scrape sees every request answered so far.
        self.before_metrics = before_metrics
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = match(scope) if scope["type"] == "http" else None
        if route is None:
            if self.before_metrics is not None and scope.get("path") == METRICS:
                self.before_metrics()
            await self.app(scope, receive, send)
            return
        started = arrived(scope)  # as the server parsed its first bytes (`arrival`)
        answer = await self._respond(route, scope, receive)
        if answer is not None:
            await _send(send, answer)
        if self.on_request is not None:
            seen = answer if answer is not None else Answer(CLIENT_GONE, b"")
            self.on_request(route[0], seen, time.perf_counter() - started)

    async def _respond(self, route: Route, scope: Scope, receive: Receive) -> Answer | None:
        """The answer, or None when the client left before it was ready."""
        try:
            declared, limit_s = self._limits(scope)
        except ServiceError as err:
            return _closing(handlers.error_answer(err, route[0]))
        if declared is not None and declared > self.max_body_bytes:
            too_large = TooLarge(
                f"request body: Content-Length {declared} is larger than the limit of "
                f"{self.max_body_bytes} bytes (FERRY_MAX_BODY_BYTES)"
            )
            return _closing(handlers.error_answer(too_large, route[0]))
        token = deadlines.set_deadline(asyncio.get_running_loop().time() + limit_s)
        try:
            return await self._within(route, scope, receive, limit_s)
        finally:
            deadlines.reset(token)

    def _limits(self, scope: Scope) -> tuple[int | None, float]:
        """The declared body size, and the seconds this request may take."""
        declared, limit_s = None, float(self.timeout_s)
        for key, value in scope["headers"]:
            if key == b"content-length":
                declared = int(value) if value.isdigit() else None
            elif key == _TIMEOUT_HEADER:
                limit_s = min(limit_s, _timeout_ms(value) / 1000)
        return declared, limit_s

    async def _within(
        self, route: Route, scope: Scope, receive: Receive, limit_s: float
    ) -> Answer | None:
        # One timer serves both limits: it first ends at the body's arrival limit (when
        # that comes before the deadline), then moves to the deadline once the body is in.
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline, body_by = now + limit_s, now + self.body_timeout_s
        gone: list[bool] = []
        reading = True
        watch: asyncio.TimerHandle | None = None
        watcher: list[asyncio.Task[None]] = []
        try:
            async with asyncio.timeout_at(min(deadline, body_by)) as limit:
                raw = await _read_body(receive, self.max_body_bytes)
                reading = False
                if body_by < deadline:
                    limit.reschedule(deadline)
                # most answers are ready before the watch starts: no task for them
                watch = loop.call_later(WATCH_AFTER_S, _start_watch, receive, limit, gone, watcher)
                tracing: Tracing | None = getattr(self.state, "tracing", None)
                if tracing is None:
                    return await self._answer(route, scope, raw)
                return await self._traced(tracing, route, scope, raw)
        except ClientGone:
            return None
        except TooLarge as err:
            return _closing(handlers.error_answer(err, route[0]))
        except TimeoutError:
            if reading and body_by < deadline:
                slow = BodyTimeout(
                    f"request body: not received within {self.body_timeout_s:g} s "
                    "(FERRY_BODY_TIMEOUT_S)"
                )
                return _closing(handlers.error_answer(slow, route[0]))
            if gone:
                return None
            late = DeadlineExceeded(f"not answered within {limit_s:g} s")
            return handlers.error_answer(late, route[0])
        finally:
            if watch is not None:
                watch.cancel()
            for task in watcher:
                task.cancel()

    async def _traced(self, tracing: Tracing, route: Route, scope: Scope, raw: bytes) -> Answer:
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        about = {"http.route": _SPANS[route[0]], **({"ferry.model": route[1]} if route[1] else {})}
        with tracing.request(_SPANS[route[0]], carrier, about) as span:
            answer = await self._answer(route, scope, raw)
            span.set_attribute("http.response.status_code", answer.status)
            return answer

    async def _answer(self, route: Route, scope: Scope, raw: bytes) -> Answer:
        endpoint, name, version = route
        models = getattr(self.state, "models", None)
        binary, request_id, key = _headers(scope)
        if endpoint == PREDICT:
            return await handlers.predict_answer(models, raw, request_id, key)
        if endpoint == EMBEDDINGS:
            return await embeddings_answer(models, raw, key)
        return await handlers.infer_answer(models, str(name), version, raw, binary, request_id, key)


def match(scope: Scope) -> Route | None:
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


def _start_watch(
    receive: Receive, limit: asyncio.Timeout, gone: list[bool], started: list[asyncio.Task[None]]
) -> None:
    started.append(asyncio.get_running_loop().create_task(_watch(receive, limit, gone)))


async def _watch(receive: Receive, limit: asyncio.Timeout, gone: list[bool]) -> None:
    """Wait for the client to disconnect while its request is answered; if it does,
    end the request's time limit now, which cancels the work (and its queued rows)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.append(True)
            limit.reschedule(asyncio.get_running_loop().time())
            return


def _timeout_ms(value: bytes) -> float:
    try:
        ms = float(value)
    except ValueError:
        ms = -1.0
    if not 0 < ms < float("inf"):
        shown = value[:40].decode("latin-1")
        raise InvalidInput(f"{TIMEOUT_HEADER}: expected milliseconds > 0, got {shown!r}")
    return ms


def _closing(answer: Answer) -> Answer:
    return Answer(answer.status, answer.body, {**answer.headers, **_CLOSE})


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
            raise TooLarge(
                f"request body: larger than the limit of {limit} bytes (FERRY_MAX_BODY_BYTES)"
            )
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
