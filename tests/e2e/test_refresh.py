"""Alias moves under load: the real service follows them without failing a request.

Versions are `publish_linear` models (version v has seed v - 1), so every answer is
checked against numpy for the version it names.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import pytest

from export.registry import Registry
from loadtests.servers import running_service
from tests.support.onnx_models import linear_softmax, publish_linear, reference

pytestmark = pytest.mark.slow
TOKEN = "test-admin-token"
ROW = np.random.default_rng(0).normal(size=30).round(3).tolist()
Entry = tuple[float, float, int, str, list[float]]  # start, end, status, version, outputs
ANSWERS = 40  # answers awaited before the first move and after each


def want(version: str, rows: list[list[float]] | None = None) -> np.ndarray:
    """What version `version` (seed version - 1) answers, from its weights, in numpy."""
    _, w, b = linear_softmax(30, 2, int(version) - 1)
    return reference(np.float32(rows or [ROW]), w, b)


def outputs(payload: dict[str, Any]) -> list[float]:
    if "outputs" not in payload:
        return []
    out = payload["outputs"]
    return list(out["probabilities"][0]) if isinstance(out, dict) else list(out[0]["data"])


async def _traffic(url: str, stop: asyncio.Event, log: list[Entry]) -> None:
    typed = {"model": "tabular", "inputs": {"features": [ROW]}}
    v2 = {"inputs": [{"name": "features", "shape": [1, 30], "datatype": "FP32", "data": ROW}]}
    async with aiohttp.ClientSession() as session:

        async def client(i: int) -> None:
            path, body = ("/predict", typed) if i % 2 else ("/v2/models/tabular/infer", v2)
            while not stop.is_set():
                start = time.monotonic()
                async with session.post(url + path, json=body) as response:
                    payload = await response.json()
                version = payload.get("model_version", "")
                log.append((start, time.monotonic(), response.status, version, outputs(payload)))

        await asyncio.gather(*(client(i) for i in range(8)))


async def _scenario(
    url: str, registry: Registry
) -> tuple[list[tuple[float, float, str]], list[Entry]]:
    """Move the alias step by step; return (move start, refresh done, version served after)."""
    log: list[Entry] = []
    stop = asyncio.Event()
    traffic = asyncio.ensure_future(_traffic(url, stop, log))
    steps: list[tuple[float, float, str]] = [(-1e18, -1e18, "1")]
    moves = [
        ("promote", "2"),
        ("promote", "3"),
        ("promote", "4"),
        ("rollback", "3"),
        ("promote", "5"),
        ("promote", "1"),
    ]

    async def answered(count: int) -> None:
        """Until the clients have had `count` more answers (bounded): traffic on each version."""
        mark = len(log)
        deadline = time.monotonic() + 60
        while len(log) < mark + count:
            assert time.monotonic() < deadline, f"{len(log) - mark} answers in 60 s"
            await asyncio.sleep(0.005)

    async with httpx.AsyncClient(base_url=url, timeout=60) as admin:
        await answered(ANSWERS)
        for action, version in moves:
            started = time.monotonic()
            if action == "promote":
                registry.promote("tabular", version)
            else:
                registry.rollback("tabular")
            answer = await admin.post(
                "/admin/refresh", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert answer.status_code == 200
            served = (await admin.get("/v2/models/tabular")).json()["parameters"]["version"]
            steps.append((started, time.monotonic(), served))
            if version == "5":  # the corrupted one: refused, the old version keeps serving
                assert served == "3" and "tabular" in answer.json()["failures"]
                assert (
                    "version 5"
                    in (await admin.get("/status")).json()["refresh"]["failures"]["tabular"]
                )
            else:
                assert served == version
            await answered(ANSWERS)
    stop.set()
    await traffic
    return steps, log


def test_alias_moves_rollback_and_a_corrupted_version_under_load(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    publish_linear(registry, seed=0)
    for seed in range(1, 5):
        publish_linear(registry, seed=seed, promote=False)
    corrupted = registry.get("tabular:5").model_path
    corrupted.write_bytes(corrupted.read_bytes()[:-16])
    env = {"FERRY_ADMIN_TOKEN": TOKEN, "FERRY_REFRESH_INTERVAL_S": "0"}
    with running_service(registry.root, tmp_path / "service.log", **env) as url:
        steps, log = asyncio.run(_scenario(url, registry))
        metrics = httpx.get(url + "/metrics").text
    assert len(log) >= 7 * ANSWERS
    assert {entry[2] for entry in log} == {200}, "no request may fail"
    # A version is "production" from the move that made it so until the refresh after the next move.
    windows = [
        (steps[i][0], steps[i + 1][1] if i + 1 < len(steps) else 1e18, steps[i][2])
        for i in range(len(steps))
    ]
    for start, end, _, version, answer in log:
        assert any(v == version and s <= end and start <= e for s, e, v in windows), (
            start,
            end,
            version,
        )
        # the version named is the version that computed the answer
        np.testing.assert_allclose([answer], want(version), rtol=1e-5, atol=1e-6)
    assert {entry[3] for entry in log} >= {"1", "2", "3", "4"}
    assert 'ferry_refreshes_total{model="tabular",result="failed"} 1.0' in metrics
    assert 'ferry_refreshes_total{model="tabular",result="ok"} 5.0' in metrics


def served(client: httpx.Client) -> str:
    return str(client.get("/v2/models/tabular").json()["parameters"]["version"])


def ready(client: httpx.Client, version: str) -> int:
    return client.get(f"/v2/models/tabular/versions/{version}/ready").status_code


def infer(client: httpx.Client, version: str) -> np.ndarray:
    tensor = {"name": "features", "shape": [1, 30], "datatype": "FP32", "data": ROW}
    answer = client.post(f"/v2/models/tabular/versions/{version}/infer", json={"inputs": [tensor]})
    assert answer.status_code == 200, answer.text
    return np.asarray(answer.json()["outputs"][0]["data"]).reshape(1, 2)


def test_polling_follows_alias_moves_and_aliases_keeps_every_aliased_version(
    tmp_path: Path,
) -> None:
    """`FERRY_REFRESH_INTERVAL_S` > 0 with no admin token: only polling can follow the move.
    `FERRY_VERSIONS=aliases`: every version an alias points to is loaded, no other."""
    registry = Registry(tmp_path / "registry")
    for seed in range(3):
        publish_linear(registry, seed=seed, promote=seed == 0)  # production: 1
    registry.promote("tabular", "2", alias="staging")
    env = {"FERRY_REFRESH_INTERVAL_S": "0.2", "FERRY_VERSIONS": "aliases"}
    with (
        running_service(registry.root, tmp_path / "service.log", **env) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        assert served(client) == "1"
        assert [ready(client, v) for v in ("1", "2", "3")] == [200, 200, 404]
        np.testing.assert_allclose(infer(client, "2"), want("2"), rtol=1e-5, atol=1e-6)
        assert client.post("/admin/refresh").status_code == 404  # no token: off

        registry.promote("tabular", "3")  # production: 3, staging: 2
        deadline = time.monotonic() + 60
        while served(client) != "3":
            assert time.monotonic() < deadline, "the poll did not follow the move in 60 s"
            time.sleep(0.05)
        body = {"model": "tabular", "inputs": {"features": [ROW]}}
        typed = client.post("/predict", json=body).json()
        assert typed["model_version"] == "3"
        np.testing.assert_allclose(typed["outputs"]["probabilities"], want("3"), rtol=1e-5)
        # version 1 lost its alias and is retired; 2 (staging) and 3 serve
        assert [ready(client, v) for v in ("1", "2", "3")] == [404, 200, 200]
        np.testing.assert_allclose(infer(client, "3"), want("3"), rtol=1e-5, atol=1e-6)
        metrics = client.get("/metrics").text
    assert 'ferry_refreshes_total{model="tabular",result="ok"} 1.0' in metrics
