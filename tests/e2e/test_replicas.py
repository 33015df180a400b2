"""Two `ferry serve` replicas on one `s3://` registry under load while the alias moves:
both follow each move within two refresh intervals, and no request fails."""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from export.registry import Registry
from loadtests.servers import running_service
from tests.support.onnx_models import publish_linear
from tests.support.s3 import S3Server

pytestmark = pytest.mark.slow
INTERVAL_S = 1.5
ROW = np.random.default_rng(0).normal(size=30).round(3).tolist()
CLIENTS = 4  # per replica
MOST_REQUESTS = 20_000


async def _load(urls: list[str], stop: asyncio.Event, log: list[tuple[str, int, str]]) -> None:
    body = {"model": "tabular", "inputs": {"features": [ROW]}}
    async with aiohttp.ClientSession() as session:

        async def client(url: str) -> None:
            while not stop.is_set() and len(log) < MOST_REQUESTS:
                async with session.post(f"{url}/predict", json=body) as response:
                    answer = await response.json()
                log.append((url, response.status, str(answer.get("model_version", ""))))

        await asyncio.gather(*(client(u) for u in urls for _ in range(CLIENTS)))


async def _served(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(f"{url}/v2/models/tabular") as response:
        return str((await response.json())["parameters"]["version"])


async def _scenario(urls: list[str], registry: Registry) -> tuple[list[float], list]:
    log: list[tuple[str, int, str]] = []
    stop = asyncio.Event()
    load = asyncio.ensure_future(_load(urls, stop, log))
    delays = []
    async with aiohttp.ClientSession() as session:
        await asyncio.sleep(1.0)
        for version in ("2", "3", "1"):
            moved = time.monotonic()
            registry.promote("tabular", version)
            deadline = moved + 10 * INTERVAL_S
            while time.monotonic() < deadline:
                served = await asyncio.gather(*(_served(session, u) for u in urls))
                if set(served) == {version}:
                    break
                await asyncio.sleep(0.05)
            delays.append(time.monotonic() - moved)
            await asyncio.sleep(0.5)
    stop.set()
    await load
    return delays, log


def test_two_replicas_follow_alias_moves_under_load(s3_server: S3Server, tmp_path: Path) -> None:
    url = s3_server.url()
    registry = Registry(url, cache_dir=tmp_path / "publisher-cache")
    publish_linear(registry, seed=0)
    for seed in (1, 2):
        publish_linear(registry, seed=seed, promote=False)
    env = {
        "FERRY_REFRESH_INTERVAL_S": str(INTERVAL_S),
        "FERRY_CACHE_DIR": str(tmp_path / "node-cache"),  # one node: the replicas share it
    }
    with ExitStack() as stack:
        urls = [
            stack.enter_context(running_service(url, tmp_path / f"replica-{i}.log", **env))
            for i in range(2)
        ]
        delays, log = asyncio.run(_scenario(urls, registry))
    print(f"\nfollowed the moves after {[round(d, 2) for d in delays]} s; {len(log)} requests")
    assert len(log) > 100
    assert {status for _, status, _ in log} == {200}, "no request may fail"
    assert all(delay <= 2 * INTERVAL_S for delay in delays), delays
    for replica in urls:
        served = [v for u, _, v in log if u == replica]
        assert set(served) == {"1", "2", "3"} and set(served[-CLIENTS:]) == {"1"}
