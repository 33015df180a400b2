"""A caller's traceparent reaches the queue, batch and session.run spans, on REST and gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pytest
import tritonclient.grpc.aio as triton
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving.front import InferenceFront, Receive, Scope, Send
from service.serving.grpc import InferenceServicer, start_grpc
from service.serving.models import ModelSet
from service.serving.settings import BatchSettings, GrpcSettings, RegistrySettings
from service.serving.tracing import Tracing
from tests.support.onnx_models import publish_linear

CALLER = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "0af7651916cd43dd8448eb211c80319c"


def traceparent(trace_id: str, span_id: str = "00f067aa0ba902b7") -> str:
    return f"00-{trace_id}-{span_id}-01"


async def nothing_behind(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the front answers inference itself")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def traced(tmp_path: Path, exporter: InMemorySpanExporter) -> AsyncIterator[SimpleNamespace]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = Tracing.from_provider(provider)
    registry = Registry(tmp_path / "registry")
    publish_linear(registry)
    # a batch waits 200 ms to fill, so requests sent together share it
    models = ModelSet(
        RegistrySettings(registry=registry.root),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
        BatchSettings(max_latency_ms=200, max_batch_size=8),
        tracer=tracing,
    )
    models.load_all()
    state = SimpleNamespace(models=models, tracing=tracing)
    yield SimpleNamespace(state=state, tracing=tracing, models=models)
    await models.close()


def by_trace(spans: tuple[ReadableSpan, ...], trace_id: str) -> dict[str, ReadableSpan]:
    wanted = int(trace_id, 16)
    return {s.name: s for s in spans if s.context is not None and s.context.trace_id == wanted}


BODY = {"inputs": [{"name": "features", "shape": [1, 30], "datatype": "FP32", "data": [0.5] * 30}]}


async def test_rest_requests_in_one_batch_each_find_it(
    traced: SimpleNamespace, exporter: InMemorySpanExporter
) -> None:
    front = InferenceFront(nothing_behind, traced.state, timeout_s=5, max_body_bytes=1 << 20)
    transport = httpx.ASGITransport(app=front)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    "/v2/models/tabular/infer", json=BODY, headers={"traceparent": traceparent(t)}
                )
                for t in (CALLER, OTHER)
            )
        )
    assert [a.status_code for a in answers] == [200, 200]
    spans = exporter.get_finished_spans()
    traces = {t: by_trace(spans, t) for t in (CALLER, OTHER)}
    assert all({"POST /v2/models/{name}/infer", "queue"} <= set(t) for t in traces.values())
    # one batch, a child of the oldest request (whichever queued first) and linked to both
    holders = [t for t, named in traces.items() if "batch" in named]
    assert len(holders) == 1, f"one batch span expected, found it in {holders}"
    mine = traces[holders[0]]
    request, queue, batch, run = (
        mine[n] for n in ("POST /v2/models/{name}/infer", "queue", "batch", "session.run")
    )
    assert request.parent is not None and request.parent.span_id == 0x00F067AA0BA902B7
    assert queue.parent is not None and queue.parent.span_id == request.context.span_id
    assert batch.parent is not None and batch.parent.span_id == request.context.span_id
    assert run.parent is not None and run.parent.span_id == batch.context.span_id
    linked = {link.context.trace_id for link in batch.links}
    assert linked == {int(CALLER, 16), int(OTHER, 16)}
    assert batch.attributes is not None and batch.attributes["ferry.batch.requests"] == 2
    assert queue.start_time is not None and queue.end_time == batch.start_time


@pytest.mark.slow  # starts a gRPC server on 127.0.0.1
async def test_grpc_metadata_traceparent_is_followed(
    traced: SimpleNamespace, exporter: InMemorySpanExporter
) -> None:
    servicer = InferenceServicer(traced.state, 5.0, tracing=traced.tracing)
    server = await start_grpc(servicer, GrpcSettings(port=0), "127.0.0.1")
    client = triton.InferenceServerClient(server.address)
    try:
        given = triton.InferInput("features", [2, 30], "FP32")
        given.set_data_from_numpy(np.ones((2, 30), dtype=np.float32))
        await client.infer("tabular", [given], headers={"traceparent": traceparent(CALLER)})
    finally:
        await client.close()
        await server.stop(0)
    mine = by_trace(exporter.get_finished_spans(), CALLER)
    rpc = mine["inference.GRPCInferenceService/ModelInfer"]
    assert {"queue", "batch", "session.run"} <= set(mine)
    assert mine["batch"].parent is not None and mine["batch"].parent.span_id == rpc.context.span_id


async def test_an_unsampled_caller_gets_no_spans(
    traced: SimpleNamespace, exporter: InMemorySpanExporter
) -> None:
    front = InferenceFront(nothing_behind, traced.state, timeout_s=5, max_body_bytes=1 << 20)
    transport = httpx.ASGITransport(app=front)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        unsampled = f"00-{CALLER}-00f067aa0ba902b7-00"
        answer = await client.post(
            "/v2/models/tabular/infer", json=BODY, headers={"traceparent": unsampled}
        )
    assert answer.status_code == 200
    assert exporter.get_finished_spans() == ()
