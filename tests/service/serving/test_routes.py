from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving.models import ModelSet
from service.serving.routes import build_app
from service.serving.settings import BatchSettings, RegistrySettings
from tests.support.onnx_models import linear_softmax, publish_linear, reference


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    publish_linear(registry)
    models = ModelSet(
        RegistrySettings(registry=registry.root),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
        BatchSettings(max_rows_per_request=100),
    )
    models.load_all()
    app = build_app()
    app.state.models = models
    with TestClient(app) as client:
        yield client


def infer_body(
    data: object, shape: list[int], datatype: str = "FP32", **extra: object
) -> dict[str, object]:
    return {
        "inputs": [{"name": "features", "shape": shape, "datatype": datatype, "data": data}],
        **extra,
    }


def test_health_and_metadata(client: TestClient) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2/models/tabular/ready").json() == {"name": "tabular", "ready": True}
    meta = client.get("/v2/models/tabular").json()
    assert meta["name"] == "tabular" and meta["versions"] == ["1"]
    assert meta["platform"] == "onnxruntime_onnx"
    assert meta["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 30]}]
    assert meta["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}]
    assert meta["parameters"]["providers"] == ["CPUExecutionProvider"]


@pytest.mark.parametrize("nested", [True, False])
def test_infer_flat_or_nested_with_id_echoed(client: TestClient, nested: bool) -> None:
    x = np.random.default_rng(0).normal(size=(3, 30))
    data = x.tolist() if nested else x.ravel().tolist()
    response = client.post(
        "/v2/models/tabular/infer", json=infer_body(data, [3, 30], "FP64", id="req-7")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (
        body["model_name"] == "tabular" and body["model_version"] == "1" and body["id"] == "req-7"
    )
    assert response.headers["X-Model-Version"] == "1"
    [out] = body["outputs"]
    assert out["name"] == "probabilities" and out["datatype"] == "FP32" and out["shape"] == [3, 2]
    _, w, b = linear_softmax(30, 2, 0)
    np.testing.assert_allclose(
        np.array(out["data"]).reshape(3, 2), reference(x, w, b), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (infer_body([1.0] * 29, [1, 29]), 400, "expected shape [-1, 30]"),
        (infer_body([1.0] * 30, [1, 31]), 400, "expected shape [-1, 30] (-1 = any), got [1, 31]"),
        (infer_body(["a"] * 30, [1, 30]), 400, "inputs[0].data[0]: expected a number, got 'a'"),
        (infer_body([1.5] * 30, [1, 30], "INT64"), 400, "non-integer values for datatype int64"),
        (infer_body([1.0] * 30, [1, 30], "FP8"), 400, "unknown datatype 'FP8'"),
        (infer_body([1.0] * 30, [1, 30], "BYTES"), 400, "cannot feed input 'features'"),
        (infer_body([], [0, 30]), 400, "empty batch"),
        (infer_body([1.0] * 30 * 101, [101, 30]), 400, "101 rows exceed the limit of 100"),
        (
            {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]},
            400,
            "unknown input 'x'",
        ),
        ({"inputs": []}, 400, "inputs: expected a non-empty list"),
        (infer_body([1.0] * 30, [1, 30], outputs=[{"name": "nope"}]), 400, "unknown output 'nope'"),
    ],
)
def test_bad_requests_get_a_400_naming_the_field(
    client: TestClient, body: object, status: int, message: str
) -> None:
    response = client.post("/v2/models/tabular/infer", json=body)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_int_data_is_cast_to_the_model_dtype(client: TestClient) -> None:
    response = client.post(
        "/v2/models/tabular/infer", json=infer_body(list(range(30)), [1, 30], "INT64")
    )
    assert response.status_code == 200, response.text
    [out] = response.json()["outputs"]
    _, w, b = linear_softmax(30, 2, 0)
    want = reference(np.arange(30, dtype=np.float32)[None], w, b)
    np.testing.assert_allclose(np.array(out["data"]).reshape(1, 2), want, rtol=1e-5, atol=1e-6)


def test_malformed_json_and_unknown_model(client: TestClient) -> None:
    response = client.post("/v2/models/tabular/infer", content=b'{"inputs": [')
    assert response.status_code == 400 and "malformed JSON" in response.json()["error"]
    response = client.post("/v2/models/nope/infer", json=infer_body([1.0] * 30, [1, 30]))
    assert response.status_code == 404 and "'nope'" in response.json()["error"]
    assert client.get("/v2/models/nope").status_code == 404
    assert client.get("/v2/models/nope/ready").status_code == 404


def test_nan_is_refused(client: TestClient) -> None:
    response = client.post(
        "/v2/models/tabular/infer",
        content=b'{"inputs":[{"name":"features","shape":[1,30],"datatype":"FP32","data":['
        + b"NaN," * 29
        + b"1]}]}",
    )
    assert response.status_code == 400
    assert "nan is not a finite number" in response.json()["error"]
