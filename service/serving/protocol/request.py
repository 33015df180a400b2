"""Parse and validate an inference request into arrays the model accepts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from export.signature import Signature, TensorSpec, numpy_dtype
from service.runtime.errors import InvalidInput, short
from service.runtime.validation import check_rows, conform, numeric_array
from service.serving.protocol.binary import Chunks, decode
from service.serving.protocol.strings import parse_bytes_tensor

MAX_DIM = 1 << 24  # a dynamic axis (a sequence, say) longer than this is a mistake or an attack


@dataclass(frozen=True)
class RequestedOutput:
    name: str
    binary: bool


@dataclass(frozen=True)
class InferenceRequest:
    arrays: dict[str, np.ndarray]
    outputs: list[RequestedOutput]
    id: Any = None
    timeout_s: float | None = None  # from `parameters.timeout` (microseconds; 0: none)


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
        name, array = _parse_tensor(tensor, f"inputs[{i}]", signature, chunks, max_rows)
        if name in arrays:
            raise InvalidInput(f"inputs[{i}].name: input {short(name)} given twice")
        arrays[name] = array
    chunks.finish()
    missing = [s.name for s in signature.inputs if s.name not in arrays]
    if missing:
        raise InvalidInput(f"inputs: missing input {missing[0]!r}")
    check_rows(arrays, max_rows, "inputs")
    parameters = _parameters(body, "parameters")
    binary_default = _flag(parameters, "binary_data_output", "parameters")
    outputs = _requested_outputs(body.get("outputs"), signature, binary_default)
    timeout_s = _timeout(parameters.get("timeout"), "parameters.timeout")
    return InferenceRequest(arrays, outputs, _request_id(body), timeout_s)


def _timeout(value: Any, field: str) -> float | None:
    """Triton clients' `timeout`: microseconds the server may take (0 or absent: no limit)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{field}: expected microseconds (an integer >= 0), got {short(value)}")
    return value / 1e6 if value else None


def _request_id(body: dict[str, Any]) -> Any:
    """The `id` to echo: a string (the spec's type) or an integer that JSON held exactly.

    orjson reads an integer beyond 64 bits as a float, which would come back rounded.
    """
    value = body.get("id")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**64:
        return value
    raise InvalidInput(f"id: expected a string, got {short(value)}")


def _flag(holder: dict[str, Any], key: str, field: str, default: bool = False) -> bool:
    """A boolean parameter: JSON true or false, nothing that merely looks like one."""
    value = holder.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{field}.{key}: expected true or false, got {short(value)}")
    return value


def _parse_tensor(
    tensor: Any, field: str, signature: Signature, chunks: Chunks, max_rows: int
) -> tuple[str, np.ndarray]:
    if not isinstance(tensor, dict):
        raise InvalidInput(f"{field}: expected a tensor object, got {short(tensor)}")
    name = tensor.get("name")
    known = [s.name for s in signature.inputs]
    if name not in known:
        raise InvalidInput(f"{field}.name: unknown input {short(name)}; expected one of {known}")
    spec = signature.input(name)
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(_is_dim(d) for d in shape):
        raise InvalidInput(
            f"{field}.shape: expected a list of non-negative integers, got {short(shape)}"
        )
    _check_rows(shape, max_rows, f"{field}.shape")
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
    check_shape(shape, spec, f"{field}.shape")
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
                f"outputs[{i}].name: unknown output {short(name)}; expected one of {known}"
            )
        params = _parameters(out, f"outputs[{i}].parameters")
        binary = _flag(params, "binary_data", f"outputs[{i}].parameters", binary_default)
        requested.append(RequestedOutput(name, binary))
    return requested


def _parameters(holder: dict[str, Any], field: str) -> dict[str, Any]:
    params = holder.get("parameters", {})
    if not isinstance(params, dict):
        raise InvalidInput(f"{field}: expected an object, got {short(params)}")
    return params


def _is_dim(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_rows(shape: list[int], max_rows: int, field: str) -> None:
    """Refuse by the declared batch size, before any data is decoded."""
    if shape and shape[0] > max_rows:
        raise InvalidInput(f"{field}: {shape[0]} rows exceed the limit of {max_rows} per request")


def check_shape(shape: list[int], spec: TensorSpec, field: str) -> None:
    """A declared shape the input can take (batch axis first, or one row without it),
    checked before decoding, so no size a client names reaches numpy unchecked."""
    want = spec.shape
    if len(shape) == len(want):
        rest, wanted = shape[1:], want[1:]
        if shape[0] == 0:
            raise InvalidInput(f"{field}: empty batch; send at least one row")
    elif len(shape) == len(want) - 1 and shape:
        rest, wanted = shape, want[1:]
    else:
        raise InvalidInput(f"{field}: expected shape {list(want)} (-1 = any), got {short(shape)}")
    for got, need in zip(rest, wanted, strict=True):
        if need not in (-1, got) or not 0 < got <= MAX_DIM:
            raise InvalidInput(
                f"{field}: expected shape {list(want)} (-1 = any), got {short(shape)}"
            )
