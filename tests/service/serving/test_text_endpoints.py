"""Text models over the typed endpoint and V2 (BYTES in JSON and binary), good and bad input."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from export.registry import Artifact, Registry
from service.runtime.errors import InvalidInput
from service.runtime.text import inputs as text_inputs
from service.serving import handlers
from service.serving.models import ModelSet
from service.serving.protocol.strings import encode_strings
from service.serving.routes import build_app
from tests.support.onnx_models import publish_linear
from tests.support.text_models import LABELS, expected, publish_text, text_model_set

HEADER = "Inference-Header-Content-Length"
TEXTS = ["the sun", "rain and news", "ünïcödé 🚀", "the model " * 80]


@pytest.fixture
def models(registry: Registry) -> Iterator[ModelSet]:
    publish_text(registry, "text-embed")
    publish_text(registry, "text-classify", classes=3, seed=1)
    publish_linear(registry, "tabular")
    models = text_model_set(registry, max_rows=8)
    yield models
    asyncio.run(models.close())


@pytest.fixture
def client(models: ModelSet) -> Iterator[TestClient]:
    app = build_app()
    app.state.models = models
    with TestClient(app) as client:
        yield client


def artifact(models: ModelSet, name: str) -> Artifact:
    return models.registry.get(f"{name}@production")


async def test_typed_texts_answer_embeddings(models: ModelSet) -> None:
    body = await handlers.predict(models, "text-embed", None, texts=TEXTS)
    got = np.array(body["outputs"]["embedding"])
    np.testing.assert_allclose(got, expected(TEXTS, artifact(models, "text-embed")), atol=1e-6)
    assert body["predictions"] is None and body["model_version"] == "1"
    same = await handlers.predict(models, "text-embed", {"text": TEXTS})
    assert same["outputs"] == body["outputs"]


async def test_typed_texts_answer_probabilities_and_labels(models: ModelSet) -> None:
    body = await handlers.predict(models, "text-classify", None, texts=TEXTS)
    want = expected(TEXTS, artifact(models, "text-classify"), seed=1)
    np.testing.assert_allclose(np.array(body["outputs"]["probabilities"]), want, atol=1e-6)
    assert body["predictions"] == [LABELS[i] for i in want.argmax(axis=1)]


@pytest.mark.parametrize(
    ("inputs", "texts", "message"),
    [
        (None, [], "texts: empty list; send at least one text"),
        (None, "the sun", "texts: expected a list of strings, got 'the sun'"),
        (None, ["ok", 5], "texts[1]: expected a string, got 5"),
        (None, ["ok", None], "texts[1]: expected a string, got None"),
        (None, ["ok", "bad \ud800"], "texts[1]: not valid UTF-8 text (surrogates not allowed"),
        (None, ["a"] * 9, "texts: 9 texts exceed the limit of 8 per request"),
        ({"text": ["a"]}, ["a"], "texts: give either texts or inputs, not both"),
        ({"text": [["a", "b"]]}, None, "inputs.text[0]: expected a string, got ['a', 'b']"),
        ({"input_ids": [[1, 2]]}, None, "takes text: send"),
        (None, None, "takes text: send"),
    ],
)
async def test_bad_typed_text_input_names_the_field_and_value(
    models: ModelSet, inputs: Any, texts: Any, message: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        await handlers.predict(models, "text-embed", inputs, texts=texts)
    assert message in str(err.value)


async def test_texts_sent_to_a_numeric_model_are_refused(models: ModelSet) -> None:
    with pytest.raises(InvalidInput, match=r"texts: model 'tabular' takes tensors \['features'\]"):
        await handlers.predict(models, "tabular", None, texts=["a"])


async def test_one_bad_request_never_fails_the_others_in_its_batch(models: ModelSet) -> None:
    good = [handlers.predict(models, "text-embed", None, texts=[t]) for t in TEXTS * 5]
    bad = [handlers.predict(models, "text-embed", None, texts=[t]) for t in (1, "\udcff", None)]
    answers = await asyncio.gather(*good, *bad, return_exceptions=True)
    want = expected(TEXTS, artifact(models, "text-embed"))
    for i, answer in enumerate(answers[: len(good)]):
        assert isinstance(answer, dict), answer
        np.testing.assert_allclose(
            answer["outputs"]["embedding"], want[i % 4 : i % 4 + 1], atol=1e-6
        )
    errors = [str(a) for a in answers[len(good) :]]
    assert all(isinstance(a, InvalidInput) for a in answers[len(good) :])
    assert "texts[0]: expected a string, got 1" in errors[0]
    assert "texts[0]: not valid UTF-8 text" in errors[1]
    assert "texts[0]: expected a string, got None" in errors[2]


def test_v2_metadata_and_config_show_one_bytes_input(client: TestClient) -> None:
    meta = client.get("/v2/models/text-embed").json()
    assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert meta["outputs"] == [{"name": "embedding", "datatype": "FP32", "shape": [-1, 16]}]
    assert meta["parameters"]["task"] == "embedding"
    assert meta["parameters"]["max_length"] == 128
    config = client.get("/v2/models/text-classify/config").json()
    assert config["input"] == [
        {"name": "text", "data_type": "TYPE_STRING", "dims": [1], "reshape": {"shape": []}}
    ]
    assert config["output"] == [{"name": "probabilities", "data_type": "TYPE_FP32", "dims": [3]}]
    status = client.get("/status").json()["models"]["text-embed"]
    assert status["buckets"] == [16, 32, 64, 128] and status["task"] == "embedding"


@pytest.mark.parametrize("shape", [[4], [4, 1]])
def test_v2_json_bytes(client: TestClient, models: ModelSet, shape: list[int]) -> None:
    data: list[Any] = TEXTS if len(shape) == 1 else [[t] for t in TEXTS]
    body = {
        "id": "t1",
        "inputs": [{"name": "text", "shape": shape, "datatype": "BYTES", "data": data}],
    }
    response = client.post("/v2/models/text-embed/infer", json=body)
    assert response.status_code == 200, response.text
    [out] = response.json()["outputs"]
    assert out["name"] == "embedding" and out["shape"] == [4, 16] and out["datatype"] == "FP32"
    want = expected(TEXTS, artifact(models, "text-embed"))
    np.testing.assert_allclose(np.array(out["data"]).reshape(4, 16), want, atol=1e-6)


def binary_body(texts: list[str], **request: Any) -> tuple[bytes, dict[str, str]]:
    raw = encode_strings(texts)
    tensor = {
        "name": "text",
        "shape": [len(texts)],
        "datatype": "BYTES",
        "parameters": {"binary_data_size": len(raw)},
    }
    header = json.dumps({"inputs": [tensor], **request}).encode()
    return header + raw, {HEADER: str(len(header)), "Content-Type": "application/octet-stream"}


def test_v2_binary_bytes_round_trip(client: TestClient, models: ModelSet) -> None:
    content, headers = binary_body(TEXTS, parameters={"binary_data_output": True})
    response = client.post("/v2/models/text-classify/infer", content=content, headers=headers)
    assert response.status_code == 200, response.text
    size = int(response.headers[HEADER])
    [out] = json.loads(response.content[:size])["outputs"]
    assert out["parameters"] == {"binary_data_size": 4 * 3 * 4}
    got = np.frombuffer(response.content[size:], "<f4").reshape(4, 3)
    np.testing.assert_allclose(
        got, expected(TEXTS, artifact(models, "text-classify"), 1), atol=1e-6
    )


def post_binary(client: TestClient, raw: bytes, count: int) -> tuple[int, str]:
    tensor = {
        "name": "text",
        "shape": [count],
        "datatype": "BYTES",
        "parameters": {"binary_data_size": len(raw)},
    }
    header = json.dumps({"inputs": [tensor]}).encode()
    response = client.post(
        "/v2/models/text-embed/infer", content=header + raw, headers={HEADER: str(len(header))}
    )
    return response.status_code, response.json().get("error", "")


@pytest.mark.parametrize(
    ("raw", "count", "message"),
    [
        (
            encode_strings(["ok"]) + b"\x02\x00\x00\x00\xff\xfe",
            2,
            "inputs[0].data[1]: not valid UTF-8",
        ),
        (
            encode_strings(["ok"]) + b"\x09\x00\x00\x00abc",
            2,
            "inputs[0].data[1]: length 9 runs past",
        ),
        (encode_strings(["ok"]) + b"\x01", 2, "inputs[0].data[1]: no 4-byte length left"),
        (encode_strings(["ok", "x"]), 1, "inputs[0].data: 5 bytes left after 1 strings"),
    ],
)
def test_malformed_binary_bytes(client: TestClient, raw: bytes, count: int, message: str) -> None:
    status, error = post_binary(client, raw, count)
    assert status == 400 and message in error


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"data": ["ok", 5]}, "inputs[0].data[1]: expected a string, got 5"),
        ({"data": ["ok", "\ud800"]}, "inputs[0].data[1]: not valid UTF-8 text"),
        ({"data": ["ok"]}, "inputs[0].data: 1 strings do not fill 2 elements"),
        ({"datatype": "FP32", "data": [1.0, 2.0]}, "FP32 cannot feed input 'text' (BYTES)"),
        ({"shape": [1, 2]}, "inputs[0].shape: expected [N] (or [N, 1]) texts, got [1, 2]"),
        ({"shape": [0], "data": []}, "inputs[0].shape: empty batch"),
        ({"shape": [9], "data": ["a"] * 9}, "inputs[0].shape: 9 rows exceed the limit of 8"),
        ({"name": "input_ids"}, "unknown input 'input_ids'; expected one of ['text']"),
    ],
)
def test_bad_v2_bytes_name_the_field_and_value(
    client: TestClient, tensor: dict[str, Any], message: str
) -> None:
    body = {"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a", "b"], **tensor}
    # raw JSON: a lone surrogate must reach the server as the client wrote it
    content = json.dumps({"inputs": [body]}).encode()
    response = client.post("/v2/models/text-embed/infer", content=content)
    assert response.status_code == 400 and message in response.json()["error"], response.text


LIMIT = "41 characters exceed the limit of 40 per text (FERRY_TEXT_MAX_CHARS): 'xxx"


async def test_a_typed_text_over_the_character_limit_is_refused(
    models: ModelSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(text_inputs, "max_chars", lambda: 40)
    with pytest.raises(InvalidInput, match=re.escape("texts[1]: " + LIMIT)):
        await handlers.predict(models, "text-embed", None, texts=["short", "x" * 41])
    with pytest.raises(InvalidInput, match=re.escape("inputs.text[0]: " + LIMIT)):
        await handlers.predict(models, "text-embed", {"text": ["x" * 41]})
    fits = await handlers.predict(models, "text-embed", None, texts=["y" * 40])
    want = expected(["y" * 40], artifact(models, "text-embed"))
    np.testing.assert_allclose(fits["outputs"]["embedding"], want, atol=1e-6)


def test_a_v2_text_over_the_character_limit_is_refused(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(text_inputs, "max_chars", lambda: 40)
    texts = ["short", "x" * 41]
    tensor = {"name": "text", "shape": [2], "datatype": "BYTES", "data": texts}
    v2 = client.post("/v2/models/text-embed/infer", json={"inputs": [tensor]})
    assert v2.status_code == 400 and "data[1]: " + LIMIT in v2.json()["error"], v2.text
    status, error = post_binary(client, encode_strings(texts), 2)
    assert status == 400 and "data[1]: " + LIMIT in error, error
