"""Encode an inference response: JSON tensors, or binary ones after the JSON header."""

from __future__ import annotations

from typing import Any

import numpy as np

from service.runtime import ModelRuntime
from service.serving import jsonio
from service.serving.protocol.binary import HEADER, encode
from service.serving.protocol.request import InferenceRequest

VERSION_HEADER = "X-Model-Version"  # every answer names the version that produced it
JSON = "application/json"
BINARY = "application/octet-stream"


def encode_response(
    runtime: ModelRuntime, results: dict[str, np.ndarray], request: InferenceRequest
) -> tuple[bytes, str, dict[str, str]]:
    """Return (body, media type, headers) for the requested outputs."""
    body: dict[str, Any] = {"model_name": runtime.name, "model_version": runtime.version}
    if request.id is not None:
        body["id"] = request.id
    outputs, chunks = [], []
    for wanted in request.outputs:
        value = results[wanted.name]
        tensor: dict[str, Any] = {
            "name": wanted.name,
            "datatype": runtime.signature.output(wanted.name).datatype,
            "shape": list(value.shape),
        }
        if wanted.binary:
            raw = encode(value)
            tensor["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            tensor["data"] = value.ravel().tolist()
        outputs.append(tensor)
    body["outputs"] = outputs
    header = jsonio.dumps(body)
    headers = {VERSION_HEADER: runtime.version}
    if not chunks:
        return header, JSON, headers
    return header + b"".join(chunks), BINARY, {**headers, HEADER: str(len(header))}
