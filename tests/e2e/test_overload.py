"""Past the queue bound the service answers 429 with Retry-After; below it nothing fails."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from export.registry import Artifact, Registry
from loadtests.servers import running_service

pytestmark = pytest.mark.slow


async def _burst(url: str, n: int, rows: int) -> list[tuple[int, str | None]]:
    body = {"model": "tabular", "inputs": {"features": [[10.0] * 30] * rows}}
    async with aiohttp.ClientSession() as session:

        async def one() -> tuple[int, str | None]:
            async with session.post(url + "/predict", json=body) as response:
                await response.read()
                return response.status, response.headers.get("Retry-After")

        return await asyncio.gather(*(one() for _ in range(n)))


def test_queue_bound_turns_overload_into_429_not_errors(
    trained_registry: tuple[Registry, Artifact], tmp_path: Path
) -> None:
    registry, _ = trained_registry
    env = {"FERRY_MAX_QUEUE_ROWS": "64", "FERRY_MAX_BATCH_SIZE": "8", "FERRY_RETRY_AFTER_S": "2"}
    with running_service(registry.root, tmp_path / "service.log", **env) as url:
        statuses = asyncio.run(_burst(url, 200, rows=8))
        assert {s for s, _ in statuses} <= {200, 429}
        assert any(s == 429 for s, _ in statuses), (
            "200 requests of 8 rows must exceed a 64-row queue"
        )
        assert all(retry == "2" for s, retry in statuses if s == 429)
        assert sum(s == 200 for s, _ in statuses) >= 8
        # the bound is on waiting rows: a polite client is served again at once
        assert asyncio.run(_burst(url, 4, rows=8)) == [(200, None)] * 4
