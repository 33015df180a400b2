"""HTTP routes beside BentoML's own: Open Inference Protocol V2 and ferry's status.

The app is plain FastAPI so it can be tested without a BentoML server; the
BentoML service mounts it and puts its `ModelSet` into `app.state.models`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from export.errors import ExportError
from service import handlers
from service.errors import InvalidInput, ServiceError
from service.models import ModelSet
from service.protocol import model_metadata

VERSION_HEADER = "X-Model-Version"


def build_app() -> FastAPI:
    app = FastAPI(title="ferry", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(ExportError, _export_error)
    app.add_exception_handler(RequestValidationError, _validation_error)

    @app.get("/v2/health/live")
    async def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready(request: Request) -> Response:
        ok = _models(request).ready()
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    @app.get("/v2/models/{name}")
    async def metadata(name: str, request: Request) -> Response:
        runtime = _models(request).get(name).runtime
        return JSONResponse(model_metadata(runtime), headers={VERSION_HEADER: runtime.version})

    @app.get("/v2/models/{name}/ready")
    async def model_ready(name: str, request: Request) -> Response:
        models = _models(request)
        ok = name in models.models
        if not ok and name not in models.errors:
            models.get(name)  # raises 404 for a model not served here
        return JSONResponse({"name": name, "ready": ok}, status_code=200 if ok else 503)

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: Request) -> Response:
        body = await read_json(request)
        result = await handlers.v2_infer(_models(request), name, body)
        return JSONResponse(result, headers={VERSION_HEADER: result["model_version"]})

    @app.get("/status")
    async def status(request: Request) -> dict[str, Any]:
        return _models(request).status()

    return app


async def read_json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        snippet = raw[:40].decode("utf-8", "replace")
        raise InvalidInput(f"request body: malformed JSON ({err}) near {snippet!r}") from err


def error_response(err: ServiceError | ExportError) -> JSONResponse:
    headers = getattr(err, "headers", None) or None
    return JSONResponse({"error": str(err)}, status_code=int(err.status), headers=headers)


def _models(request: Request) -> ModelSet:
    models: ModelSet = request.app.state.models
    return models


async def _service_error(_: Request, err: Exception) -> Response:
    assert isinstance(err, ServiceError)
    return error_response(err)


async def _export_error(_: Request, err: Exception) -> Response:
    assert isinstance(err, ExportError)
    return error_response(err)


async def _validation_error(_: Request, err: Exception) -> Response:
    assert isinstance(err, RequestValidationError)
    first = err.errors()[0] if err.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return JSONResponse(
        {"error": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=400
    )
