"""Text models on the real service: typed texts, V2 BYTES in JSON and binary, real clients."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import aiohttp
import httpx
import numpy as np
import pytest
import tritonclient.http as httpclient

from export.registry import Registry
from loadtests.servers import running_service
from tests.support.text_models import LABELS, expected, publish_text

pytestmark = pytest.mark.slow
TEXTS = ["the sun", "rain and news", "ünïcödé 🚀", "", "the model is fast " * 40]


@pytest.fixture(scope="module")
def text_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    registry = Registry(tmp_path_factory.mktemp("text") / "registry")
    publish_text(registry, "text-embed")
    publish_text(registry, "text-classify", classes=3, seed=1)
    return registry


@pytest.fixture(scope="module")
def url(text_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("text-server") / "service.log"
    env = {"FERRY_MAX_ROWS_PER_REQUEST": "16", "FERRY_TEXT_MAX_CHARS": "1000"}
    with running_service(text_registry.root, log, **env) as base:
        yield base


def want(registry: Registry, model: str, texts: list[str]) -> np.ndarray:
    seed = 1 if model == "text-classify" else 0
    return expected(texts, registry.get(f"{model}@production"), seed)


def test_typed_texts_and_v2_metadata(url: str, text_registry: Registry) -> None:
    response = httpx.post(
        f"{url}/predict", json={"model": "text-classify", "inputs": {"text": TEXTS}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    probabilities = want(text_registry, "text-classify", TEXTS)
    np.testing.assert_allclose(body["outputs"]["probabilities"], probabilities, atol=1e-6)
    assert body["predictions"] == [LABELS[i] for i in probabilities.argmax(axis=1)]
    meta = httpx.get(f"{url}/v2/models/text-embed").json()
    assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    bad = httpx.post(f"{url}/predict", json={"model": "text-embed", "inputs": {"text": ["a", 7]}})
    assert bad.status_code == 400 and "inputs.text[1]: expected a string, got 7" in bad.text


def test_texts_body(url: str, text_registry: Registry) -> None:
    response = httpx.post(f"{url}/predict", json={"model": "text-embed", "texts": TEXTS})
    assert response.status_code == 200, response.text
    got = np.array(response.json()["outputs"]["embedding"])
    np.testing.assert_allclose(got, want(text_registry, "text-embed", TEXTS), atol=1e-6)
    assert response.headers["X-Model-Version"] == "1"
    empty = httpx.post(f"{url}/predict", json={"model": "text-embed", "texts": []})
    assert empty.status_code == 400 and "texts: empty list" in empty.json()["error"]


async def _post_all(url: str, bodies: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    async with aiohttp.ClientSession() as session:

        async def one(body: dict[str, Any]) -> tuple[int, Any]:
            async with session.post(f"{url}/v2/models/text-embed/infer", json=body) as r:
                return r.status, await r.json()

        return await asyncio.gather(*(one(b) for b in bodies))


def test_concurrent_v2_json_bytes_with_bad_requests_among_them(
    url: str, text_registry: Registry
) -> None:
    def body(texts: list[Any]) -> dict[str, Any]:
        tensor = {"name": "text", "shape": [len(texts)], "datatype": "BYTES", "data": texts}
        return {"inputs": [tensor]}

    good = [[TEXTS[i % 5], TEXTS[(i * 3) % 5]][: 1 + i % 2] for i in range(120)]
    bad = [body(["ok", 5])] * 10 + [body(["x"] * 17)] * 5
    answers = asyncio.run(_post_all(url, [body(t) for t in good] + bad))
    for texts, (status, answer) in zip(good, answers, strict=False):
        assert status == 200, answer
        got = np.array(answer["outputs"][0]["data"]).reshape(len(texts), -1)
        np.testing.assert_allclose(got, want(text_registry, "text-embed", texts), atol=1e-6)
    assert [status for status, _ in answers[len(good) :]] == [400] * 15
    assert "inputs[0].data[1]: expected a string, got 5" in answers[len(good)][1]["error"]
    assert "17 rows exceed the limit of 16" in answers[-1][1]["error"]


def test_tritonclient_sends_bytes_as_binary_and_json(url: str, text_registry: Registry) -> None:
    client = httpclient.InferenceServerClient(url=urlparse(url).netloc)
    config = client.get_model_config("text-embed")
    assert config["input"][0]["data_type"] == "TYPE_STRING"
    for binary in (True, False):
        texts = np.array([t.encode() for t in TEXTS], dtype=object)
        inp = httpclient.InferInput("text", [len(TEXTS)], "BYTES")
        inp.set_data_from_numpy(texts, binary_data=binary)
        result = client.infer("text-embed", [inp])
        got = result.as_numpy("embedding")
        np.testing.assert_allclose(got, want(text_registry, "text-embed", TEXTS), atol=1e-6)


def test_status_shows_each_text_models_buckets(url: str) -> None:
    status = httpx.get(f"{url}/status").json()
    assert status["models"]["text-embed"]["buckets"] == [16, 32, 64, 128]


def test_the_character_limit_is_read_from_the_environment(
    url: str, text_registry: Registry
) -> None:
    longest = "sun " * 250  # 1,000 characters: at the limit the server was started with
    fits = httpx.post(f"{url}/predict", json={"model": "text-embed", "texts": [longest]})
    assert fits.status_code == 200, fits.text
    got = fits.json()["outputs"]["embedding"]
    np.testing.assert_allclose(got, want(text_registry, "text-embed", [longest]), atol=1e-6)
    over = httpx.post(
        f"{url}/predict", json={"model": "text-embed", "texts": ["ok", longest + "!"]}
    )
    assert over.status_code == 400
    assert "texts[1]: 1,001 characters exceed the limit of 1,000 per text" in over.json()["error"]
    assert "(FERRY_TEXT_MAX_CHARS)" in over.json()["error"]
