"""What each endpoint does, free of any web framework: payload in, answer out."""

from __future__ import annotations

from typing import Any

import numpy as np

from service.errors import InvalidInput
from service.models import ModelSet, ServedModel
from service.protocol import encode_response, parse_request
from service.text import TEXT_INPUT
from service.text.inputs import texts_from_json
from service.validation import to_arrays


async def predict(
    models: ModelSet, model: str | None, inputs: Any, texts: Any = None
) -> dict[str, Any]:
    """The typed endpoint: `{"model": ..., "inputs": {name: nested list}}`.

    Text models also take `{"texts": [...]}` (the same as `{"inputs": {"text": [...]}}`).
    """
    served = models.get(model)
    max_rows = models.batching.max_rows_per_request
    if served.runtime.text is not None:
        results = await served.infer_texts(text_payload(served, inputs, texts, max_rows))
        return typed_response(served, results)
    if texts is not None:
        names = [spec.name for spec in served.runtime.signature.inputs]
        raise InvalidInput(
            f"texts: model {served.runtime.name!r} takes tensors {names}, not texts; send inputs"
        )
    if not isinstance(inputs, dict):
        raise InvalidInput(
            f"inputs: expected an object of named tensors, got {type(inputs).__name__}"
        )
    arrays = to_arrays(inputs, served.runtime.signature, max_rows)
    results = await served.infer(arrays)
    return typed_response(served, results)


def text_payload(served: ServedModel, inputs: Any, texts: Any, max_rows: int) -> list[str]:
    """The texts of a typed request to a text model, from `texts` or `inputs.text`."""
    if texts is not None:
        if inputs is not None:
            raise InvalidInput("texts: give either texts or inputs, not both")
        return texts_from_json(texts, "texts", max_rows)
    if not isinstance(inputs, dict) or set(inputs) != {TEXT_INPUT}:
        got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
        raise InvalidInput(
            f"texts: model {served.runtime.name!r} takes text: send "
            f'{{"texts": [...]}} or {{"inputs": {{"{TEXT_INPUT}": [...]}}}}, got inputs {got}'
        )
    return texts_from_json(inputs[TEXT_INPUT], f"inputs.{TEXT_INPUT}", max_rows)


def typed_response(served: ServedModel, results: dict[str, np.ndarray]) -> dict[str, Any]:
    runtime = served.runtime
    body: dict[str, Any] = {
        "model_name": runtime.name,
        "model_version": runtime.version,
        "outputs": {name: value.tolist() for name, value in results.items()},
        "predictions": None,
    }
    indices = runtime.label_indices(results)
    if indices is not None:
        body["predictions"] = [runtime.manifest.labels[i] for i in indices]
    return body


async def v2_infer(
    models: ModelSet, name: str, version: str | None, body: Any, binary: bytes = b""
) -> tuple[bytes, str, dict[str, str]]:
    """`POST /v2/models/{name}[/versions/{v}]/infer`: JSON and binary tensors in and out."""
    served = models.get(name, version)
    runtime = served.runtime
    request = parse_request(body, binary, runtime.interface, models.batching.max_rows_per_request)
    results = await served.infer(request.arrays)
    return encode_response(runtime, results, request)
