"""`inference.GRPCInferenceService`: each call through the data plane REST uses."""

from __future__ import annotations

import asyncio
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeAlias

from google.protobuf import json_format

from service.serving import handlers
from service.serving.errors import DeadlineExceeded
from service.serving.front import OnRequest
from service.serving.grpc.status import abort, failed
from service.serving.grpc.stubs import model_config_pb2, service_pb2, service_pb2_grpc
from service.serving.grpc.tensors import infer_response, v2_body
from service.serving.handlers import Answer
from service.serving.models import ModelSet
from service.serving.protocol import server_metadata
from service.serving.protocol.response import VERSION_HEADER
from service.serving.routing import KEY_HEADER
from service.serving.tracing import Tracing

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type hints
INFER = "grpc:ModelInfer"  # the endpoint label of ferry_request_seconds
SPAN = "inference.GRPCInferenceService/ModelInfer"
KEY = KEY_HEADER.lower()  # the canary key, as metadata


class InferenceServicer(service_pb2_grpc.GRPCInferenceServiceServicer):
    """Answers from `state.models` (None while loading), like the HTTP front.

    `timeout_s` bounds every inference call, and a client's deadline, when shorter,
    bounds it too; a call past it ends with DEADLINE_EXCEEDED and its request leaves
    the queue.
    """

    def __init__(
        self,
        state: Any,
        timeout_s: float,
        on_request: OnRequest | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.state = state
        self.timeout_s = timeout_s
        self.on_request = on_request
        self.tracing = tracing

    @property
    def models(self) -> ModelSet | None:
        return getattr(self.state, "models", None)

    async def ServerLive(self, request: Any, context: Context) -> Any:
        return service_pb2.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: Context) -> Any:
        models = self.models
        return service_pb2.ServerReadyResponse(ready=models is not None and models.ready())

    async def ModelReady(self, request: Any, context: Context) -> Any:
        try:
            ok = handlers.v2_model_ready(
                handlers.ready(self.models), request.name, _v(request.version)
            )
        except Exception as err:
            await abort(context, err, failed(err, "ModelReady"))
        return service_pb2.ModelReadyResponse(ready=ok)

    async def ServerMetadata(self, request: Any, context: Context) -> Any:
        return service_pb2.ServerMetadataResponse(**server_metadata())

    async def ModelMetadata(self, request: Any, context: Context) -> Any:
        try:
            meta = handlers.v2_metadata(
                handlers.ready(self.models), request.name, _v(request.version)
            )
        except Exception as err:
            await abort(context, err, failed(err, "ModelMetadata"))
        tensors = service_pb2.ModelMetadataResponse.TensorMetadata
        return service_pb2.ModelMetadataResponse(
            name=meta["name"],
            versions=meta["versions"],
            platform=meta["platform"],
            inputs=[tensors(**t) for t in meta["inputs"]],
            outputs=[tensors(**t) for t in meta["outputs"]],
        )

    async def ModelConfig(self, request: Any, context: Context) -> Any:
        try:
            config = handlers.v2_config(
                handlers.ready(self.models), request.name, _v(request.version)
            )
        except Exception as err:
            await abort(context, err, failed(err, "ModelConfig"))
        parsed = json_format.ParseDict(config, model_config_pb2.ModelConfig())
        return service_pb2.ModelConfigResponse(config=parsed)

    async def ModelInfer(self, request: Any, context: Context) -> Any:
        started = time.perf_counter()
        try:
            with self._span(request, context):
                response, answer = await self._infer(request, context)
        except Exception as err:
            answer = failed(err, INFER)
            self._observe(answer, started)
            await abort(context, err, answer)
        self._observe(answer, started)
        return response

    async def _infer(self, request: Any, context: Context) -> tuple[Any, Answer]:
        remaining = context.time_remaining()
        limit = self.timeout_s if remaining is None else min(remaining, self.timeout_s)
        try:
            async with asyncio.timeout(limit):
                body, binary = v2_body(request)
                models = handlers.ready(self.models)
                served, parsed, results = await handlers.v2_results(
                    models,
                    request.model_name,
                    _v(request.model_version),
                    body,
                    binary,
                    _metadata(context, KEY),
                )
        except TimeoutError as err:
            raise DeadlineExceeded(f"not answered within {limit:.3g} s") from err
        handlers.record_v2(models, served, parsed, results)  # the prediction log, if on
        runtime = served.runtime
        answer = Answer(200, b"", {VERSION_HEADER: runtime.version}, runtime.name)
        return infer_response(runtime, results, parsed), answer

    def _span(self, request: Any, context: Context) -> AbstractContextManager[object]:
        if self.tracing is None:
            return nullcontext()
        carrier = {m.key: m.value for m in context.invocation_metadata() or () if _text(m.value)}
        about = {"rpc.system": "grpc", "ferry.model": request.model_name}
        return self.tracing.request(SPAN, carrier, about)

    def _observe(self, answer: Answer, started: float) -> None:
        if self.on_request is not None:
            self.on_request(INFER, answer, time.perf_counter() - started)


def _metadata(context: Context, key: str) -> str | None:
    """A text value of the call's metadata (gRPC keys are lower case)."""
    for item in context.invocation_metadata() or ():
        if item.key == key and _text(item.value):
            return str(item.value)
    return None


def _v(version: str) -> str | None:
    """The version asked for; empty means the model's default, as in Triton."""
    return version or None


def _text(value: object) -> bool:
    return isinstance(value, str)
