"""The real service process: tritonclient over gRPC and the openai SDK, unchanged, beside REST.

One server for the module, over a model of every kind; it starts with the default
providers (CUDA first) on this CPU-only machine, so its log also shows a quiet start.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import openai
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tokenizers import Tokenizer
from tritonclient.utils import InferenceServerException

from export.registry import Registry
from loadtests import bench_protocols
from loadtests.servers import free_port, running_service
from tests.support.image_models import image_reference, image_softmax
from tests.support.onnx_models import linear_softmax, reference
from tests.support.protocol_models import publish_every_kind
from tests.support.text_models import TOKENIZER_FILE, expected

pytestmark = pytest.mark.slow
TEXTS = ["the sun", "rain and news", "ünïcödé 🚀", "the model is fast " * 40]
OUTPUT = {
    "tabular": "probabilities",
    "digits": "probabilities",
    "text-embed": "embedding",
    "text-classify": "probabilities",
}


@dataclass(frozen=True)
class Service:
    url: str
    grpc: str
    log: Path
    registry: Registry


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("protocols")
    registry = publish_every_kind(Registry(root / "registry"))
    port, log = free_port(), root / "service.log"
    env = {
        "FERRY_GRPC_PORT": str(port),
        "FERRY_MAX_ROWS_PER_REQUEST": "64",
        "FERRY_MAX_QUEUE_ROWS": "48",  # 50 rows fit a request, not the queue: a 429
        "FERRY_GRPC_MAX_MESSAGE_BYTES": str(256 << 10),
        "FERRY_PROVIDERS": "CUDAExecutionProvider,CPUExecutionProvider",  # the default
    }
    with running_service(registry.root, log, **env) as url:
        yield Service(url, f"127.0.0.1:{port}", log, registry)


def inputs(model: str, rows: int, seed: int = 0) -> tuple[str, np.ndarray, str]:
    rng = np.random.default_rng(seed)
    if model == "tabular":
        return "features", rng.normal(size=(rows, 30)).astype(np.float32), "FP32"
    if model == "digits":
        return "images", rng.uniform(0, 16, size=(rows, 1, 8, 8)).astype(np.float32), "FP32"
    return "text", np.array([t.encode() for t in TEXTS[:rows]], dtype=object), "BYTES"


def want(service: Service, model: str, x: np.ndarray) -> np.ndarray:
    """The answer from an independent reference: numpy over the published weights."""
    if model == "tabular":
        _, w, b = linear_softmax(30, 2, 0)
        return reference(x, w, b)
    if model == "digits":
        _, w, b = image_softmax(0)
        return image_reference(x, w, b)
    texts = [t.decode() for t in x]
    seed = 1 if model == "text-classify" else 0
    return expected(texts, service.registry.get(f"{model}@production"), seed)


def grpc_infer(client: grpcclient.InferenceServerClient, model: str, x: np.ndarray) -> np.ndarray:
    name, array, datatype = x
    given = grpcclient.InferInput(name, list(array.shape), datatype)
    given.set_data_from_numpy(array)
    out: np.ndarray = client.infer(model, [given]).as_numpy(OUTPUT[model])
    return out


def test_grpc_health_metadata_and_config(service: Service) -> None:
    client = grpcclient.InferenceServerClient(service.grpc)
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata(as_json=True)["name"] == "ferry"
    for model in OUTPUT:
        assert client.is_model_ready(model) and client.is_model_ready(model, "1")
        meta = client.get_model_metadata(model, as_json=True)
        rest = httpx.get(f"{service.url}/v2/models/{model}").json()
        assert [i["name"] for i in meta["inputs"]] == [i["name"] for i in rest["inputs"]]
        assert [int(d) for d in meta["inputs"][0]["shape"]] == rest["inputs"][0]["shape"]
        config = client.get_model_config(model, as_json=True)["config"]
        rest_config = httpx.get(f"{service.url}/v2/models/{model}/config").json()
        assert [int(d) for d in config["input"][0]["dims"]] == rest_config["input"][0]["dims"]
        assert config["max_batch_size"] == rest_config["max_batch_size"] == 64


def test_grpc_and_rest_binary_answers_are_bit_identical(service: Service) -> None:
    grpc_client = grpcclient.InferenceServerClient(service.grpc)
    rest_client = httpclient.InferenceServerClient(urlparse(service.url).netloc)
    for model in OUTPUT:
        x = inputs(model, 4, seed=len(model))
        over_grpc = grpc_infer(grpc_client, model, x)
        name, array, datatype = x
        given = httpclient.InferInput(name, list(array.shape), datatype)
        given.set_data_from_numpy(array, binary_data=True)
        wanted = [httpclient.InferRequestedOutput(OUTPUT[model], binary_data=True)]
        over_rest = rest_client.infer(model, [given], outputs=wanted).as_numpy(OUTPUT[model])
        assert over_grpc.dtype == over_rest.dtype and over_grpc.shape == over_rest.shape
        assert over_grpc.tobytes() == over_rest.tobytes(), model
        np.testing.assert_allclose(over_grpc, want(service, model, array), atol=1e-6)


def status(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(InferenceServerException) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value.status())


def test_grpc_errors_of_each_kind(service: Service) -> None:
    client = grpcclient.InferenceServerClient(service.grpc)

    def rows(n: int, width: int = 30) -> list[grpcclient.InferInput]:
        given = grpcclient.InferInput("features", [n, width], "FP32")
        given.set_data_from_numpy(np.ones((n, width), dtype=np.float32))
        return [given]

    assert status(client.infer, "tabular", rows(2, 3)) == "StatusCode.INVALID_ARGUMENT"
    assert status(client.infer, "nope", rows(2)) == "StatusCode.NOT_FOUND"
    assert status(client.infer, "tabular", rows(50)) == "StatusCode.RESOURCE_EXHAUSTED"
    # over FERRY_GRPC_MAX_MESSAGE_BYTES (256 KiB): refused by gRPC itself
    assert status(client.infer, "tabular", rows(4096)) == "StatusCode.RESOURCE_EXHAUSTED"
    # 64 long texts take the server milliseconds to tokenise and run; the deadline is 1 ms
    long_texts = grpcclient.InferInput("text", [64], "BYTES")
    long_texts.set_data_from_numpy(np.array([b"the model is fast " * 100] * 64, dtype=object))
    late = status(client.infer, "text-embed", [long_texts], client_timeout=0.001)
    assert late == "StatusCode.DEADLINE_EXCEEDED"
    assert client.is_server_ready()  # and the server is still up


def test_openai_sdk_base64_and_float_match_v2_infer(service: Service) -> None:
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key="unused")
    packed = client.embeddings.create(model="text-embed", input=TEXTS)
    floats = client.embeddings.create(model="text-embed", input=TEXTS, encoding_format="float")
    v2 = httpx.post(
        f"{service.url}/v2/models/text-embed/infer",
        json={
            "inputs": [{"name": "text", "shape": [len(TEXTS)], "datatype": "BYTES", "data": TEXTS}]
        },
    ).json()
    over_v2 = np.array(v2["outputs"][0]["data"], dtype=np.float32).reshape(len(TEXTS), -1)
    for answer in (packed, floats):
        got = np.array([d.embedding for d in answer.data], dtype=np.float32)
        assert got.tobytes() == over_v2.tobytes()
    tokenizer = Tokenizer.from_file(
        str(service.registry.get("text-embed@production").path / TOKENIZER_FILE)
    )
    tokenizer.no_padding()
    tokenizer.enable_truncation(128)
    assert packed.usage.prompt_tokens == sum(len(tokenizer.encode(t).ids) for t in TEXTS)
    assert [m.id for m in client.models.list().data] == ["text-embed"]


def test_openai_sdk_errors(service: Service) -> None:
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as bad:
        client.embeddings.create(model="text-embed", input="a", dimensions=3)
    assert bad.value.body["param"] == "dimensions"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as empty:
        client.embeddings.create(model="text-embed", input=[])
    assert empty.value.body["param"] == "input"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as missing:
        client.embeddings.create(model="nope", input="a")
    assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]


def test_metrics_by_model_and_version(service: Service) -> None:
    client = grpcclient.InferenceServerClient(service.grpc)
    grpc_infer(client, "digits", inputs("digits", 32))
    grpc_infer(client, "text-embed", inputs("text-embed", 2))
    # histograms are tallied in the process; a scrape writes them out first
    text = httpx.get(f"{service.url}/metrics").text
    for name in (
        "ferry_queue_wait_seconds_bucket",
        "ferry_batch_compute_seconds_bucket",
        "ferry_request_end_to_end_seconds_bucket",
        "ferry_batch_rows_bucket",
    ):
        assert re.search(rf'^{name}{{le="[^"]+",model="digits",version="1"}}', text, re.M), name
    assert re.search(r'^ferry_batch_tokens_count{model="text-embed",version="1"} [1-9]', text, re.M)
    assert re.search(r'^ferry_queue_rows{model="digits",version="1"} 0', text, re.M)
    assert re.search(r'^ferry_in_flight_requests{model="digits",version="1"} 0', text, re.M)


def test_a_quiet_start_on_a_cpu_only_machine(service: Service) -> None:
    """Asked for CUDA first (the default) without a GPU: one line says so, ONNX Runtime
    prints no error."""
    log = service.log.read_text()
    assert "[E:onnxruntime" not in log and "provider_bridge_ort" not in log, log[-3000:]
    assert log.count("no CUDA device") == 1
    assert "requested ['CUDAExecutionProvider'" not in log  # no per-model fallback warning


def test_the_protocols_bench_measures_this_service(service: Service) -> None:
    """`ferry bench protocols`' two latency figures, tiny, against the real service: the
    answers of both protocols compared byte for byte, and every request of the load
    counted by the server's end-to-end histogram, which the bench reads like Prometheus."""
    name, x = bench_protocols.batch(service.url, "digits", 32)
    p50 = asyncio.run(
        bench_protocols.protocol_p50(service.url, service.grpc, "digits", name, x, 5, 2)
    )
    assert p50["bit_identical"] and p50["requests_each"] == 10
    assert p50["rest_binary_p50_ms"] > 0 and p50["grpc_p50_ms"] > 0
    check = bench_protocols.quantile_check(service.url, "digits", clients=2, seconds=1.0)
    assert check["requests"] > 0 and check["errors"] == 0
    assert check["server_requests"] == check["requests"]
    assert check["client_p99_ms"] > 0 and check["histogram_p99_ms"] > 0
