"""A lean ASGI front for the inference paths, outside BentoML's per-request stack.

`POST /predict` and `POST /v2/models/{name}[/versions/{v}]/infer` are answered
here; every other request passes through to BentoML unchanged. BentoML wraps
each request in a metrics middleware, a tracing middleware, a timeout task, a
request context and then a mounted FastAPI router; on 2 cores that stack cost
more than the model (see docs/benchmarks.md). The front does the same work the
handlers always did (`service.handlers`), with its own request metrics, a body
size bound and a deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from export.errors import ExportError
from service import handlers, jsonio
from service.errors import InvalidInput, NotReady, ServiceError, TooLarge
from service.models import ModelSet
from service.protocol.binary import HEADER, split_body
from service.protocol.response import VERSION_HEADER

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: (endpoint, HTTP status, seconds) for each request the front answered
OnRequest = Callable[[str, int, float], None]

log = logging.getLogger("ferry.service")
PREDICT, INFER = "/predict", "/v2/infer"
_MODELS, _INFER = "/v2/models/", "/infer"
_JSON = b"application/json"
_HEADER = HEADER.lower().encode()


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
    ) -> None:
        self.app = app
        self.state = state
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self.on_request = on_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = match(scope) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                status, headers, body = await self._answer(route, scope, receive)
        except ClientGone:
            return
        except TimeoutError:
            status, headers, body = _error(504, f"not answered within {self.timeout_s:g} s")
        await _send(send, status, headers, body)
        if self.on_request is not None:
            self.on_request(route[0], status, time.perf_counter() - started)

    async def _answer(
        self, route: tuple[str, str | None, str | None], scope: Scope, receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        endpoint, name, version = route
        try:
            raw = await _read_body(receive, self.max_body_bytes)
            models = getattr(self.state, "models", None)
            if models is None:
                raise NotReady("the service is still loading its models")
            if endpoint == PREDICT:
                result = await predict(models, jsonio.loads(raw))
                return 200, _headers(_JSON, result["model_version"]), jsonio.dumps(result)
            header, binary = split_body(raw, _header(scope, _HEADER))
            body = jsonio.loads(header)
            content, media, extra = await handlers.v2_infer(
                models, str(name), version, body, binary
            )
            out = [(k.lower().encode(), v.encode()) for k, v in extra.items()]
            return 200, [(b"content-type", media.encode()), *out], content
        except (ServiceError, ExportError) as err:
            status = int(getattr(err, "status", 500))
            return _error(status, str(err), getattr(err, "headers", None) or {})
        except (ClientGone, TimeoutError):
            raise
        except Exception as err:  # one bad request must never take the server down
            log.exception("%s failed", scope.get("path"))
            return _error(500, f"internal error: {type(err).__name__}: {err}")


async def predict(models: ModelSet, body: Any) -> dict[str, Any]:
    """The typed endpoint's body: `{"inputs": {name: nested list}, "model": name?}`,
    or `{"texts": [...], "model": name?}` for a text model."""
    if not isinstance(body, dict):
        raise InvalidInput(f"request body: expected a JSON object, got {type(body).__name__}")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidInput(f"model: expected a model name, got {model!r}")
    return await handlers.predict(models, model, body.get("inputs"), body.get("texts"))


def match(scope: Scope) -> tuple[str, str | None, str | None] | None:
    """`(endpoint, model, version)` for an inference request, else None."""
    if scope.get("method") != "POST":
        return None
    path: str = scope["path"]
    if path == PREDICT:
        return PREDICT, None, None
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


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _headers(media: bytes, version: str) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", media), (VERSION_HEADER.lower().encode(), version.encode())]


def _error(
    status: int, message: str, extra: dict[str, str] | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [(b"content-type", _JSON)]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    return status, headers, jsonio.dumps({"error": message})


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
