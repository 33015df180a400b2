"""What each endpoint does, free of any web framework: payload in, answer out."""

from __future__ import annotations

from typing import Any

import numpy as np

from service.errors import InvalidInput
from service.models import ModelSet, ServedModel
from service.protocol import encode_response, parse_request
from service.validation import to_arrays


async def predict(models: ModelSet, model: str | None, inputs: Any) -> dict[str, Any]:
    """The typed endpoint: `{"model": ..., "inputs": {name: nested list}}`."""
    served = models.get(model)
    if not isinstance(inputs, dict):
        raise InvalidInput(
            f"inputs: expected an object of named tensors, got {type(inputs).__name__}"
        )
    arrays = to_arrays(inputs, served.runtime.signature, models.batching.max_rows_per_request)
    results = await served.infer(arrays)
    return typed_response(served, results)


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
    request = parse_request(body, binary, runtime.signature, models.batching.max_rows_per_request)
    results = await served.infer(request.arrays)
    return encode_response(runtime, results, request)
