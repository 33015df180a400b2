"""The data plane: what each inference endpoint does, free of any web framework.

Every transport — the lean ASGI front, the FastAPI routes, the BentoML API —
hands the raw request here and sends back the `Answer` it gets, so a body is
framed, validated, scored and its errors rendered one way only. Rollouts happen
here too, for every transport alike: the version that answers is chosen by
`ModelSet.route` (a canary's share, sticky by the request's key), and what the
alias's version answered is offered to its shadow by `ModelSet.mirror`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from service.runtime.errors import InvalidInput, ServiceError, short
from service.runtime.text import TEXT_INPUT
from service.runtime.text.inputs import texts_from_json
from service.runtime.validation import to_arrays
from service.serving import deadlines, jsonio
from service.serving.errors import NotReady, render_error
from service.serving.models import ModelSet, ServedModel
from service.serving.monitoring import REQUEST_ID_HEADER, texts_array
from service.serving.protocol import (
    InferenceRequest,
    encode_response,
    model_config,
    model_metadata,
    parse_request,
    read_body,
)
from service.serving.protocol.response import JSON, VERSION_HEADER
from service.serving.routing import request_key

log = logging.getLogger("ferry.service")
CONTENT_TYPE = "content-type"
# Bodies and answers larger than this are parsed, converted and written in a worker
# thread, off the event loop (a 256 KB JSON body takes about 1 ms on the loop).
OFFLOAD_BYTES = 256 << 10
T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """A response as every transport sends it (`model`: who answered, for the metrics)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    model: str = ""


async def predict_answer(
    models: ModelSet | None, raw: bytes, request_id: str | None = None, key: str | None = None
) -> Answer:
    """`POST /predict` from its raw body (and the client's `X-Request-ID` and
    `X-Canary-Key`, if any)."""
    try:
        served_by = ready(models)
        rid = request_id_for(served_by, request_id)
        served, payload = await off_loop(len(raw), _typed_from_raw, served_by, raw, key)
        results = await infer_typed(served_by, served, payload, rid)
        body = await off_loop(_size(results), _typed_json, served, results)
    except Exception as err:  # one bad request must never take the server down
        return error_answer(err, "/predict")
    headers = {CONTENT_TYPE: JSON, VERSION_HEADER: served.runtime.version}
    if rid is not None:
        headers[REQUEST_ID_HEADER] = rid
    return Answer(200, body, headers, served.runtime.name)


async def infer_answer(
    models: ModelSet | None,
    name: str,
    version: str | None,
    raw: bytes,
    header: str | None,
    request_id: str | None = None,
    key: str | None = None,
) -> Answer:
    """`POST /v2/models/{name}[/versions/{v}]/infer` from its raw body, the
    `Inference-Header-Content-Length` header (binary extension), `X-Request-ID` and
    `X-Canary-Key`, if any."""
    try:
        served_by = ready(models)
        served, request = await off_loop(
            len(raw), _v2_from_raw, served_by, name, version, raw, header, key
        )
        content, media, headers = await v2_run(served_by, served, request, request_id)
    except Exception as err:
        return error_answer(err, f"/v2/models/{name}/infer")
    return Answer(200, content, {CONTENT_TYPE: media, **headers}, name)


async def off_loop(size: int, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` on the event loop for a small request, in a worker thread for a
    large one: parsing and converting a 50 MB body took seconds, and every other
    request on the loop waited for it (measured: a 1-row request held 3.1 s)."""
    if size <= OFFLOAD_BYTES:
        return work(*args)
    return await asyncio.to_thread(work, *args)


def request_id_for(models: ModelSet, given: str | None) -> str | None:
    """The id of a request the prediction log may record; None (no work) when it is off."""
    monitoring = models.monitoring
    return monitoring.request_id(given) if monitoring is not None else None


def error_answer(err: Exception, where: str) -> Answer:
    """The rendered error; an error that is not a refusal of ours is logged with its trace."""
    rendered = render_error(err)
    if not isinstance(err, ServiceError) and rendered.status >= 500:
        log.exception("%s failed", where, exc_info=err)
    return Answer(rendered.status, rendered.body, {CONTENT_TYPE: JSON, **rendered.headers})


def ready(models: ModelSet | None) -> ModelSet:
    if models is None:
        raise NotReady("the service is still loading its models")
    return models


async def predict(
    models: ModelSet,
    model: str | None,
    inputs: Any,
    texts: Any = None,
    request_id: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """The typed endpoint: `{"model": ..., "inputs": {name: nested list}}`.

    Text models also take `{"texts": [...]}` (the same as `{"inputs": {"text": [...]}}`).
    With a `request_id`, the answered request goes to the prediction log; `key` routes
    it when the model has a canary.
    """
    served, payload = typed_inputs(models, model, inputs, texts, key)
    return typed_response(served, await infer_typed(models, served, payload, request_id))


Payload = dict[str, np.ndarray] | list[str]  # a tensor model's arrays, or a text model's texts


def typed_request(
    models: ModelSet, body: Any, key: str | None = None
) -> tuple[ServedModel, Payload]:
    """The served model and validated inputs of a typed body, `{"inputs": {name: nested
    list}, "model": name?}` or `{"texts": [...], "model": name?}` (no I/O: may run in a
    thread)."""
    if not isinstance(body, dict):
        raise InvalidInput(f"request body: expected a JSON object, got {type(body).__name__}")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidInput(f"model: expected a model name, got {short(model)}")
    return typed_inputs(models, model, body.get("inputs"), body.get("texts"), key)


def typed_inputs(
    models: ModelSet, model: str | None, inputs: Any, texts: Any, key: str | None = None
) -> tuple[ServedModel, Payload]:
    """The version that answers (a canary's share routed by `key`) and validated inputs."""
    served = models.route(model, None, request_key(key))
    max_rows = models.batching.max_rows_per_request
    if served.runtime.text is not None:
        return served, text_payload(served, inputs, texts, max_rows)
    if texts is not None:
        names = [spec.name for spec in served.runtime.signature.inputs]
        raise InvalidInput(
            f"texts: model {served.runtime.name!r} takes tensors {names}, not texts; send inputs"
        )
    if not isinstance(inputs, dict):
        raise InvalidInput(
            f"inputs: expected an object of named tensors, got {type(inputs).__name__}"
        )
    return served, to_arrays(inputs, served.runtime.signature, max_rows)


async def infer_typed(
    models: ModelSet, served: ServedModel, payload: Payload, request_id: str | None = None
) -> dict[str, np.ndarray]:
    """A typed request's outputs (offered to the shadow, if the alias has one); with a
    `request_id`, it goes to the prediction log."""
    if isinstance(payload, list):
        results = await served.infer_texts(payload)
        arrays = {TEXT_INPUT: texts_array(payload)} if request_id is not None else {}
    else:
        results = await served.infer(payload)
        arrays = payload
    models.mirror(served, payload, results)
    if request_id is not None and models.monitoring is not None:
        models.monitoring.record(request_id, served.runtime, arrays, results)
    return results


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
    models: ModelSet,
    name: str,
    version: str | None,
    body: Any,
    binary: bytes = b"",
    request_id: str | None = None,
    key: str | None = None,
) -> tuple[bytes, str, dict[str, str]]:
    """V2 inference on a framed body: JSON and binary tensors in and out. The prediction
    log (if on) records it under `request_id`, else the request's `id`, else a new id."""
    served, request = v2_request(models, name, version, body, binary, key)
    return await v2_run(models, served, request, request_id)


async def v2_run(
    models: ModelSet,
    served: ServedModel,
    request: InferenceRequest,
    request_id: str | None = None,
) -> tuple[bytes, str, dict[str, str]]:
    """Score a validated V2 request and encode the answer (a large one off the loop)."""
    results = await _scored(models, served, request)
    content, media, headers = await off_loop(
        _size(results), encode_response, served.runtime, results, request
    )
    rid = record_v2(models, served, request, results, request_id)
    if rid is not None:
        headers = {**headers, REQUEST_ID_HEADER: rid}
    return content, media, headers


def record_v2(
    models: ModelSet,
    served: ServedModel,
    request: InferenceRequest,
    results: dict[str, np.ndarray],
    request_id: str | None = None,
) -> str | None:
    """Hand a V2 request (REST or gRPC) to the prediction log, if it is on; the id it is
    logged under: `request_id`, else the request's `id`, else a new one."""
    if models.monitoring is None:
        return None
    given = request_id or (str(request.id) if request.id is not None else None)
    rid = models.monitoring.request_id(given)
    if rid is not None:
        models.monitoring.record(rid, served.runtime, request.arrays, results)
    return rid


async def v2_results(
    models: ModelSet,
    name: str,
    version: str | None,
    body: Any,
    binary: bytes = b"",
    key: str | None = None,
) -> tuple[ServedModel, InferenceRequest, dict[str, np.ndarray]]:
    """A V2 request (JSON part, binary part) validated and scored: what every V2
    transport (REST, gRPC) encodes its answer from."""
    served, request = v2_request(models, name, version, body, binary, key)
    return served, request, await _scored(models, served, request)


def v2_request(
    models: ModelSet,
    name: str,
    version: str | None,
    body: Any,
    binary: bytes,
    key: str | None = None,
) -> tuple[ServedModel, InferenceRequest]:
    """The version that answers (a canary's share goes by `key`, a header, else the
    request's `id`, else at random) and the validated request (no I/O: may run in a
    thread)."""
    given = body.get("id") if isinstance(body, dict) else None
    served = models.route(name, version, request_key(key, given))
    interface = served.runtime.interface
    return served, parse_request(body, binary, interface, models.batching.max_rows_per_request)


async def _scored(
    models: ModelSet, served: ServedModel, request: InferenceRequest
) -> dict[str, np.ndarray]:
    """The outputs, within the request's `timeout` parameter if it has one (offered to
    the shadow, if the alias has one)."""
    if request.timeout_s is None:  # most requests: no context manager on the hot path
        results = await served.infer(request.arrays)
    else:
        async with deadlines.within(request.timeout_s, "parameters.timeout"):
            results = await served.infer(request.arrays)
    models.mirror(served, request.arrays, results)
    return results


def v2_metadata(models: ModelSet, name: str, version: str | None) -> dict[str, Any]:
    """V2 model metadata of a served model (version)."""
    runtime = models.get(name, version).runtime
    versions = sorted(models.entries[name].versions, key=lambda v: (len(v), v))
    return model_metadata(runtime, versions)


def v2_config(models: ModelSet, name: str, version: str | None) -> dict[str, Any]:
    """The Triton-style configuration of a served model (version)."""
    b = models.batching
    return model_config(models.get(name, version).runtime, b.max_batch_size, b.max_latency_ms)


def v2_model_ready(models: ModelSet, name: str, version: str | None) -> bool:
    """Whether a model (version) serves now, that model alone: False while it loads or
    after it failed to load, an `UnknownModel` for one not served here."""
    ready = models.model_ready(name, version)
    if ready is None:
        models.get(name, version)  # raises UnknownModel naming what is served here
    return bool(ready)


def _typed_from_raw(
    models: ModelSet, raw: bytes, key: str | None = None
) -> tuple[ServedModel, Payload]:
    return typed_request(models, jsonio.loads(raw), key)


def _v2_from_raw(
    models: ModelSet,
    name: str,
    version: str | None,
    raw: bytes,
    header: str | None,
    key: str | None = None,
) -> tuple[ServedModel, InferenceRequest]:
    body, binary = read_body(raw, header)
    return v2_request(models, name, version, body, binary, key)


def _typed_json(served: ServedModel, results: dict[str, np.ndarray]) -> bytes:
    return jsonio.dumps(typed_response(served, results))


def _size(results: dict[str, np.ndarray]) -> int:
    """About the bytes the answer takes as JSON (eight per output value)."""
    return 8 * sum(value.size for value in results.values())
