"""What a user writes by hand: FastAPI + one ONNX Runtime session, one `run()` per request.

FERRY_REGISTRY=registry FERRY_PEER_MODEL=tabular uvicorn loadtests.peers.fastapi_peer:app
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI

from export.registry import Registry

artifact = Registry(os.environ.get("FERRY_REGISTRY", "registry")).get(
    f"{os.environ.get('FERRY_PEER_MODEL', 'tabular')}@production"
)
options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(
    str(artifact.model_path),
    options,
    providers=os.environ.get("FERRY_PROVIDERS", "CPUExecutionProvider").split(","),
)
dtypes = {s.name: s.dtype for s in artifact.manifest.signature.inputs}
app = FastAPI()


@app.get("/readyz")
async def readyz() -> dict[str, Any]:
    return {"ready": True, "providers": session.get_providers()}


@app.post("/predict")
async def predict(body: dict[str, Any]) -> dict[str, Any]:
    feeds = {name: np.asarray(value, dtype=dtypes[name]) for name, value in body["inputs"].items()}
    outputs = session.run(None, feeds)
    names = [o.name for o in session.get_outputs()]
    return {
        "model_version": artifact.manifest.version,
        "outputs": {n: o.tolist() for n, o in zip(names, outputs, strict=True)},
    }
