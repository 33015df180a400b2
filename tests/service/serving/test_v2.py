"""Open Inference Protocol V2 beyond the basics: versions, config, datatypes, binary tensors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving.models import ModelSet
from service.serving.routes import build_app
from service.serving.settings import RegistrySettings
from tests.support.onnx_models import linear_softmax, publish_linear, reference

HEADER = "Inference-Header-Content-Length"


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    publish_linear(registry, "tabular", seed=0)  # version 1
    publish_linear(registry, "tabular", seed=1)  # version 2 (production)
    publish_linear(registry, "small", n_features=4, seed=2)
    models = ModelSet(
        RegistrySettings(registry=registry.root, versions="latest:2"),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
    )
    models.load_all()
    app = build_app()
    app.state.models = models
    with TestClient(app) as client:
        yield client


def tensor(x: np.ndarray, datatype: str = "FP32", **params: object) -> dict[str, object]:
    body: dict[str, object] = {"name": "features", "shape": list(x.shape), "datatype": datatype}
    if params:
        body["parameters"] = params
    else:
        body["data"] = x.ravel().tolist()
    return body


def test_server_metadata_and_config(client: TestClient) -> None:
    server = client.get("/v2").json()
    assert server["name"] == "ferry" and "binary_tensor_data" in server["extensions"]
    config = client.get("/v2/models/tabular/config").json()
    assert config["platform"] == "onnxruntime_onnx" and config["max_batch_size"] == 64
    assert config["input"] == [{"name": "features", "data_type": "TYPE_FP32", "dims": [30]}]
    assert config["output"] == [{"name": "probabilities", "data_type": "TYPE_FP32", "dims": [2]}]
    assert "dynamic_batching" in config


def test_versions_are_addressable(client: TestClient) -> None:
    x = np.random.default_rng(0).normal(size=(2, 30)).astype(np.float32)
    assert client.get("/v2/models/tabular").json()["versions"] == ["1", "2"]
    for version, seed in [("1", 0), ("2", 1)]:
        assert client.get(f"/v2/models/tabular/versions/{version}/ready").json()["ready"]
        response = client.post(
            f"/v2/models/tabular/versions/{version}/infer", json={"inputs": [tensor(x)]}
        )
        assert response.json()["model_version"] == version
        _, w, b = linear_softmax(30, 2, seed)
        got = np.array(response.json()["outputs"][0]["data"]).reshape(2, 2)
        np.testing.assert_allclose(got, reference(x, w, b), rtol=1e-5, atol=1e-6)
    assert (
        client.post("/v2/models/tabular/infer", json={"inputs": [tensor(x)]}).json()[
            "model_version"
        ]
        == "2"
    )
    missing = client.post("/v2/models/tabular/versions/9/infer", json={"inputs": [tensor(x)]})
    assert missing.status_code == 404 and "version '9'" in missing.json()["error"]
    assert client.get("/v2/models/tabular/versions/9").status_code == 404


@pytest.mark.parametrize(
    "datatype",
    [
        "UINT8",
        "UINT16",
        "UINT32",
        "UINT64",
        "INT8",
        "INT16",
        "INT32",
        "INT64",
        "FP16",
        "FP32",
        "FP64",
    ],
)
def test_every_numeric_datatype_is_cast_to_what_the_model_takes(
    client: TestClient, datatype: str
) -> None:
    x = np.arange(8).reshape(2, 4) % 5
    response = client.post("/v2/models/small/infer", json={"inputs": [tensor(x, datatype)]})
    assert response.status_code == 200, response.text
    _, w, b = linear_softmax(4, 2, 2)
    got = np.array(response.json()["outputs"][0]["data"]).reshape(2, 2)
    np.testing.assert_allclose(got, reference(x, w, b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("data", "datatype", "message"),
    [
        ([300, 0, 0, 0], "UINT8", "outside the range of uint8"),
        ([-1, 0, 0, 0], "UINT32", "outside the range of uint32"),
        ([0.5, 0, 0, 0], "INT32", "non-integer values for datatype int32"),
        ([True, False, True, False], "BOOL", "BOOL cannot feed input 'features'"),
        ([1e40, 0, 0, 0], "FP64", "overflows float32"),
    ],
)
def test_casts_that_would_lose_meaning_are_refused(
    client: TestClient, data: list[object], datatype: str, message: str
) -> None:
    body = {"inputs": [{"name": "features", "shape": [1, 4], "datatype": datatype, "data": data}]}
    response = client.post("/v2/models/small/infer", json=body)
    assert response.status_code == 400 and message in response.json()["error"]


def binary_request(
    x: np.ndarray, datatype: str = "FP32", **request: object
) -> tuple[bytes, dict[str, str]]:
    raw = x.tobytes()
    header = json.dumps(
        {"inputs": [tensor(x, datatype, binary_data_size=len(raw))], **request}
    ).encode()
    return header + raw, {HEADER: str(len(header)), "Content-Type": "application/octet-stream"}


def split(response_body: bytes, header_length: str) -> tuple[dict[str, object], bytes]:
    n = int(header_length)
    return json.loads(response_body[:n]), response_body[n:]


def test_binary_tensors_in_and_out(client: TestClient) -> None:
    x = np.random.default_rng(3).normal(size=(5, 30)).astype(np.float32)
    content, headers = binary_request(x, id="b1", parameters={"binary_data_output": True})
    response = client.post("/v2/models/tabular/infer", content=content, headers=headers)
    assert response.status_code == 200, response.text
    body, raw = split(response.content, response.headers[HEADER])
    assert body["id"] == "b1"
    [out] = body["outputs"]  # type: ignore[misc]
    assert out["parameters"] == {"binary_data_size": 40} and "data" not in out
    _, w, b = linear_softmax(30, 2, 1)
    np.testing.assert_allclose(
        np.frombuffer(raw, "<f4").reshape(5, 2), reference(x, w, b), rtol=1e-5, atol=1e-6
    )


def test_binary_input_json_output_and_per_output_choice(client: TestClient) -> None:
    x = np.random.default_rng(4).normal(size=(2, 30))
    content, headers = binary_request(
        x, "FP64", outputs=[{"name": "probabilities", "parameters": {"binary_data": False}}]
    )
    response = client.post("/v2/models/tabular/infer", content=content, headers=headers)
    assert response.status_code == 200 and HEADER not in response.headers
    [out] = response.json()["outputs"]
    assert out["shape"] == [2, 2] and out["datatype"] == "FP32"
    _, w, b = linear_softmax(30, 2, 1)
    np.testing.assert_allclose(
        np.array(out["data"]).reshape(2, 2), reference(x, w, b), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c, h: (c[:-4], h), "binary_data_size: 120 bytes asked, 116 left"),
        (lambda c, h: (c + b"xx", h), "2 trailing bytes not claimed"),
        (lambda c, h: (c, {**h, HEADER: "x"}), "expected an integer, got 'x'"),
        (lambda c, h: (c, {**h, HEADER: "99999"}), "outside the"),
    ],
)
def test_malformed_binary_requests(client: TestClient, mutate: object, message: str) -> None:
    x = np.ones((1, 30), dtype=np.float32)
    content, headers = mutate(*binary_request(x))  # type: ignore[operator]
    response = client.post("/v2/models/tabular/infer", content=content, headers=headers)
    assert response.status_code == 400 and message in response.json()["error"]


def test_binary_size_must_match_the_shape(client: TestClient) -> None:
    x = np.ones((1, 30), dtype=np.float32)
    raw = x.tobytes()
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "features",
                    "shape": [2, 30],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ]
        }
    ).encode()
    response = client.post(
        "/v2/models/tabular/infer", content=header + raw, headers={HEADER: str(len(header))}
    )
    assert response.status_code == 400
    assert "120 bytes, but shape [2, 30] of float32 needs 240" in response.json()["error"]
