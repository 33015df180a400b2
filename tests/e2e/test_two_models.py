"""Two models in one service: concurrent mixed traffic, each answer checked against ORT."""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

import aiohttp
import numpy as np
import onnxruntime as ort
import pytest
from sklearn.datasets import load_breast_cancer, load_digits

from export.registry import Artifact, Registry

pytestmark = pytest.mark.slow
HEADER = "Inference-Header-Content-Length"


def direct(registry: Registry, model: str, x: np.ndarray) -> tuple[str, np.ndarray]:
    artifact = registry.get(f"{model}@production")
    session = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])
    name = artifact.manifest.signature.inputs[0].name
    out: np.ndarray = session.run(None, {name: x})[0]
    return name, out


def requests(registry: Registry) -> list[tuple[str, dict[str, str], bytes, np.ndarray, str]]:
    tabular = load_breast_cancer().data.astype(np.float32)
    digits = load_digits().images.astype(np.float32)[:, None]
    made = []
    for i in range(160):
        model, data = ("tabular", tabular) if i % 2 else ("digits", digits)
        x = data[i : i + 1 + i % 3]
        name, want = direct(registry, model, x)
        kind = i % 4
        if kind < 2:  # typed JSON
            body = json.dumps({"model": model, "inputs": {name: x.tolist()}}).encode()
            made.append(("/predict", {"Content-Type": "application/json"}, body, want, "typed"))
        elif kind == 2:  # V2 JSON
            tensor = {
                "name": name,
                "shape": list(x.shape),
                "datatype": "FP32",
                "data": x.ravel().tolist(),
            }
            body = json.dumps({"inputs": [tensor]}).encode()
            made.append((f"/v2/models/{model}/infer", {}, body, want, "v2"))
        else:  # V2 binary in and out
            raw = x.tobytes()
            tensor = {
                "name": name,
                "shape": list(x.shape),
                "datatype": "FP32",
                "parameters": {"binary_data_size": len(raw)},
            }
            header = json.dumps(
                {"inputs": [tensor], "parameters": {"binary_data_output": True}}
            ).encode()
            made.append(
                (
                    f"/v2/models/{model}/infer",
                    {HEADER: str(len(header))},
                    header + raw,
                    want,
                    "binary",
                )
            )
    return made


def decode(kind: str, headers: Any, body: bytes) -> np.ndarray:
    if kind == "typed":
        return np.asarray(json.loads(body)["outputs"]["probabilities"])
    if kind == "v2":
        return np.asarray(json.loads(body)["outputs"][0]["data"])
    n = int(headers[HEADER])
    count = json.loads(body[:n])["outputs"][0]["parameters"]["binary_data_size"] // 4
    return np.asarray(struct.unpack(f"<{count}f", body[n:]))


async def _send(url: str, made: list[Any]) -> list[tuple[int, Any, bytes]]:
    limit = asyncio.Semaphore(32)
    async with aiohttp.ClientSession() as session:

        async def one(path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, bytes]:
            async with limit, session.post(url + path, data=body, headers=headers) as response:
                return response.status, response.headers, await response.read()

        return await asyncio.gather(*(one(p, h, b) for p, h, b, _, _ in made))


def test_mixed_traffic_to_both_models(
    service_url: str, trained_registry: tuple[Registry, Artifact]
) -> None:
    registry, _ = trained_registry
    made = requests(registry)
    answers = asyncio.run(_send(service_url, made))
    for (_, _, _, want, kind), (status, headers, body) in zip(made, answers, strict=True):
        assert status == 200, body[:300]
        np.testing.assert_allclose(decode(kind, headers, body).reshape(want.shape), want, atol=1e-6)


def test_versions_and_readiness_of_both(
    service_url: str, trained_registry: tuple[Registry, Artifact]
) -> None:
    import httpx

    registry, _ = trained_registry
    for model in ("tabular", "digits"):
        version = registry.aliases(model)["production"]
        assert httpx.get(f"{service_url}/v2/models/{model}/versions/{version}/ready").json()[
            "ready"
        ]
        meta = httpx.get(f"{service_url}/v2/models/{model}/versions/{version}").json()
        assert meta["versions"] == [version]
        assert httpx.get(f"{service_url}/v2/models/{model}/versions/99").status_code == 404
