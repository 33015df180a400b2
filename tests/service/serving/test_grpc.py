"""The gRPC server in-process, driven by tritonclient's asyncio client and the raw stub."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import numpy as np
import pytest
import tritonclient.grpc.aio as triton
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

from export.registry import Registry
from service.serving.grpc import GrpcServer, InferenceServicer, start_grpc
from service.serving.models import ModelSet
from service.serving.settings import GrpcSettings
from tests.support.image_models import image_reference, image_softmax
from tests.support.onnx_models import linear_softmax, reference
from tests.support.protocol_models import cpu_model_set, publish_every_kind
from tests.support.text_models import LABELS, expected

pytestmark = pytest.mark.slow  # each test starts a gRPC server on 127.0.0.1
TEXTS = ["the sun", "rain and news", "ünïcödé 🚀"]


@dataclass
class Grpc:
    models: ModelSet
    state: SimpleNamespace
    server: GrpcServer
    client: Any  # tritonclient.grpc.aio.InferenceServerClient


async def serve(models: ModelSet, timeout_s: float = 5.0, max_bytes: int = 1 << 20) -> Grpc:
    state = SimpleNamespace(models=models)
    settings = GrpcSettings(port=0, max_message_bytes=max_bytes)
    server = await start_grpc(InferenceServicer(state, timeout_s), settings, "127.0.0.1")
    return Grpc(models, state, server, triton.InferenceServerClient(server.address))


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return publish_every_kind(Registry(tmp_path / "registry"))


@pytest.fixture
async def rpc(registry: Registry) -> AsyncIterator[Grpc]:
    served = await serve(cpu_model_set(registry, max_rows_per_request=64, max_queue_rows=48))
    yield served
    await served.client.close()
    await served.server.stop(0)
    await served.models.close()


def tensor(name: str, array: np.ndarray, datatype: str = "FP32") -> triton.InferInput:
    given = triton.InferInput(name, list(array.shape), datatype)
    given.set_data_from_numpy(array)
    return given


def texts(values: list[str]) -> triton.InferInput:
    return tensor("text", np.array([t.encode() for t in values], dtype=object), "BYTES")


async def status_of(call: Any) -> str:
    with pytest.raises(InferenceServerException) as caught:
        await call
    return str(caught.value.status())


async def test_health_metadata_and_config(rpc: Grpc) -> None:
    client = rpc.client
    assert await client.is_server_live() and await client.is_server_ready()
    server = await client.get_server_metadata(as_json=True)
    assert server["name"] == "ferry" and "binary_tensor_data" in server["extensions"]
    digits = await client.get_model_metadata("digits", as_json=True)
    assert digits["inputs"] == [
        {"name": "images", "datatype": "FP32", "shape": ["-1", "1", "8", "8"]}
    ]
    assert digits["platform"] == "onnxruntime_onnx" and digits["versions"] == ["1"]
    embed = await client.get_model_metadata("text-embed", as_json=True)
    assert embed["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": ["-1"]}]
    config = (await client.get_model_config("digits", as_json=True))["config"]
    assert config["input"][0]["dims"] == ["1", "8", "8"] and config["max_batch_size"] == 64
    text_config = (await client.get_model_config("text-classify", as_json=True))["config"]
    assert text_config["input"][0]["data_type"] == "TYPE_STRING"
    assert await client.is_model_ready("tabular") and await client.is_model_ready("tabular", "1")


async def test_every_kind_of_model_answers_in_raw_output_contents(rpc: Grpc) -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(5, 30)).astype(np.float32)
    _, w, b = linear_softmax(30, 2, 0)
    got = await rpc.client.infer("tabular", [tensor("features", rows)], request_id="r-1")
    np.testing.assert_allclose(got.as_numpy("probabilities"), reference(rows, w, b), rtol=1e-5)
    assert got.get_response().id == "r-1" and got.get_response().model_version == "1"

    images = rng.uniform(0, 16, size=(4, 1, 8, 8)).astype(np.float32)
    _, w, b = image_softmax(0)
    got = await rpc.client.infer("digits", [tensor("images", images)])
    np.testing.assert_allclose(
        got.as_numpy("probabilities"), image_reference(images, w, b), rtol=1e-5
    )

    artifacts = rpc.models.registry
    for model, seed in (("text-embed", 0), ("text-classify", 1)):
        got = await rpc.client.infer(model, [texts(TEXTS)])
        output = "embedding" if model == "text-embed" else "probabilities"
        want = expected(TEXTS, artifacts.get(f"{model}@production"), seed)
        np.testing.assert_allclose(got.as_numpy(output), want, atol=1e-6)
    assert len(LABELS) == got.as_numpy("probabilities").shape[1]


async def test_typed_contents_give_the_same_bytes_as_raw_contents(rpc: Grpc) -> None:
    rows = np.random.default_rng(4).normal(size=(3, 30)).astype(np.float32)
    raw = await rpc.client.infer("tabular", [tensor("features", rows)])
    typed = service_pb2.ModelInferRequest(model_name="tabular")
    typed.inputs.add(name="features", datatype="FP32", shape=[3, 30]).contents.fp32_contents.extend(
        rows.ravel().tolist()
    )
    words = service_pb2.ModelInferRequest(model_name="text-embed")
    words.inputs.add(name="text", datatype="BYTES", shape=[3]).contents.bytes_contents.extend(
        [t.encode() for t in TEXTS]
    )
    async with grpc.aio.insecure_channel(rpc.server.address) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        answer = await stub.ModelInfer(typed)
        embedded = await stub.ModelInfer(words)
    assert answer.raw_output_contents[0] == raw.as_numpy("probabilities").tobytes()
    via_raw = await rpc.client.infer("text-embed", [texts(TEXTS)])
    assert embedded.raw_output_contents[0] == via_raw.as_numpy("embedding").tobytes()


async def test_errors_keep_their_status_as_grpc_codes(rpc: Grpc) -> None:
    client = rpc.client
    bad_shape = tensor("features", np.ones((2, 3), dtype=np.float32))
    assert await status_of(client.infer("tabular", [bad_shape])) == "StatusCode.INVALID_ARGUMENT"
    rows = tensor("features", np.ones((2, 30), dtype=np.float32))
    assert await status_of(client.infer("nope", [rows])) == "StatusCode.NOT_FOUND"
    assert await status_of(client.infer("tabular", [rows], "9")) == "StatusCode.NOT_FOUND"
    assert await status_of(client.get_model_metadata("nope")) == "StatusCode.NOT_FOUND"
    # 50 rows fit a request (64) but not the queue (48): a 429, RESOURCE_EXHAUSTED
    many = tensor("features", np.ones((50, 30), dtype=np.float32))
    assert await status_of(client.infer("tabular", [many])) == "StatusCode.RESOURCE_EXHAUSTED"
    rpc.state.models = None  # still loading
    assert not await client.is_server_ready()
    assert await status_of(client.infer("tabular", [rows])) == "StatusCode.UNAVAILABLE"


async def test_a_429_names_retry_after_in_the_trailing_metadata(rpc: Grpc) -> None:
    request = service_pb2.ModelInferRequest(model_name="tabular")
    request.inputs.add(name="features", datatype="FP32", shape=[50, 30])
    request.raw_input_contents.append(np.ones((50, 30), dtype="<f4").tobytes())
    async with grpc.aio.insecure_channel(rpc.server.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await service_pb2_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "48" in str(caught.value.details())
    assert ("retry-after", "1") in tuple(caught.value.trailing_metadata() or ())


async def test_a_message_over_the_size_limit_is_refused(registry: Registry) -> None:
    small = await serve(cpu_model_set(registry), max_bytes=4096)
    try:
        rows = tensor("features", np.ones((64, 30), dtype=np.float32))  # 7.5 KiB
        status = await status_of(small.client.infer("tabular", [rows]))
        assert status == "StatusCode.RESOURCE_EXHAUSTED"
    finally:
        await small.client.close()
        await small.server.stop(0)
        await small.models.close()


class Gate:
    """Fault injection: the model's run waits until the test opens the gate."""

    def __init__(self, run: Any) -> None:
        self.run, self.calls = run, 0
        self.open, self.entered = threading.Event(), threading.Event()

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.calls += 1
        self.entered.set()
        assert self.open.wait(10), "the test never opened the gate"
        return self.run(inputs)  # type: ignore[no-any-return]


async def test_a_client_deadline_takes_its_request_out_of_the_queue(registry: Registry) -> None:
    served = await serve(cpu_model_set(registry, inline_below_ms=0))
    batcher = served.models.get("tabular").batcher
    gate = batcher.run = Gate(batcher.run)
    rows = tensor("features", np.ones((1, 30), dtype=np.float32))
    try:
        first = asyncio.ensure_future(served.client.infer("tabular", [rows]))
        assert await asyncio.to_thread(gate.entered.wait, 10)
        late = served.client.infer("tabular", [rows], client_timeout=0.3)
        assert await status_of(late) == "StatusCode.DEADLINE_EXCEEDED"
        # the server cancels the call at its deadline too (the client may hear first)
        for _ in range(200):
            if batcher.in_flight == 1:
                break
            await asyncio.sleep(0.01)
        assert batcher.in_flight == 1, "the late request is still awaited in the queue"
        gate.open.set()
        await first
        await batcher.close()  # runs whatever is still queued
        assert gate.calls == 1 and batcher.in_flight == 0
    finally:
        gate.open.set()
        await served.client.close()
        await served.server.stop(0)
        await served.models.close()


async def test_the_server_timeout_bounds_a_call_without_a_deadline(registry: Registry) -> None:
    served = await serve(cpu_model_set(registry, inline_below_ms=0), timeout_s=0.2)
    batcher = served.models.get("tabular").batcher
    gate = batcher.run = Gate(batcher.run)
    try:
        rows = tensor("features", np.ones((1, 30), dtype=np.float32))
        with pytest.raises(InferenceServerException, match=r"not answered within 0\.2 s") as caught:
            await served.client.infer("tabular", [rows])
        assert caught.value.status() == "StatusCode.DEADLINE_EXCEEDED"
    finally:
        gate.open.set()
        await served.client.close()
        await served.server.stop(0)
        await served.models.close()
