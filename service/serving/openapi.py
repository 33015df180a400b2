"""One OpenAPI document for the whole service, at `GET /openapi.json`.

BentoML describes its APIs (`/predict`) and probes; FastAPI describes the V2,
status and admin routes, but the inference routes read their raw body (the binary
extension), so FastAPI sees no body to describe. This module gives them their
V2 request schema and merges both descriptions into one document, which
schemathesis (and any client generator) can use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

Datatype = Literal[
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
]


class RequestTensor(BaseModel):
    """One input tensor: `data` as JSON (flat or nested, row-major), or its bytes after
    the JSON part (`parameters.binary_data_size`, the binary tensor data extension)."""

    name: str
    shape: list[int] = Field(description="dimensions, the batch (rows) first")
    datatype: Datatype
    parameters: dict[str, Any] | None = Field(
        default=None, description="`binary_data_size`: bytes of this tensor in the binary part"
    )
    data: list[Any] | None = None


class RequestedOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = Field(
        default=None, description="`binary_data`: true to receive this output as bytes"
    )


class InferenceRequest(BaseModel):
    """Open Inference Protocol V2 inference request."""

    id: str | None = Field(default=None, description="echoed in the answer")
    parameters: dict[str, Any] | None = Field(
        default=None,
        description="`binary_data_output` (true/false); `timeout`: microseconds the request "
        "may take (what tritonclient sends), past which it is answered 504 unrun",
    )
    inputs: list[RequestTensor] = Field(min_length=1)
    outputs: list[RequestedOutput] | None = None


class ResponseTensor(BaseModel):
    name: str
    shape: list[int]
    datatype: Datatype
    parameters: dict[str, Any] | None = None
    data: list[Any] | None = None


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | int | None = None
    outputs: list[ResponseTensor]


class ErrorBody(BaseModel):
    """Every refusal: the field and the bad value, named."""

    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "a request that cannot be scored"},
    404: {"model": ErrorBody, "description": "no such model or version here"},
    408: {"model": ErrorBody, "description": "the body did not arrive in time"},
    413: {"model": ErrorBody, "description": "a body larger than the bound"},
    429: {"model": ErrorBody, "description": "the model's queue is full; retry after"},
    503: {"model": ErrorBody, "description": "the model is loading or failed to load"},
    504: {"model": ErrorBody, "description": "not answered within the request's deadline"},
}
INFER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/InferenceRequest"}},
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
                "description": "the JSON request followed by the binary tensors; the JSON "
                "part's length in the Inference-Header-Content-Length header",
            },
        },
    }
}
_MODELS = (InferenceRequest, RequestTensor, RequestedOutput)


def install(app: FastAPI, bentoml_spec: Callable[[], dict[str, Any]]) -> None:
    """Serve the merged document at the app's `openapi_url`, built once when first asked."""
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cache:
            cache.update(document(app, bentoml_spec()))
        return cache

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI, bentoml: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's description of the routes, corrected, plus BentoML's APIs and probes."""
    doc = get_openapi(title="ferry", version=app.version, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in _MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for item in doc["paths"].values():
        for operation in item.values():
            # one function serves `/v2/models/{name}` and `.../versions/{version}`:
            # FastAPI would list `version` as a query parameter of the first
            operation["parameters"] = [
                p
                for p in operation.get("parameters", [])
                if not (p["in"] == "query" and p["name"] == "version")
            ]
            operation.get("responses", {}).pop("422", None)  # refusals are 400s here
    for path, item in bentoml.get("paths", {}).items():
        doc["paths"].setdefault(path, item)
    for name, schema in bentoml.get("components", {}).get("schemas", {}).items():
        schemas.setdefault(name, schema)
    return doc
