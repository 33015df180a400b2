"""The real service process on a loopback port, real HTTP clients, answers checked against ORT."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import onnxruntime as ort
import psutil
import pytest
from sklearn.datasets import load_breast_cancer

from export.registry import Artifact, Registry
from loadtests.servers import FERRY, running_server, running_service
from tests.support.onnx_models import linear_softmax, publish_linear, reference
from tests.support.providers import really_runs

pytestmark = pytest.mark.slow
ROWS = load_breast_cancer().data.astype(np.float32)


def direct(artifact: Artifact, rows: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])
    out: np.ndarray = session.run(["probabilities"], {"features": rows})[0]
    return out


async def _post_all(
    url: str, bodies: list[tuple[str, Any]], concurrency: int
) -> list[tuple[int, Any]]:
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:

        async def one(path: str, body: Any) -> tuple[int, Any]:
            async with limit:
                kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
                async with session.post(
                    url + path, headers={"Content-Type": "application/json"}, **kwargs
                ) as r:
                    return r.status, await r.json()

        return await asyncio.gather(*(one(p, b) for p, b in bodies))


def test_concurrent_requests_match_onnxruntime_and_bad_ones_fail_alone(
    service_url: str, trained_registry: tuple[Registry, Artifact]
) -> None:
    _, artifact = trained_registry
    good: list[tuple[str, Any, np.ndarray]] = []
    for i in range(240):
        rows = ROWS[(i * 7) % 500 : (i * 7) % 500 + 1 + i % 3]
        if i % 2:
            good.append(
                ("/predict", {"model": "tabular", "inputs": {"features": rows.tolist()}}, rows)
            )
        else:
            body = {
                "id": str(i),
                "inputs": [
                    {
                        "name": "features",
                        "shape": list(rows.shape),
                        "datatype": "FP32",
                        "data": rows.ravel().tolist(),
                    }
                ],
            }
            good.append(("/v2/models/tabular/infer", body, rows))
    bad = [("/predict", {"model": "tabular", "inputs": {"features": [[1.0] * 29]}})] * 20
    bodies = [(p, b) for p, b, _ in good] + bad
    order = np.random.default_rng(0).permutation(len(bodies))
    answers = asyncio.run(_post_all(service_url, [bodies[i] for i in order], concurrency=48))
    by_index = {int(i): a for i, a in zip(order, answers, strict=True)}
    for i, (path, _, rows) in enumerate(good):
        status, body = by_index[i]
        assert status == 200, body
        assert body["model_version"] == artifact.manifest.version
        got = body["outputs"]["probabilities"] if path == "/predict" else body["outputs"][0]["data"]
        np.testing.assert_allclose(
            np.asarray(got).reshape(-1, 2), direct(artifact, rows), atol=1e-6
        )
    for i in range(len(good), len(bodies)):
        status, body = by_index[i]
        assert status == 400 and "expected shape [-1, 30]" in body["error"]


NAN_ROW = b'{"model":"tabular","inputs":{"features":[[' + b"1.0," * 29 + b"NaN]]}}"
CASES: list[tuple[str, Any, int, str]] = [
    ("/predict", {"model": "tabular", "inputs": {"features": [[1.0] * 31]}}, 400, "got [1, 31]"),
    (
        "/predict",
        {"model": "tabular", "inputs": {"features": [["a"] * 30]}},
        400,
        "[0][0]: expected a number, got 'a'",
    ),
    ("/predict", NAN_ROW, 400, "inputs.features[0][29]: nan is not a finite number"),
    (
        "/predict",
        {"model": "tabular", "inputs": {"features": [[1e39] * 30]}},
        400,
        "overflows float32",
    ),
    ("/predict", {"model": "tabular", "inputs": {"features": []}}, 400, "expected shape"),
    (
        "/predict",
        {"model": "tabular", "inputs": {"features": [[1.0] * 30] * 65}},
        400,
        "65 rows exceed the limit of 64",
    ),
    (
        "/predict",
        {"model": "nope", "inputs": {"features": [[1.0] * 30]}},
        404,
        "model 'nope' is not served here",
    ),
    ("/predict", b'{"model": "tabular", "inputs": ', 400, "request body: malformed JSON"),
    ("/v2/models/tabular/infer", b'{"inputs": [', 400, "malformed JSON"),
    ("/v2/models/nope/infer", {"inputs": []}, 404, "model 'nope' is not served here"),
]


@pytest.mark.parametrize(("path", "body", "status", "message"), CASES)
def test_bad_input_gets_a_clear_4xx_and_the_server_stays_up(
    service_url: str, path: str, body: Any, status: int, message: str
) -> None:
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = httpx.post(
        service_url + path, headers={"Content-Type": "application/json"}, **kwargs
    )
    assert response.status_code == status, response.text
    assert message in response.text
    assert httpx.get(service_url + "/readyz").status_code == 200


def test_metadata_health_and_metrics(
    service_url: str, trained_registry: tuple[Registry, Artifact]
) -> None:
    _, artifact = trained_registry
    version = artifact.manifest.version
    assert httpx.get(service_url + "/v2/health/live").json() == {"live": True}
    assert httpx.get(service_url + "/v2/health/ready").json() == {"ready": True}
    meta = httpx.get(service_url + "/v2/models/tabular").json()
    assert meta["versions"] == [version] and meta["inputs"][0]["shape"] == [-1, 30]
    # the default providers (CUDA, then the CPU) run on what ONNX Runtime finds here
    runs = really_runs(artifact.model_path)
    assert meta["parameters"]["providers"] == runs
    status = httpx.get(service_url + "/status").json()
    assert status["models"]["tabular"]["version"] == version
    predicted = httpx.post(
        service_url + "/predict",
        json={"model": "tabular", "inputs": {"features": ROWS[:1].tolist()}},
    )
    assert predicted.status_code == 200, predicted.text
    got = predicted.json()["outputs"]["probabilities"]
    np.testing.assert_allclose(got, direct(artifact, ROWS[:1]), atol=1e-6)
    metrics = httpx.get(service_url + "/metrics").text
    assert "ferry_batch_rows" in metrics
    # inference is answered by the front, outside BentoML's request middleware
    assert 'ferry_request_seconds_count{code="200",endpoint="/predict"}' in metrics
    bento = [line for line in metrics.splitlines() if line.startswith("bentoml_service_request_")]
    assert bento and all(
        float(line.rsplit(" ", 1)[1]) == 0 for line in bento if 'endpoint="/predict"' in line
    )
    assert (
        f'ferry_model_info{{model="tabular",providers="{",".join(runs)}",version="{version}"}}'
        in metrics
    )


def test_ferry_predict_client(
    service_url: str, trained_registry: tuple[Registry, Artifact], tmp_path: Path
) -> None:
    rows = tmp_path / "rows.csv"
    names = load_breast_cancer().feature_names
    rows.write_text(
        ",".join(names) + "\n" + "\n".join(",".join(map(str, r)) for r in ROWS[:3]) + "\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "ferry", "predict", "tabular", str(rows), "--url", service_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    want = direct(trained_registry[1], ROWS[:3])
    assert answer["model_name"] == "tabular"
    np.testing.assert_allclose(answer["outputs"]["probabilities"], want, atol=1e-6)
    labels = trained_registry[1].manifest.labels
    assert answer["predictions"] == [labels[i] for i in want.argmax(axis=1)]


# --- the settings that change how requests are answered: one server each ---------------

X = np.random.default_rng(5).normal(size=(3, 30)).astype(np.float32)
BENTOML_PATHS = {
    "lean-front-off": {"FERRY_LEAN_FRONT": "false"},
    "traced": {"FERRY_TRACE_INFERENCE": "true"},
}
#: Who answers inference: BentoML's stack with the front off; the front when traced
#: (it opens each request's span itself, under the caller's `traceparent`).
FRONT_ANSWERS = {"lean-front-off": False, "traced": True}


def counted(metrics: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(name + "{") and all(w in line for w in wanted)
    )


@pytest.mark.parametrize("setting", list(BENTOML_PATHS))
def test_the_bentoml_stack_and_traced_inference_answer_the_same(
    setting: str, tmp_path: Path
) -> None:
    """`FERRY_LEAN_FRONT=false`: BentoML's own stack answers `/predict` and V2 `/infer`;
    `FERRY_TRACE_INFERENCE=true`: the front answers and traces. The answers are the same."""
    registry = Registry(tmp_path / "registry")
    publish_linear(registry)
    _, w, b = linear_softmax(30, 2, 0)
    tensor = {"name": "features", "shape": [3, 30], "datatype": "FP32", "data": X.ravel().tolist()}
    with (
        running_service(registry.root, tmp_path / "service.log", **BENTOML_PATHS[setting]) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        typed = client.post(
            "/predict", json={"model": "tabular", "inputs": {"features": X.tolist()}}
        )
        v2 = client.post("/v2/models/tabular/infer", json={"inputs": [tensor]})
        bad = client.post(
            "/predict", json={"model": "tabular", "inputs": {"features": [[1.0] * 29]}}
        )
        metrics = client.get("/metrics").text
    assert typed.status_code == 200, typed.text
    np.testing.assert_allclose(
        typed.json()["outputs"]["probabilities"], reference(X, w, b), rtol=1e-5
    )
    assert typed.headers["x-model-version"] == "1"
    assert v2.status_code == 200, v2.text
    got = np.asarray(v2.json()["outputs"][0]["data"]).reshape(3, 2)
    np.testing.assert_allclose(got, reference(X, w, b), rtol=1e-5)
    assert bad.status_code == 400 and "expected shape [-1, 30]" in bad.json()["error"]
    bentoml_counts = (
        counted(metrics, "bentoml_service_request_total", endpoint="/predict"),
        # BentoML's request metrics are labelled by route template, never by raw path
        counted(metrics, "bentoml_service_request_total", endpoint="/v2/models/{name}/infer"),
    )
    if FRONT_ANSWERS[setting]:
        assert bentoml_counts == (0, 0)
        assert counted(metrics, "ferry_request_seconds_count") == 3
    else:  # BentoML's API answered (its Server header, its request metrics), not the front
        assert typed.headers["server"] == "BentoML Service/ferry"
        assert bentoml_counts == (2, 1)
        assert counted(metrics, "ferry_request_seconds_count") == 0


async def _fresh_connections(url: str, n: int) -> list[tuple[int, Any]]:
    body = {"model": "tabular", "inputs": {"features": X.tolist()}}
    connector = aiohttp.TCPConnector(force_close=True)  # a new connection, a new accept
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> tuple[int, Any]:
            async with session.post(url + "/predict", json=body) as response:
                return response.status, await response.json()

        return await asyncio.gather(*(one() for _ in range(n)))


def test_workers_setting_starts_that_many_serving_processes(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    publish_linear(registry)
    _, w, b = linear_softmax(30, 2, 0)
    log = tmp_path / "service.log"
    with running_server("bentoml", FERRY, registry.root, log, FERRY_WORKERS="2") as started:
        children = psutil.Process(started.pid).children(recursive=True)
        workers = [p for p in children if "_bentoml_impl.worker.service" in p.cmdline()]
        answers = asyncio.run(_fresh_connections(started.url, 40))
    assert len(workers) == 2, [p.cmdline() for p in children]
    for status, body in answers:
        assert status == 200, body
        np.testing.assert_allclose(body["outputs"]["probabilities"], reference(X, w, b), rtol=1e-5)
