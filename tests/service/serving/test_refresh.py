from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving.models import ModelSet
from service.serving.refresh import Refresher
from service.serving.routes import build_app
from service.serving.settings import RegistrySettings
from tests.support.onnx_models import publish_linear

X = {"features": np.ones((1, 30), dtype=np.float32)}


def model_set(registry: Registry) -> ModelSet:
    models = ModelSet(
        RegistrySettings(registry=registry.root),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
    )
    models.load_all()
    return models


async def test_alias_moves_are_followed_without_failing_a_request(registry: Registry) -> None:
    publish_linear(registry, seed=0)
    models = model_set(registry)
    refresher = Refresher(models)
    seen: list[str] = []
    stop = asyncio.Event()

    async def client() -> None:
        while not stop.is_set():
            served = models.get("tabular")
            await served.infer(X)
            seen.append(served.runtime.version)
            await asyncio.sleep(0)

    async def answered_by(version: str) -> None:
        """Until a client has been answered by `version` (bounded)."""
        mark = len(seen)
        deadline = time.monotonic() + 10
        while version not in seen[mark:]:
            assert time.monotonic() < deadline, f"no answer from version {version}"
            await asyncio.sleep(0.001)

    clients = [asyncio.ensure_future(client()) for _ in range(8)]
    await answered_by("1")
    for seed in (1, 2, 3):
        publish_linear(registry, seed=seed)  # publishes and promotes
        [result] = await refresher.refresh()
        assert result.new == str(seed + 1) and result.error is None
        await answered_by(str(seed + 1))
    registry.rollback("tabular")
    assert [r.new for r in await refresher.refresh()] == ["3"]
    await answered_by("3")
    stop.set()
    await asyncio.gather(*clients)  # would raise if any request failed
    assert set(seen) == {"1", "2", "3", "4"}
    assert models.get("tabular").runtime.version == "3"
    assert await refresher.refresh() == []  # nothing changed


async def test_a_corrupted_version_is_refused_and_the_old_one_keeps_serving(
    registry: Registry,
) -> None:
    publish_linear(registry, seed=0)
    models = model_set(registry)
    refresher = Refresher(models)
    bad = publish_linear(registry, seed=1, promote=False)
    bad.model_path.write_bytes(b"not an onnx file")
    registry.promote("tabular", "2")
    [result] = await refresher.refresh()
    assert result.old == "1" and result.new == "2" and "sha256" in (result.error or "")
    assert models.get("tabular").runtime.version == "1"
    await models.get("tabular").infer(X)
    assert "version 2" in refresher.status()["failures"]["tabular"]  # type: ignore[index]
    assert await refresher.refresh() == []  # polls do not hammer a known-bad version
    assert [r.error is not None for r in await refresher.refresh(retry_failed=True)] == [True]
    registry.rollback("tabular")
    assert await refresher.refresh() == []  # back on 1: nothing to do, failure cleared
    assert refresher.status()["failures"] == {}


@pytest.fixture
def admin(registry: Registry) -> Iterator[tuple[TestClient, Registry]]:
    publish_linear(registry, seed=0)
    models = model_set(registry)
    app = build_app()
    app.state.models = models
    app.state.refresher = Refresher(models)
    app.state.admin_token = "s3cret"
    with TestClient(app) as client:
        yield client, registry


def test_admin_refresh_needs_the_token(admin: tuple[TestClient, Registry]) -> None:
    client, registry = admin
    assert client.post("/admin/refresh").status_code == 403
    assert (
        client.post("/admin/refresh", headers={"Authorization": "Bearer nope"}).status_code == 403
    )
    publish_linear(registry, seed=1)
    response = client.post("/admin/refresh", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"model": "tabular", "old": "1", "new": "2", "error": None}
    ]
    assert client.get("/v2/models/tabular").json()["versions"] == ["2"]
    assert client.get("/status").json()["refresh"]["failures"] == {}


def test_admin_refresh_is_off_without_a_token(admin: tuple[TestClient, Registry]) -> None:
    client, _ = admin
    client.app.state.admin_token = ""  # type: ignore[attr-defined]
    response = client.post("/admin/refresh", headers={"Authorization": "Bearer "})
    assert response.status_code == 404 and "FERRY_ADMIN_TOKEN" in response.json()["error"]
