"""gRPC tensors to and from the V2 request shape that `parse_request` validates.

An inference request becomes the JSON part and binary part a REST request with the
binary extension would have, so both are validated, scored and named in errors
alike; outputs are the same raw little-endian bytes the REST binary answer holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from service.runtime import ModelRuntime
from service.runtime.errors import InvalidInput
from service.serving.grpc.stubs import service_pb2
from service.serving.protocol import InferenceRequest
from service.serving.protocol.binary import encode
from service.serving.protocol.strings import encode_strings

#: The typed `contents` field of each datatype (FP16 and BF16 have none: raw only).
CONTENTS = {
    "BOOL": "bool_contents",
    **dict.fromkeys(("INT8", "INT16", "INT32"), "int_contents"),
    "INT64": "int64_contents",
    **dict.fromkeys(("UINT8", "UINT16", "UINT32"), "uint_contents"),
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def v2_body(request: Any) -> tuple[dict[str, Any], bytes]:
    """A `ModelInferRequest` as (V2 JSON part, binary part)."""
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise InvalidInput(
            f"raw_input_contents: {len(raw)} entries for {len(request.inputs)} inputs; "
            "send one per input, in order"
        )
    inputs = []
    for i, tensor in enumerate(request.inputs):
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": list(tensor.shape),
        }
        if raw:
            entry["parameters"] = {"binary_data_size": len(raw[i])}
        else:
            entry["data"] = typed_contents(tensor, f"inputs[{i}]")
        inputs.append(entry)
    body: dict[str, Any] = {"inputs": inputs}
    if request.outputs:  # none listed means every output, as in REST
        body["outputs"] = [{"name": out.name} for out in request.outputs]
    if request.id:
        body["id"] = request.id
    return body, b"".join(raw)


def typed_contents(tensor: Any, field: str) -> list[Any]:
    """The values of a tensor sent in its typed `contents` field."""
    name = CONTENTS.get(tensor.datatype)
    if name is None:
        raise InvalidInput(
            f"{field}.contents: datatype {tensor.datatype!r} has no typed contents; "
            "send it in raw_input_contents"
        )
    values = list(getattr(tensor.contents, name))
    if tensor.datatype != "BYTES":
        return values
    try:
        return [value.decode("utf-8") for value in values]
    except UnicodeDecodeError as err:
        raise InvalidInput(f"{field}.contents.bytes_contents: not valid UTF-8 ({err})") from err


def infer_response(
    runtime: ModelRuntime, results: dict[str, np.ndarray], request: InferenceRequest
) -> Any:
    """A `ModelInferResponse` with every requested output in `raw_output_contents`."""
    response = service_pb2.ModelInferResponse(
        model_name=runtime.name,
        model_version=runtime.version,
        id=str(request.id) if request.id is not None else "",
    )
    for wanted in request.outputs:
        value = results[wanted.name]
        datatype = runtime.signature.output(wanted.name).datatype
        response.outputs.add(name=wanted.name, datatype=datatype, shape=list(value.shape))
        response.raw_output_contents.append(raw_bytes(value, datatype))
    return response


def raw_bytes(value: np.ndarray, datatype: str) -> bytes:
    """A tensor as raw contents: little-endian values, or length-prefixed strings."""
    if datatype == "BYTES":
        return encode_strings([str(v) for v in value.ravel()])
    return encode(value)
