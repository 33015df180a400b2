"""Open Inference Protocol V2 (KServe / Triton) over REST, exact to the spec.

JSON tensors and the binary tensor data extension (what tritonclient sends by
default). Field names follow the spec: `model_name`, `model_version`, `id`,
`parameters`, `inputs[]/outputs[]` with `name`, `shape`, `datatype`, `data`.
Part of serving: imports the runtime (validation) and the export contract.
"""

from service.serving.protocol.binary import HEADER, read_body
from service.serving.protocol.metadata import (
    PLATFORM,
    model_config,
    model_metadata,
    server_metadata,
)
from service.serving.protocol.request import InferenceRequest, parse_request
from service.serving.protocol.response import encode_response

__all__ = [
    "HEADER",
    "PLATFORM",
    "InferenceRequest",
    "encode_response",
    "model_config",
    "model_metadata",
    "parse_request",
    "read_body",
    "server_metadata",
]
