"""Open Inference Protocol V2 (KServe / Triton) REST messages, JSON tensor form.

Field names follow the spec exactly: `model_name`, `model_version`, `id`,
`parameters`, `inputs[]/outputs[]` with `name`, `shape`, `datatype`, `data`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from export.signature import Signature, TensorSpec, numpy_dtype
from service.errors import InvalidInput
from service.runtime import ModelRuntime
from service.validation import check_rows, conform, first_non_number

PLATFORM = "onnxruntime_onnx"


def tensor_metadata(spec: TensorSpec) -> dict[str, Any]:
    return {"name": spec.name, "datatype": spec.datatype, "shape": list(spec.shape)}


def model_metadata(runtime: ModelRuntime) -> dict[str, Any]:
    """`GET /v2/models/{name}`: built from the manifest, nothing hard-coded."""
    signature = runtime.signature
    return {
        "name": runtime.name,
        "versions": [runtime.version],
        "platform": PLATFORM,
        "inputs": [tensor_metadata(s) for s in signature.inputs],
        "outputs": [tensor_metadata(s) for s in signature.outputs],
        "parameters": {"providers": runtime.providers, "labels": runtime.manifest.labels},
    }


def parse_request(
    body: Any, signature: Signature, max_rows: int
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Validate an inference request; return the input arrays and the output names asked for."""
    if not isinstance(body, dict):
        raise InvalidInput(f"request body: expected a JSON object, got {_short(body)}")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput(f"inputs: expected a non-empty list of tensors, got {_short(inputs)}")
    arrays: dict[str, np.ndarray] = {}
    for i, tensor in enumerate(inputs):
        name, array = _parse_tensor(tensor, f"inputs[{i}]", signature)
        if name in arrays:
            raise InvalidInput(f"inputs[{i}].name: input {name!r} given twice")
        arrays[name] = array
    missing = [s.name for s in signature.inputs if s.name not in arrays]
    if missing:
        raise InvalidInput(f"inputs: missing input {missing[0]!r}")
    check_rows(arrays, max_rows, "inputs")
    return arrays, _requested_outputs(body.get("outputs"), signature)


def _parse_tensor(tensor: Any, field: str, signature: Signature) -> tuple[str, np.ndarray]:
    if not isinstance(tensor, dict):
        raise InvalidInput(f"{field}: expected a tensor object, got {_short(tensor)}")
    name = tensor.get("name")
    known = [s.name for s in signature.inputs]
    if name not in known:
        raise InvalidInput(f"{field}.name: unknown input {name!r}; expected one of {known}")
    spec = signature.input(name)
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise InvalidInput(
            f"{field}.shape: expected a list of non-negative integers, got {_short(shape)}"
        )
    datatype = tensor.get("datatype")
    try:
        wire = np.dtype(numpy_dtype(str(datatype)))
    except ValueError as err:
        raise InvalidInput(f"{field}.datatype: {err}") from err
    if wire.kind not in "biuf":
        raise InvalidInput(
            f"{field}.datatype: {datatype!r} cannot feed input {name!r} ({spec.datatype})"
        )
    if "data" not in tensor:
        raise InvalidInput(f"{field}.data: missing")
    array = _data_array(tensor["data"], wire, shape, f"{field}.data")
    return name, conform(array, spec, f"{field}.data")


def _data_array(data: Any, wire: np.dtype, shape: list[int], field: str) -> np.ndarray:
    try:
        raw = np.asarray(data)
    except ValueError as err:
        raise InvalidInput(f"{field}: rows of different lengths ({err})") from err
    if raw.dtype.kind not in "biuf":
        where, bad = first_non_number(data)
        index = "".join(f"[{i}]" for i in where)
        raise InvalidInput(f"{field}{index}: expected a number, got {bad!r}")
    if (
        raw.dtype.kind == "f"
        and wire.kind in "iub"
        and not np.all(np.isfinite(raw) & (raw == np.round(raw)))
    ):
        raise InvalidInput(f"{field}: non-integer values for datatype {wire.name}")
    if raw.size != math.prod(shape):
        raise InvalidInput(f"{field}: {raw.size} values do not fill shape {shape}")
    try:
        return raw.reshape(shape).astype(wire, copy=False)
    except (OverflowError, ValueError) as err:
        raise InvalidInput(f"{field}: values do not fit {wire.name} ({err})") from err


def _requested_outputs(outputs: Any, signature: Signature) -> list[str]:
    known = [s.name for s in signature.outputs]
    if outputs is None:
        return known
    if not isinstance(outputs, list):
        raise InvalidInput(f"outputs: expected a list, got {_short(outputs)}")
    names = []
    for i, out in enumerate(outputs):
        name = out.get("name") if isinstance(out, dict) else None
        if name not in known:
            raise InvalidInput(
                f"outputs[{i}].name: unknown output {name!r}; expected one of {known}"
            )
        names.append(name)
    return names


def build_response(
    runtime: ModelRuntime, results: dict[str, np.ndarray], names: list[str], request: dict[str, Any]
) -> dict[str, Any]:
    response: dict[str, Any] = {"model_name": runtime.name, "model_version": runtime.version}
    if "id" in request:
        response["id"] = request["id"]
    response["outputs"] = [
        {
            "name": name,
            "datatype": runtime.signature.output(name).datatype,
            "shape": list(results[name].shape),
            "data": results[name].ravel().tolist(),
        }
        for name in names
    ]
    return response


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
