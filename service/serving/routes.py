"""HTTP routes beside BentoML's own: Open Inference Protocol V2, OpenAI embeddings, model
cards and ferry's status.

The app is plain FastAPI so it can be tested without a BentoML server; the
BentoML service mounts it and puts its `ModelSet` into `app.state.models`.
Every model path also exists under `/versions/{version}`.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from export.errors import ExportError
from service.runtime.errors import InvalidInput, ServiceError
from service.serving import handlers
from service.serving.cards import card_html
from service.serving.errors import Forbidden, NotFound
from service.serving.models import ModelSet
from service.serving.monitoring import REQUEST_ID_HEADER
from service.serving.openai import embeddings_answer, model_answer, models_answer
from service.serving.openapi import ERRORS, INFER_BODY, InferenceResponse
from service.serving.protocol import HEADER, server_metadata
from service.serving.protocol.response import VERSION_HEADER
from service.serving.refresh import Refresher
from service.serving.routing import KEY_HEADER
from service.serving.shadow import shadow_body

ADMIN_WAIT_S = 30.0  # an admin refresh waits this long for one already running
MODEL = "/v2/models/{name}"
VERSION = "/v2/models/{name}/versions/{version}"


def build_app() -> FastAPI:
    # the document (with BentoML's APIs merged in by the service) is at /openapi.json
    app = FastAPI(title="ferry", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.add_exception_handler(ServiceError, _error)
    app.add_exception_handler(ExportError, _error)
    app.add_exception_handler(RequestValidationError, _validation_error)

    @app.get("/v2")
    async def server() -> dict[str, Any]:
        return server_metadata()

    @app.get("/v2/health/live")
    async def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready(request: Request) -> Response:
        ok = _models(request).ready()
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    @app.get(MODEL, responses=ERRORS)
    @app.get(VERSION, responses=ERRORS)
    async def metadata(request: Request, name: str, version: str | None = None) -> Response:
        meta = handlers.v2_metadata(_models(request), name, version)
        return JSONResponse(meta, headers={VERSION_HEADER: meta["parameters"]["version"]})

    @app.get(MODEL + "/ready", responses=ERRORS)
    @app.get(VERSION + "/ready", responses=ERRORS)
    async def model_ready(request: Request, name: str, version: str | None = None) -> Response:
        models = _models(request)
        # an UnknownModel (404) for a model or version not served here
        ok = handlers.v2_model_ready(models, name, version)
        body: dict[str, Any] = {"name": name, "ready": ok}
        if not ok:
            body["reason"] = models.errors.get(name, "still loading")
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get(MODEL + "/config", responses=ERRORS)
    @app.get(VERSION + "/config", responses=ERRORS)
    async def config(request: Request, name: str, version: str | None = None) -> dict[str, Any]:
        return handlers.v2_config(_models(request), name, version)

    @app.get(MODEL + "/card")
    @app.get(VERSION + "/card")
    async def card(request: Request, name: str, version: str | None = None) -> Response:
        models = _models(request)
        runtime = models.get(name, version).runtime  # 404 for a model or version not served
        # registry reads are file (or object store) I/O: off the event loop
        html = await asyncio.to_thread(card_html, models.registry, runtime.manifest)
        return HTMLResponse(html, headers={VERSION_HEADER: runtime.version})

    @app.post(
        MODEL + "/infer",
        response_model=InferenceResponse,
        responses=ERRORS,
        openapi_extra=INFER_BODY,
    )
    @app.post(
        VERSION + "/infer",
        response_model=InferenceResponse,
        responses=ERRORS,
        openapi_extra=INFER_BODY,
    )
    async def infer(request: Request, name: str, version: str | None = None) -> Response:
        raw = await request.body()
        models = getattr(request.app.state, "models", None)
        answer = await handlers.infer_answer(
            models,
            name,
            version,
            raw,
            request.headers.get(HEADER),
            request.headers.get(REQUEST_ID_HEADER),
            request.headers.get(KEY_HEADER),
        )
        return to_response(answer)

    @app.get("/v1/models")
    async def openai_models(request: Request) -> Response:
        return to_response(models_answer(getattr(request.app.state, "models", None)))

    @app.get("/v1/models/{name}")
    async def openai_model(request: Request, name: str) -> Response:
        return to_response(model_answer(getattr(request.app.state, "models", None), name))

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        raw = await request.body()
        models = getattr(request.app.state, "models", None)
        answer = await embeddings_answer(models, raw, request.headers.get(KEY_HEADER))
        return to_response(answer)

    @app.get(MODEL + "/drift")
    @app.get(VERSION + "/drift")
    async def drift(request: Request, name: str, version: str | None = None) -> Response:
        models = _models(request)
        runtime = models.get(name, version).runtime  # 404 for a model or version not served
        if models.monitoring is None:
            raise NotFound("drift monitoring is off in this service")
        # the report sorts the window's rows: off the event loop
        body = await asyncio.to_thread(models.monitoring.report, name, runtime.version)
        return JSONResponse(body, headers={VERSION_HEADER: runtime.version})

    @app.get(MODEL + "/shadow")
    async def shadow(request: Request, name: str) -> Response:
        models = _models(request)
        entry = models.entry(name)  # 404 for a model not served here
        registry = models.registry if models.shadowing.persist is not None else None
        body = await asyncio.to_thread(  # the registry's documents: off the event loop
            shadow_body,
            models.shadowing,
            registry,
            name,
            models.registry_settings.alias,
            entry.default.runtime.version,
            entry.rollout,
        )
        return JSONResponse(body)

    @app.get("/status")
    async def status(request: Request) -> dict[str, Any]:
        refresher: Refresher | None = getattr(request.app.state, "refresher", None)
        refresh = refresher.status() if refresher else None
        models = _models(request)
        watched = models.monitoring.status() if models.monitoring else None
        return {**models.status(), "refresh": refresh, "monitoring": watched}

    @app.post(
        "/admin/refresh",
        responses={
            403: ERRORS[400] | {"description": "wrong token"},
            404: ERRORS[404],
            503: ERRORS[503],
        },
    )
    async def refresh(request: Request) -> Response:
        refresher: Refresher = request.app.state.refresher
        check_token(request.headers.get("Authorization"), request.app.state.admin_token)
        results = await refresher.refresh(retry_failed=True, wait_s=ADMIN_WAIT_S)
        body = {"results": [asdict(r) for r in results], **refresher.status()}
        store = refresher.models.store
        if store.error is None:
            return JSONResponse(body)
        # the registry could not be read: what is loaded keeps serving; say why
        return JSONResponse({"error": store.error, **body}, status_code=503)

    return app


def check_token(authorization: str | None, token: str) -> None:
    """Admin calls need `Authorization: Bearer <FERRY_ADMIN_TOKEN>`; no token set, no endpoint."""
    if not token:
        raise NotFound("admin endpoints are disabled: set FERRY_ADMIN_TOKEN to enable them")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise Forbidden("Authorization: expected 'Bearer <admin token>'")


def to_response(answer: handlers.Answer) -> Response:
    """A data-plane answer as a Starlette response (FastAPI routes, the BentoML API)."""
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


def _models(request: Request) -> ModelSet:
    models: ModelSet = request.app.state.models
    return models


async def _error(_: Request, err: Exception) -> Response:
    return to_response(handlers.error_answer(err, "route"))


async def _validation_error(_: Request, err: Exception) -> Response:
    assert isinstance(err, RequestValidationError)
    first = err.errors()[0] if err.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return to_response(
        handlers.error_answer(
            InvalidInput(f"{where}: {first.get('msg', 'invalid request')}"), "route"
        )
    )
