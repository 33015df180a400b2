"""The real tritonclient HTTP client against the running service, unchanged."""

from __future__ import annotations

from urllib.parse import urlparse

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as httpclient

from export.registry import Artifact, Registry

pytestmark = pytest.mark.slow
MODELS = [("tabular", (7, 30)), ("digits", (7, 1, 8, 8))]


@pytest.fixture
def client(service_url: str) -> httpclient.InferenceServerClient:
    return httpclient.InferenceServerClient(url=urlparse(service_url).netloc)


def direct(artifact: Artifact, name: str, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])
    out: np.ndarray = session.run(None, {name: x})[0]
    return out


def test_health_and_metadata(client: httpclient.InferenceServerClient) -> None:
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["name"] == "ferry"
    for model, shape in MODELS:
        assert client.is_model_ready(model)
        meta = client.get_model_metadata(model)
        assert meta["platform"] == "onnxruntime_onnx"
        assert meta["inputs"][0]["shape"] == [-1, *shape[1:]]
        config = client.get_model_config(model)
        assert config["input"][0]["dims"] == list(shape[1:]) and config["max_batch_size"] > 0
    version = client.get_model_metadata("tabular")["versions"][0]
    assert client.is_model_ready("tabular", model_version=version)


@pytest.mark.parametrize("binary", [True, False])
def test_infer_with_default_binary_tensors(
    client: httpclient.InferenceServerClient,
    trained_registry: tuple[Registry, Artifact],
    binary: bool,
) -> None:
    registry, _ = trained_registry
    for model, shape in MODELS:
        x = np.random.default_rng(len(shape)).uniform(0, 16, size=shape).astype(np.float32)
        name = registry.get(f"{model}@production").manifest.signature.inputs[0].name
        inp = httpclient.InferInput(name, list(x.shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        outputs = (
            None
            if binary
            else [httpclient.InferRequestedOutput("probabilities", binary_data=False)]
        )
        result = client.infer(model, [inp], outputs=outputs, request_id="r1")
        got = result.as_numpy("probabilities")
        artifact = registry.get(f"{model}@production")
        np.testing.assert_allclose(got, direct(artifact, name, x), atol=1e-6)
        response = result.get_response()
        assert response["model_version"] == artifact.manifest.version and response["id"] == "r1"


def test_errors_reach_the_client(client: httpclient.InferenceServerClient) -> None:
    from tritonclient.utils import InferenceServerException

    inp = httpclient.InferInput("features", [1, 3], "FP32")
    inp.set_data_from_numpy(np.ones((1, 3), dtype=np.float32))
    with pytest.raises(InferenceServerException, match=r"expected shape \[-1, 30\]"):
        client.infer("tabular", [inp])
    with pytest.raises(InferenceServerException, match="not served"):
        client.infer("nope", [inp])
