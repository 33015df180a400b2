"""The lean front answers the inference paths itself and passes everything else on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving import handlers
from service.serving.front import INFER, PREDICT, InferenceFront, Receive, Scope, Send
from service.serving.models import ModelSet
from service.serving.settings import BatchSettings, RegistrySettings
from tests.support.onnx_models import linear_softmax, publish_linear, reference


async def passed_through(scope: Scope, receive: Receive, send: Send) -> None:
    start = {"type": "http.response.start", "status": 418, "headers": []}
    await send(start)
    await send({"type": "http.response.body", "body": b"behind"})


class Front:
    def __init__(self, models: ModelSet | None, **options: Any) -> None:
        self.state = SimpleNamespace(models=models) if models else SimpleNamespace()
        self.seen: list[tuple[str, int]] = []
        settings = {"timeout_s": 5.0, "max_body_bytes": 1 << 20, **options}
        self.app = InferenceFront(
            passed_through,
            self.state,
            on_request=lambda e, a, _: self.seen.append((e, a.status)),
            **settings,
        )

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://t")


@pytest.fixture
async def models(registry: Registry) -> AsyncIterator[ModelSet]:
    publish_linear(registry)
    publish_linear(registry, promote=False, seed=1)
    served = ModelSet(
        RegistrySettings(registry=registry.root, versions="latest:2"),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
        BatchSettings(max_rows_per_request=16),
    )
    served.load_all()
    yield served
    await served.close()


ROWS = np.random.default_rng(0).normal(size=(3, 30)).astype(np.float32)


async def test_predict_and_v2_infer_are_answered_in_front(models: ModelSet) -> None:
    front = Front(models)
    _, w, b = linear_softmax(30, 2, 0)
    async with front.client() as client:
        typed = await client.post("/predict", json={"inputs": {"features": ROWS.tolist()}})
        v2 = await client.post(
            "/v2/models/tabular/versions/2/infer",
            json={
                "inputs": [
                    {
                        "name": "features",
                        "shape": [3, 30],
                        "datatype": "FP32",
                        "data": ROWS.ravel().tolist(),
                    }
                ]
            },
        )
    assert typed.status_code == 200, typed.text
    assert typed.headers["x-model-version"] == "1"
    got = np.array(typed.json()["outputs"]["probabilities"])
    np.testing.assert_allclose(got, reference(ROWS, w, b), rtol=1e-5)
    assert v2.status_code == 200, v2.text
    assert v2.json()["model_version"] == "2"
    assert front.seen == [(PREDICT, 200), (INFER, 200)]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/predict"),
        ("GET", "/v2/models/tabular"),
        ("POST", "/v2/models/tabular/ready/infer"),
        ("POST", "/v2/models//infer"),
        ("POST", "/predictions"),
        ("POST", "/admin/refresh"),
    ],
)
async def test_other_requests_pass_through(models: ModelSet, method: str, path: str) -> None:
    front = Front(models)
    async with front.client() as client:
        response = await client.request(method, path)
    assert (response.status_code, response.text) == (418, "behind")
    assert front.seen == []


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/predict", b'{"inputs": ', 400, "request body: malformed JSON"),
        ("/predict", b"[1, 2]", 400, "request body: expected a JSON object, got list"),
        ("/predict", b'{"model": 7, "inputs": {}}', 400, "model: expected a model name, got 7"),
        ("/predict", b'{"model": "nope", "inputs": {}}', 404, "model 'nope' is not served here"),
        ("/predict", b'{"inputs": [1]}', 400, "inputs: expected an object of named tensors"),
        ("/v2/models/nope/infer", b'{"inputs": []}', 404, "model 'nope' is not served here"),
        ("/v2/models/tabular/versions/9/infer", b"{}", 404, "version '9'"),
        ("/predict", b" " * (2 << 20), 413, "larger than the limit of 1048576 bytes"),
    ],
)
async def test_bad_requests_get_a_clear_error(
    models: ModelSet, path: str, body: bytes, status: int, message: str
) -> None:
    front = Front(models)
    async with front.client() as client:
        response = await client.post(path, content=body)
        assert response.status_code == status, response.text
        assert message in response.json()["error"]
        ok = await client.post("/predict", json={"inputs": {"features": ROWS.tolist()}})
    assert ok.status_code == 200
    _, w, b = linear_softmax(30, 2, 0)
    np.testing.assert_allclose(
        ok.json()["outputs"]["probabilities"], reference(ROWS, w, b), rtol=1e-5
    )


async def test_not_ready_before_the_models_load() -> None:
    async with Front(None).client() as client:
        response = await client.post("/predict", json={"inputs": {}})
    assert response.status_code == 503
    assert "still loading" in response.json()["error"]


async def test_a_crash_is_a_500_and_the_next_request_is_served(
    models: ModelSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = handlers.infer_typed
    calls = 0

    async def flaky(*args: Any) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("injected")
        return await real(*args)

    monkeypatch.setattr(handlers, "infer_typed", flaky)
    front = Front(models)
    async with front.client() as client:
        crashed = await client.post("/predict", json={"inputs": {"features": ROWS.tolist()}})
        ok = await client.post("/predict", json={"inputs": {"features": ROWS.tolist()}})
    assert crashed.status_code == 500
    assert crashed.json()["error"] == "internal error: RuntimeError: injected"
    assert ok.status_code == 200
    _, w, b = linear_softmax(30, 2, 0)
    np.testing.assert_allclose(
        ok.json()["outputs"]["probabilities"], reference(ROWS, w, b), rtol=1e-5
    )
    assert front.seen == [(PREDICT, 500), (PREDICT, 200)]


async def test_a_request_past_the_deadline_gets_a_504(
    models: ModelSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def stuck(*_: Any) -> dict[str, Any]:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    monkeypatch.setattr(handlers, "infer_typed", stuck)
    front = Front(models, timeout_s=0.2)
    async with front.client() as client:
        response = await client.post("/predict", json={"inputs": {"features": ROWS.tolist()}})
    assert response.status_code == 504
    assert "not answered within 0.2 s" in response.json()["error"]


async def test_a_metrics_scrape_first_writes_out_what_was_tallied() -> None:
    scraped: list[str] = []
    app = InferenceFront(
        passed_through, SimpleNamespace(), 5.0, 1 << 20, before_metrics=lambda: scraped.append("x")
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        other = await client.get("/livez")
        metrics = await client.get("/metrics")
    assert other.status_code == metrics.status_code == 418  # both answered behind the front
    assert scraped == ["x"]
