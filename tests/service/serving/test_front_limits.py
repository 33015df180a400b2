"""The front's bounds: declared size, body arrival time, deadlines, clients that leave.

The ASGI app is driven directly, with a `receive` that plays the client: it can send
part of a body and stall, or disconnect while its request waits for the model.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving import handlers, jsonio
from service.serving.front import INFER, InferenceFront, Message
from service.serving.models import ModelSet
from service.serving.settings import BatchSettings, RegistrySettings
from tests.support.onnx_models import publish_linear

ROW = [0.25] * 30
CLIENT_GONE = 499  # recorded for a request whose client left before its answer


def model_set(registry: Registry, **batching: Any) -> ModelSet:
    publish_linear(registry)
    served = ModelSet(
        RegistrySettings(registry=registry.root),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
        BatchSettings(**batching),
    )
    served.load_all()
    return served


@pytest.fixture
async def models(registry: Registry) -> AsyncIterator[ModelSet]:
    served = model_set(registry, max_queue_rows=4, inline_below_ms=0)
    yield served
    await served.close()


class Client:
    """One HTTP exchange as the front sees it."""

    def __init__(self, body: bytes, headers: dict[str, str] | None = None, stall: bool = False):
        self.body, self.stall = body, stall
        self.headers = headers or {}
        self.reads = 0
        self.leave = asyncio.Event()
        self.sent: list[Message] = []

    def scope(self, path: str) -> dict[str, Any]:
        headers = [(k.lower().encode(), v.encode()) for k, v in self.headers.items()]
        return {"type": "http", "method": "POST", "path": path, "headers": headers}

    async def receive(self) -> Message:
        self.reads += 1
        if self.reads == 1:
            return {"type": "http.request", "body": self.body, "more_body": self.stall}
        if self.stall and self.reads == 2:
            await asyncio.Event().wait()  # the rest of the body never comes
        await self.leave.wait()  # after the body: wait for the client to hang up
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def answer(self) -> dict[str, Any]:
        return dict(json.loads(self.sent[1]["body"]))

    def header(self, name: str) -> str:
        return dict(self.sent[0]["headers"])[name.encode()].decode()


class Front:
    def __init__(self, models: ModelSet, **options: Any) -> None:
        self.seen: list[tuple[str, int]] = []
        settings = {"timeout_s": 30.0, "max_body_bytes": 1 << 20, **options}

        async def behind(*_: Any) -> None:
            raise AssertionError("inference paths never reach the app behind")

        self.app = InferenceFront(
            behind,
            SimpleNamespace(models=models),
            on_request=lambda e, answer, _: self.seen.append((e, answer.status)),
            **settings,
        )

    async def call(self, client: Client, path: str = "/v2/models/tabular/infer") -> None:
        await self.app(client.scope(path), client.receive, client.send)


def v2(value: float = 0.25, **body: Any) -> bytes:
    tensor = {"name": "features", "shape": [1, 30], "datatype": "FP32", "data": [value] * 30}
    return json.dumps({"inputs": [tensor], **body}).encode()


class Blocked:
    """The model's batches wait until released; counts the rows it really computes."""

    def __init__(self, models: ModelSet) -> None:
        batcher = models.get("tabular").batcher
        self.real, self.open, self.entered = batcher.run, threading.Event(), threading.Event()
        self.computed: list[float] = []
        batcher.run = self.run

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.entered.set()
        self.open.wait(timeout=30)
        self.computed += inputs["features"][:, 0].tolist()
        return dict(self.real(inputs))


async def until(condition: Any, what: str) -> None:
    for _ in range(2000):  # bounded: 10 s at most
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_declared_content_length_above_the_bound_is_refused_unread(
    models: ModelSet,
) -> None:
    front = Front(models, max_body_bytes=4096)
    client = Client(b"x" * 10, headers={"Content-Length": str(64 << 20)})
    await front.call(client, "/predict")
    assert client.status == 413 and client.reads == 0
    assert "Content-Length 67108864 is larger than the limit of 4096" in client.answer["error"]
    assert client.header("connection") == "close"


async def test_a_slow_body_is_cut_off_by_the_body_deadline_not_the_request_timeout(
    models: ModelSet,
) -> None:
    front = Front(models, timeout_s=60, body_timeout_s=0.2)
    client = Client(b'{"inputs": [', stall=True)
    await asyncio.wait_for(front.call(client), timeout=10)
    assert client.status == 408
    assert "not received within 0.2 s" in client.answer["error"]
    assert client.header("connection") == "close"


async def test_a_client_that_disconnects_while_queued_is_dropped_before_compute(
    models: ModelSet,
) -> None:
    front = Front(models)
    blocked = Blocked(models)
    first = Client(v2(1.0))
    running = asyncio.ensure_future(front.call(first))
    await until(blocked.entered.is_set, "the first request to reach the model")
    leaving = Client(_rows(2.0, 4))
    waiting = asyncio.ensure_future(front.call(leaving))
    batcher = models.get("tabular").batcher
    await until(lambda: batcher.queued_rows == 4, "the second request to queue")
    leaving.leave.set()  # the client hangs up while its request waits
    await until(lambda: batcher.queued_rows == 0, "the queue to release the rows")
    await asyncio.wait_for(waiting, timeout=10)
    assert leaving.sent == []  # nothing is sent to a client that is gone
    fits = Client(_rows(3.0, 4))  # the queue bound counts only live requests
    queued = asyncio.ensure_future(front.call(fits))
    await until(lambda: batcher.queued_rows == 4, "the third request to queue")
    blocked.open.set()
    await asyncio.wait_for(asyncio.gather(running, queued), timeout=10)
    assert first.status == 200 and fits.status == 200
    assert 2.0 not in blocked.computed and blocked.computed == [1.0] + [3.0] * 4
    assert front.seen == [(INFER, CLIENT_GONE), (INFER, 200), (INFER, 200)]


def _rows(value: float, n: int) -> bytes:
    tensor = {"name": "features", "shape": [n, 30], "datatype": "FP32", "data": [value] * 30 * n}
    return json.dumps({"inputs": [tensor]}).encode()


@pytest.mark.parametrize("how", ["parameter", "header"])
async def test_a_queued_request_past_its_deadline_gets_504_and_is_never_computed(
    models: ModelSet, how: str
) -> None:
    front = Front(models)
    blocked = Blocked(models)
    first = Client(v2(1.0))
    running = asyncio.ensure_future(front.call(first))
    await until(blocked.entered.is_set, "the first request to reach the model")
    if how == "parameter":  # what tritonclient sends for infer(..., timeout=...): microseconds
        late = Client(v2(2.0, parameters={"timeout": 100_000}))
    else:
        late = Client(v2(2.0), headers={"X-Request-Timeout-Ms": "100"})
    await asyncio.wait_for(front.call(late), timeout=10)  # answered while the model is busy
    assert late.status == 504, late.sent
    assert "within" in late.answer["error"]
    assert models.get("tabular").batcher.queued_rows == 0
    blocked.open.set()
    await asyncio.wait_for(running, timeout=10)
    assert first.status == 200 and blocked.computed == [1.0]


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (v2(parameters={"timeout": -1}), {}, "parameters.timeout: expected microseconds"),
        (v2(parameters={"timeout": "1s"}), {}, "parameters.timeout: expected microseconds"),
        (v2(), {"X-Request-Timeout-Ms": "soon"}, "X-Request-Timeout-Ms: expected milliseconds"),
        (v2(), {"X-Request-Timeout-Ms": "0"}, "X-Request-Timeout-Ms: expected milliseconds"),
    ],
)
async def test_bad_deadlines_get_a_400(
    models: ModelSet, body: bytes, headers: dict[str, str], message: str
) -> None:
    client = Client(body, headers=headers)
    await Front(models).call(client)
    assert client.status == 400 and message in client.answer["error"]


async def test_large_bodies_are_parsed_off_the_event_loop(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = model_set(registry)
    threads: list[str] = []
    real = jsonio.loads

    def loads(raw: bytes) -> Any:
        threads.append(threading.current_thread().name)
        return real(raw)

    monkeypatch.setattr(jsonio, "loads", loads)
    small = json.dumps({"inputs": {"features": [ROW]}}).encode()
    large = json.dumps({"inputs": {"features": [[0.123456789] * 30] * 1024}}).encode()
    assert len(small) < handlers.OFFLOAD_BYTES < len(large)
    for body in (small, large):
        client = Client(body)
        await Front(models).call(client, "/predict")
        assert client.status == 200, client.sent
    assert threads[0] == threading.current_thread().name
    assert threads[1] != threading.current_thread().name
    await models.close()
