"""Parse and validate an inference request into arrays the model accepts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from export.signature import Signature, numpy_dtype
from service.runtime.errors import InvalidInput, short
from service.runtime.validation import check_rows, conform, numeric_array
from service.serving.protocol.binary import Chunks, decode
from service.serving.protocol.strings import parse_bytes_tensor


@dataclass(frozen=True)
class RequestedOutput:
    name: str
    binary: bool


@dataclass(frozen=True)
class InferenceRequest:
    arrays: dict[str, np.ndarray]
    outputs: list[RequestedOutput]
    id: Any = None


def parse_request(
    body: Any, binary: bytes, signature: Signature, max_rows: int
) -> InferenceRequest:
    """Validate a V2 request (JSON part + binary part); raise `InvalidInput` naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput(f"request body: expected a JSON object, got {short(body)}")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput(f"inputs: expected a non-empty list of tensors, got {short(inputs)}")
    chunks = Chunks(binary)
    arrays: dict[str, np.ndarray] = {}
    for i, tensor in enumerate(inputs):
        name, array = _parse_tensor(tensor, f"inputs[{i}]", signature, chunks)
        if name in arrays:
            raise InvalidInput(f"inputs[{i}].name: input {name!r} given twice")
        arrays[name] = array
    chunks.finish()
    missing = [s.name for s in signature.inputs if s.name not in arrays]
    if missing:
        raise InvalidInput(f"inputs: missing input {missing[0]!r}")
    check_rows(arrays, max_rows, "inputs")
    binary_default = bool(_parameters(body, "parameters").get("binary_data_output", False))
    outputs = _requested_outputs(body.get("outputs"), signature, binary_default)
    return InferenceRequest(arrays, outputs, body.get("id"))


def _parse_tensor(
    tensor: Any, field: str, signature: Signature, chunks: Chunks
) -> tuple[str, np.ndarray]:
    if not isinstance(tensor, dict):
        raise InvalidInput(f"{field}: expected a tensor object, got {short(tensor)}")
    name = tensor.get("name")
    known = [s.name for s in signature.inputs]
    if name not in known:
        raise InvalidInput(f"{field}.name: unknown input {name!r}; expected one of {known}")
    spec = signature.input(name)
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(_is_dim(d) for d in shape):
        raise InvalidInput(
            f"{field}.shape: expected a list of non-negative integers, got {short(shape)}"
        )
    datatype = tensor.get("datatype")
    try:
        wire = np.dtype(numpy_dtype(str(datatype)))
    except ValueError as err:
        raise InvalidInput(f"{field}.datatype: {err}") from err
    text = spec.datatype == "BYTES"
    if (wire.kind == "O") != text or wire.kind not in "iufO":
        raise InvalidInput(
            f"{field}.datatype: {datatype} cannot feed input {name!r} ({spec.datatype})"
        )
    size = _parameters(tensor, f"{field}.parameters").get("binary_data_size")
    if text:
        return name, parse_bytes_tensor(tensor, field, shape, chunks, size)
    if size is not None:
        array = decode(
            chunks.take(size, field), wire, shape, f"{field}.parameters.binary_data_size"
        )
    elif "data" in tensor:
        array = _json_array(tensor["data"], wire, shape, f"{field}.data")
    else:
        raise InvalidInput(f"{field}.data: missing (and no parameters.binary_data_size)")
    return name, conform(array, spec, f"{field}.data")


def _json_array(data: Any, wire: np.dtype, shape: list[int], field: str) -> np.ndarray:
    raw = numeric_array(data, field)
    if (
        raw.dtype.kind == "f"
        and wire.kind in "iu"
        and not np.all(np.isfinite(raw) & (raw == np.round(raw)))
    ):
        raise InvalidInput(f"{field}: non-integer values for datatype {wire.name}")
    if raw.size != math.prod(shape):
        raise InvalidInput(f"{field}: {raw.size} values do not fill shape {shape}")
    if (
        wire.kind in "iu"
        and raw.size
        and (raw.min() < np.iinfo(wire).min or raw.max() > np.iinfo(wire).max)
    ):
        raise InvalidInput(f"{field}: values outside the range of {wire.name}")
    with np.errstate(over="ignore"):
        return raw.reshape(shape).astype(wire)


def _requested_outputs(
    outputs: Any, signature: Signature, binary_default: bool
) -> list[RequestedOutput]:
    known = [s.name for s in signature.outputs]
    if outputs is None:
        return [RequestedOutput(name, binary_default) for name in known]
    if not isinstance(outputs, list):
        raise InvalidInput(f"outputs: expected a list, got {short(outputs)}")
    requested = []
    for i, out in enumerate(outputs):
        name = out.get("name") if isinstance(out, dict) else None
        if name not in known:
            raise InvalidInput(
                f"outputs[{i}].name: unknown output {name!r}; expected one of {known}"
            )
        binary = _parameters(out, f"outputs[{i}].parameters").get("binary_data", binary_default)
        requested.append(RequestedOutput(name, bool(binary)))
    return requested


def _parameters(holder: dict[str, Any], field: str) -> dict[str, Any]:
    params = holder.get("parameters", {})
    if not isinstance(params, dict):
        raise InvalidInput(f"{field}: expected an object, got {short(params)}")
    return params


def _is_dim(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
