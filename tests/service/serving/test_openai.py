"""OpenAI embeddings in-process: the SDK through the lean front, and every refusal's shape."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from fastapi.testclient import TestClient

from export.registry import Registry
from service.serving.front import InferenceFront, Receive, Scope, Send
from service.serving.models import ModelSet
from service.serving.routes import build_app
from tests.support.onnx_models import publish_linear
from tests.support.text_models import DIM, expected, publish_text, text_model_set

TEXTS = ["the sun", "rain and news", "ünïcödé 🚀"]


async def nothing_behind(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the front answers /v1/embeddings itself")


@pytest.fixture
async def models(tmp_path: Path) -> AsyncIterator[ModelSet]:
    registry = Registry(tmp_path / "registry")
    publish_text(registry, "text-embed")
    publish_text(registry, "text-classify", classes=3, seed=1)
    publish_linear(registry, "tabular")
    models = text_model_set(registry, max_rows=4)
    yield models
    await models.close()


@pytest.fixture
async def front(models: ModelSet) -> AsyncIterator[httpx.AsyncClient]:
    app = InferenceFront(nothing_behind, SimpleNamespace(models=models), 5, 1 << 20)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def want(models: ModelSet) -> np.ndarray:
    return expected(TEXTS, models.registry.get("text-embed@production")).astype(np.float32)


async def test_the_sdk_gets_the_same_vectors_as_base64_and_as_floats(
    models: ModelSet, front: httpx.AsyncClient
) -> None:
    client = openai.AsyncOpenAI(base_url="http://t/v1", api_key="-", http_client=front)
    packed = await client.embeddings.create(model="text-embed", input=TEXTS)
    floats = await client.embeddings.create(
        model="text-embed", input=TEXTS, encoding_format="float"
    )
    as_b64 = np.array([d.embedding for d in packed.data], dtype=np.float32)
    as_float = np.array([d.embedding for d in floats.data], dtype=np.float32)
    assert as_b64.tobytes() == as_float.tobytes()
    np.testing.assert_allclose(as_b64, want(models), atol=1e-6)
    assert [d.index for d in packed.data] == [0, 1, 2] and packed.model == "text-embed"
    assert packed.usage.prompt_tokens == packed.usage.total_tokens > len(TEXTS) * 2
    one = await client.embeddings.create(model="text-embed", input="the sun", dimensions=DIM)
    assert len(one.data) == 1 and len(one.data[0].embedding) == DIM


async def test_base64_is_little_endian_float32(front: httpx.AsyncClient) -> None:
    body = {"model": "text-embed", "input": TEXTS, "encoding_format": "base64"}
    packed = (await front.post("/v1/embeddings", json=body)).json()
    plain = (await front.post("/v1/embeddings", json={**body, "encoding_format": "float"})).json()
    for a, b in zip(packed["data"], plain["data"], strict=True):
        decoded = np.frombuffer(base64.b64decode(a["embedding"]), dtype="<f4")
        assert decoded.tolist() == b["embedding"]
    assert plain["object"] == "list" and plain["data"][0]["object"] == "embedding"


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


REFUSALS: list[tuple[dict[str, Any], int, str, str | None, str]] = [
    ({"model": "text-embed", "input": []}, 400, "input", None, "input: empty list"),
    ({"model": "text-embed", "input": ""}, 400, "input", None, "input: empty string"),
    ({"model": "text-embed", "input": ["a", ""]}, 400, "input", None, r"input\[1\]: empty"),
    ({"model": "text-embed", "input": [1, 2]}, 400, "input", None, "token arrays"),
    ({"model": "text-embed", "input": ["a"] * 5}, 400, "input", None, "exceed the limit of 4"),
    ({"model": "text-embed"}, 400, "input", None, "input: missing"),
    (
        {"model": "text-embed", "input": "a", "dimensions": 8},
        400,
        "dimensions",
        None,
        f"makes {DIM}-dimensional embeddings .* got 8",
    ),
    (
        {"model": "text-embed", "input": "a", "encoding_format": "int8"},
        400,
        "encoding_format",
        None,
        "got 'int8'",
    ),
    ({"model": "nope", "input": "a"}, 404, "model", "model_not_found", "'nope' is not an"),
    ({"model": "tabular", "input": "a"}, 404, "model", "model_not_found", r"\['text-embed'\]"),
    ({"input": "a"}, 400, "model", None, "model: expected a model name"),
]


async def test_refusals_in_openai_error_shape(front: httpx.AsyncClient) -> None:
    for body, status, param, code, message in REFUSALS:
        response = await front.post("/v1/embeddings", json=body)
        assert response.status_code == status, (body, response.text)
        error = error_of(response)
        assert (error["param"], error["code"]) == (param, code), (body, error)
        assert error["type"] == "invalid_request_error", (body, error)
        assert re.search(message, error["message"]), (body, error)


async def test_malformed_json_and_a_server_still_loading(front: httpx.AsyncClient) -> None:
    response = await front.post("/v1/embeddings", content=b"{nope")
    assert response.status_code == 400 and "malformed JSON" in error_of(response)["message"]
    empty = InferenceFront(nothing_behind, SimpleNamespace(), 5, 1 << 20)
    transport = httpx.ASGITransport(app=empty)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        loading = await client.post("/v1/embeddings", json={"model": "text-embed", "input": "a"})
    assert loading.status_code == 503 and error_of(loading)["type"] == "server_error"


def test_routes_list_embedding_models_and_serve_embeddings_too(models: ModelSet) -> None:
    app = build_app()
    app.state.models = models
    with TestClient(app) as client:
        listed = client.get("/v1/models").json()
        one = client.get("/v1/models/text-embed").json()
        missing = client.get("/v1/models/tabular")
        embedded = client.post("/v1/embeddings", json={"model": "text-embed", "input": TEXTS})
    assert [m["id"] for m in listed["data"]] == ["text-embed"] and listed["object"] == "list"
    assert one["object"] == "model" and one["owned_by"] == "ferry" and one["created"] > 0
    assert missing.status_code == 404 and error_of(missing)["code"] == "model_not_found"
    assert embedded.status_code == 200 and len(embedded.json()["data"]) == len(TEXTS)
