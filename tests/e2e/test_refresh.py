"""Alias moves under load: the real service follows them without failing a request."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import pytest

from export.registry import Registry
from loadtests.servers import running_service
from tests.support.onnx_models import publish_linear

pytestmark = pytest.mark.slow
TOKEN = "test-admin-token"
ROW = np.random.default_rng(0).normal(size=30).round(3).tolist()


async def _traffic(url: str, stop: asyncio.Event, log: list[tuple[float, float, int, str]]) -> None:
    typed = {"model": "tabular", "inputs": {"features": [ROW]}}
    v2 = {"inputs": [{"name": "features", "shape": [1, 30], "datatype": "FP32", "data": ROW}]}
    async with aiohttp.ClientSession() as session:

        async def client(i: int) -> None:
            path, body = ("/predict", typed) if i % 2 else ("/v2/models/tabular/infer", v2)
            while not stop.is_set():
                start = time.monotonic()
                async with session.post(url + path, json=body) as response:
                    payload = await response.json()
                log.append(
                    (start, time.monotonic(), response.status, payload.get("model_version", ""))
                )

        await asyncio.gather(*(client(i) for i in range(8)))


async def _scenario(
    url: str, registry: Registry
) -> tuple[list[tuple[float, float, str]], list[tuple[float, float, int, str]]]:
    """Move the alias step by step; return (move start, refresh done, version served after)."""
    log: list[tuple[float, float, int, str]] = []
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
    async with httpx.AsyncClient(base_url=url, timeout=60) as admin:
        await asyncio.sleep(0.5)
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
            await asyncio.sleep(0.4)
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
    assert len(log) > 200
    assert {status for _, _, status, _ in log} == {200}, "no request may fail"
    # A version is "production" from the move that made it so until the refresh after the next move.
    windows = [
        (steps[i][0], steps[i + 1][1] if i + 1 < len(steps) else 1e18, steps[i][2])
        for i in range(len(steps))
    ]
    for start, end, _, version in log:
        assert any(v == version and s <= end and start <= e for s, e, v in windows), (
            start,
            end,
            version,
        )
    assert {version for *_, version in log} >= {"1", "2", "3", "4"}
    assert 'ferry_refreshes_total{model="tabular",result="failed"} 1.0' in metrics
    assert 'ferry_refreshes_total{model="tabular",result="ok"} 5.0' in metrics
