"""Crafted bodies get a 400 that names the field, never a 500 or a whole echo of the input.

Each body here is what a hostile or broken client sends: written by hand as bytes, and
answered through the data plane every transport uses.
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving import handlers
from service.serving.handlers import Answer
from service.serving.models import ModelSet
from service.serving.settings import BatchSettings, RegistrySettings
from tests.support.onnx_models import publish_image, publish_linear
from tests.support.text_models import publish_text

ROW = [0.5] * 30


@pytest.fixture
async def models(registry: Registry) -> AsyncIterator[ModelSet]:
    publish_linear(registry, "tabular")
    publish_image(registry, "digits")
    publish_text(registry, "text-embed")
    served = ModelSet(
        RegistrySettings(registry=registry.root),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
        BatchSettings(max_rows_per_request=64),
    )
    served.load_all()
    yield served
    await served.close()


def v2(inputs: list[dict[str, Any]], **body: Any) -> bytes:
    return json.dumps({"inputs": inputs, **body}).encode()


def features(**tensor: Any) -> dict[str, Any]:
    return {"name": "features", "shape": [1, 30], "datatype": "FP32", "data": ROW, **tensor}


def refused(answer: Answer, field: str) -> str:
    assert answer.status == 400, answer.body[:300]
    message: str = json.loads(answer.body)["error"]
    assert message.startswith(field), message
    assert len(message) < 400, message  # no echo of the whole input
    return message


async def test_json_nested_1100_deep(models: ModelSet) -> None:
    deep = b"[" * 1100 + b"]" * 1100
    body = b'{"model": "tabular", "inputs": {"features": ' + deep + b"}}"
    refused(await handlers.predict_answer(models, body), "request body: JSON nested deeper")
    v2_body = b'{"inputs": [{"name": "features", "data": ' + deep + b"}]}"
    answer = await handlers.infer_answer(models, "tabular", None, v2_body, None)
    refused(answer, "request body: JSON nested deeper")


async def test_json_nested_deep_with_a_literal_orjson_refuses(models: ModelSet) -> None:
    # NaN sends the body to the standard library's parser, which recurses deeper
    body = (
        b'{"model": "tabular", "inputs": {"features": ' + b"[" * 5000 + b"NaN" + b"]" * 5000 + b"}}"
    )
    refused(await handlers.predict_answer(models, body), "request body: JSON nested deeper")


async def test_a_5000_digit_integer(models: ModelSet) -> None:
    huge = b"9" * 5000
    rest = b"".join([b", 0.5"] * 29)
    body = b'{"model": "tabular", "inputs": {"features": [[' + huge + rest + b"]]}}"
    message = refused(await handlers.predict_answer(models, body), "inputs.features[0][0]")
    assert "5000 digits" in message
    v2_body = b'{"id": ' + huge + b', "inputs": [' + json.dumps(features()).encode() + b"]}"
    refused(await handlers.infer_answer(models, "tabular", None, v2_body, None), "id")


async def test_an_integer_beyond_64_bits_in_the_data(models: ModelSet) -> None:
    # beyond a double's range: orjson refuses it, the standard library reads an int
    rest = b"".join([b", 0.5"] * 29)
    body = b'{"model": "tabular", "inputs": {"features": [[' + b"1" * 400 + rest + b"]]}}"
    message = refused(await handlers.predict_answer(models, body), "inputs.features[0][0]")
    assert "out of range" in message


@pytest.mark.parametrize("binary", [False, True])
async def test_a_shape_of_zero_by_2_63(models: ModelSet, binary: bool) -> None:
    shape = [0, 2**63 - 1]
    if binary:
        tensor = {"name": "features", "shape": shape, "datatype": "FP32"}
        tensor["parameters"] = {"binary_data_size": 0}
        raw = v2([tensor])
        answer = await handlers.infer_answer(models, "tabular", None, raw, str(len(raw)))
    else:
        raw = v2([features(shape=shape, data=[])])
        answer = await handlers.infer_answer(models, "tabular", None, raw, None)
    refused(answer, "inputs[0].shape")


@pytest.mark.parametrize(
    "shape", [[1, 1, 2**40, 0], [1, 0, 8, 8], [2**62, 1, 8, 8], [1, 1, 8, 2**31], [1, 64]]
)
async def test_huge_or_wrong_dims_in_a_digits_request(models: ModelSet, shape: list[int]) -> None:
    tensor = {"name": "images", "shape": shape, "datatype": "FP32"}
    tensor["parameters"] = {"binary_data_size": 256}
    raw = v2([tensor])
    answer = await handlers.infer_answer(models, "digits", None, raw + b"\0" * 256, str(len(raw)))
    refused(answer, "inputs[0].shape")


async def test_rows_are_refused_by_the_declared_count_before_converting(models: ModelSet) -> None:
    raw = v2([features(shape=[10**6, 30], data=[0.0])])
    message = refused(await handlers.infer_answer(models, "tabular", None, raw, None), "inputs[0]")
    assert "1000000 rows exceed the limit of 64" in message
    typed = json.dumps({"model": "tabular", "inputs": {"features": [[0.0]] * 65}}).encode()
    message = refused(await handlers.predict_answer(models, typed), "inputs.features")
    assert "65 rows exceed the limit of 64" in message
    text = v2([{"name": "text", "shape": [2**62], "datatype": "BYTES", "data": ["a"]}])
    refused(await handlers.infer_answer(models, "text-embed", None, text, None), "inputs[0].shape")


async def test_binary_data_output_must_be_a_boolean(models: ModelSet) -> None:
    raw = v2([features()], parameters={"binary_data_output": "false"})
    answer = await handlers.infer_answer(models, "tabular", None, raw, None)
    assert "'false'" in refused(answer, "parameters.binary_data_output")
    raw = v2([features()], outputs=[{"name": "probabilities", "parameters": {"binary_data": 0}}])
    answer = await handlers.infer_answer(models, "tabular", None, raw, None)
    refused(answer, "outputs[0].parameters.binary_data")
    raw = v2([features()], parameters={"binary_data_output": False})
    answer = await handlers.infer_answer(models, "tabular", None, raw, None)
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"


async def test_ids_are_echoed_exactly_or_refused(models: ModelSet) -> None:
    big = b"123456789012345678901234567890"
    data = b",".join([b"0.5"] * 30)
    raw = b'{"id": ' + big + b', "inputs": [{"name": "features", "shape": [1, 30], '
    raw += b'"datatype": "FP32", "data": [' + data + b"]}]}"
    refused(await handlers.infer_answer(models, "tabular", None, raw, None), "id")
    for exact in (b'"req-7"', b"18446744073709551615", b"-9223372036854775808"):
        answer = await handlers.infer_answer(models, "tabular", None, raw.replace(big, exact), None)
        assert answer.status == 200, answer.body
        assert answer.body.startswith(b'{"model_name"') and b'"id":' + exact in answer.body


async def test_unknown_names_are_not_echoed_at_full_length(models: ModelSet) -> None:
    long_name = "x" * 100_000
    raw = v2([features(name=long_name)])
    refused(await handlers.infer_answer(models, "tabular", None, raw, None), "inputs[0].name")
    raw = v2([features()], outputs=[{"name": long_name}])
    refused(await handlers.infer_answer(models, "tabular", None, raw, None), "outputs[0].name")
    typed = json.dumps({"model": "tabular", "inputs": {long_name: [ROW]}}).encode()
    refused(await handlers.predict_answer(models, typed), "inputs")
    answer = await handlers.infer_answer(models, long_name, None, v2([features()]), None)
    assert answer.status == 404 and len(answer.body) < 400
    answer = await handlers.infer_answer(models, "tabular", long_name, v2([features()]), None)
    assert answer.status == 404 and len(answer.body) < 400


async def test_binary_strings_with_a_huge_count(models: ModelSet) -> None:
    chunk = struct.pack("<I", 2**31) + b"abc"
    tensor = {"name": "text", "shape": [3], "datatype": "BYTES"}
    tensor["parameters"] = {"binary_data_size": len(chunk)}
    raw = v2([tensor])
    answer = await handlers.infer_answer(models, "text-embed", None, raw + chunk, str(len(raw)))
    refused(answer, "inputs[0].data[0]")
