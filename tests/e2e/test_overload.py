"""Past the queue bound the service answers 429 with Retry-After; below it nothing fails.

The model is made slow on purpose (16 tanh layers 1,024 wide: tens of ms a batch on any
machine) so that requests queue while it computes, whatever the speed of the machine:
the test relies on a batch taking longer than a burst of requests takes to arrive, not
on how long either takes (measured: 10 accepted, 190 refused, on 2 busy cores).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import numpy as np
import onnxruntime as ort
import pytest

from export.registry import Registry
from loadtests.servers import running_service
from tests.support.onnx_models import heavy_softmax, publish_model

pytestmark = pytest.mark.slow
ROWS = np.random.default_rng(0).normal(size=(8, 30)).round(3).astype(np.float32)


async def _burst(url: str, n: int) -> list[tuple[int, str | None, dict[str, object]]]:
    body = {"model": "heavy", "inputs": {"features": ROWS.tolist()}}
    async with aiohttp.ClientSession() as session:

        async def one() -> tuple[int, str | None, dict[str, object]]:
            async with session.post(url + "/predict", json=body) as response:
                return response.status, response.headers.get("Retry-After"), await response.json()

        return await asyncio.gather(*(one() for _ in range(n)))


def test_queue_bound_turns_overload_into_429_not_errors(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    artifact = publish_model(registry, heavy_softmax(30, 1024, 16), "heavy", 30)
    session = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])
    want = session.run(None, {"features": ROWS})[0]
    env = {"FERRY_MAX_QUEUE_ROWS": "64", "FERRY_MAX_BATCH_SIZE": "8", "FERRY_RETRY_AFTER_S": "2"}
    with running_service(registry.root, tmp_path / "service.log", **env) as url:
        answers = asyncio.run(_burst(url, 200))
        statuses = [status for status, _, _ in answers]
        assert set(statuses) <= {200, 429}
        assert 429 in statuses, "200 requests of 8 rows must exceed a 64-row queue"
        for status, retry, body in answers:
            if status == 429:
                assert retry == "2" and "rows already queued (limit 64)" in str(body["error"])
            else:  # what was accepted was answered in full
                np.testing.assert_allclose(body["outputs"]["probabilities"], want, atol=1e-6)
        # a 429 means 64 rows were waiting: those 8 requests were accepted, and answered
        assert statuses.count(200) >= 8
        # the bound is on waiting rows: a polite client is served again at once
        polite = asyncio.run(_burst(url, 4))
        assert [(status, retry) for status, retry, _ in polite] == [(200, None)] * 4
