"""Two `ferry serve` replicas on one `s3://` registry: a canary started with one command is
applied by both within two refresh intervals and splits keys the same way on both; a
shadow's summaries from both replicas merge in the registry, and the promotion gate
reads them."""

from __future__ import annotations

import asyncio
import hashlib
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from typer.testing import CliRunner

from export.registry import Registry
from export.shadow import report
from ferry.cli import app
from loadtests.servers import running_service
from tests.support.onnx_models import publish_linear
from tests.support.s3 import S3Server

pytestmark = pytest.mark.slow
INTERVAL_S = 1.5
ROWS = np.random.default_rng(0).normal(size=(64, 30)).round(3).tolist()
KEYS = [f"customer-{i}" for i in range(100)]


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, ["models", *args])
    assert result.exit_code == 0, result.output
    return result.output


def canary_by_hash(key: str, weight: float) -> bool:
    """The documented rule, computed here: blake2b-64 of `model NUL key` mod 10,000."""
    digest = hashlib.blake2b(f"tabular\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 10_000 < weight * 100


async def status(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(f"{url}/status") as response:
        model: dict[str, Any] = (await response.json())["models"]["tabular"]
        return model


async def applied(urls: list[str], check: Any, since: float) -> float:
    """Seconds from `since` until `check(model status)` holds on every replica (bounded)."""
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < since + 10 * INTERVAL_S:
            found = await asyncio.gather(*(status(session, u) for u in urls))
            if all(check(model) for model in found):
                return time.monotonic() - since
            await asyncio.sleep(0.05)
    raise AssertionError(f"not applied by every replica: {found}")


async def predict(session: aiohttp.ClientSession, url: str, i: int, key: str | None) -> str:
    headers = {"X-Canary-Key": key} if key else {}
    body = {"inputs": {"features": [ROWS[i % len(ROWS)]]}}
    async with session.post(f"{url}/predict", json=body, headers=headers) as response:
        assert response.status == 200
        answer = await response.json()
        assert answer["model_version"] == response.headers["X-Model-Version"]
        return str(answer["model_version"])


async def by_v2_id(session: aiohttp.ClientSession, url: str, key: str) -> str:
    tensor = {"name": "features", "datatype": "FP32", "shape": [1, 30], "data": ROWS[0]}
    async with session.post(
        f"{url}/v2/models/tabular/infer", json={"id": key, "inputs": [tensor]}
    ) as response:
        return str((await response.json())["model_version"])


async def route_keys(urls: list[str]) -> dict[str, set[str]]:
    """Each key sent to both replicas twice, and once more as a V2 `id`: its versions."""

    async def versions(session: aiohttp.ClientSession, i: int, key: str) -> set[str]:
        found = {await predict(session, url, i, key) for url in urls * 2}
        return found | {await by_v2_id(session, urls[i % 2], key)}

    async with aiohttp.ClientSession() as session:
        found = await asyncio.gather(*(versions(session, i, key) for i, key in enumerate(KEYS)))
    return dict(zip(KEYS, found, strict=True))


async def mirror_load(urls: list[str], per_replica: int) -> int:
    """Keyless requests to both replicas; how many the alias's version (1) answered."""
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(
            *(predict(session, url, i, None) for url in urls for i in range(per_replica))
        )
    return answers.count("1")


def test_two_replicas_apply_one_canary_and_merge_their_shadow_reports(
    s3_server: S3Server, tmp_path: Path
) -> None:
    url = s3_server.url()
    registry = Registry(url, cache_dir=tmp_path / "publisher-cache")
    publish_linear(registry, seed=0)  # 1: production
    publish_linear(registry, seed=1, promote=False)  # 2: the canary
    publish_linear(registry, seed=0, promote=False)  # 3: the shadow, 1's twin
    env = {
        "FERRY_REFRESH_INTERVAL_S": str(INTERVAL_S),
        "FERRY_CACHE_DIR": str(tmp_path / "node-cache"),  # one node: the replicas share it
        "FERRY_SHADOW_REPORT_S": "0.5",
    }
    with ExitStack() as stack:
        urls = [
            stack.enter_context(running_service(url, tmp_path / f"replica-{i}.log", **env))
            for i in range(2)
        ]
        cli("canary", "tabular", "2", "--weight", "50", "--registry", url)
        started = time.monotonic()  # the move is in the registry
        canary_delay = asyncio.run(
            applied(urls, lambda m: (m.get("rollout") or {}).get("canary_loaded"), started)
        )
        seen = asyncio.run(route_keys(urls))
        assert all(len(versions) == 1 for versions in seen.values()), "a key changed version"
        expected = {key: {"2" if canary_by_hash(key, 50) else "1"} for key in KEYS}
        assert seen == expected

        cli("shadow", "tabular", "3", "--registry", url)
        started = time.monotonic()
        shadow_delay = asyncio.run(
            applied(urls, lambda m: (m.get("rollout") or {}).get("shadow_loaded"), started)
        )
        mirrored = asyncio.run(mirror_load(urls, per_replica=60))
        deadline = time.monotonic() + 20
        merged = report(registry, "tabular")
        while merged is None or merged.summary.requests < mirrored:
            assert time.monotonic() < deadline, f"{merged} of {mirrored}"
            time.sleep(0.1)
            merged = report(registry, "tabular")
        assert merged.summary.requests == mirrored and len(merged.replicas) == 2
        assert merged.summary.label_agreement == 1.0 and merged.summary.abs_diff_max == 0.0
        shown = cli("shadow-report", "tabular", "--registry", url)
        assert "2 replica(s)" in shown and f"{mirrored:,}" in shown

        gate = ["--if-agreement", "0.99", "--min-requests", str(mirrored)]
        said = cli("promote", "tabular", "3", *gate, "--registry", url)
        started = time.monotonic()
        assert "tabular@production: 1 → 3" in said
        promote_delay = asyncio.run(
            applied(urls, lambda m: m["version"] == "3" and "rollout" not in m, started)
        )
    delays = [canary_delay, shadow_delay, promote_delay]
    print(
        f"\napplied by both replicas after {[round(d, 2) for d in delays]} s; {mirrored} mirrored"
    )
    assert all(delay <= 2 * INTERVAL_S for delay in delays), delays
    events = [e["event"] for e in registry.history("tabular") if e["event"] != "publish"]
    assert events == ["promote", "canary", "shadow", "promote"]
