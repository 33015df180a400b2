"""One bad model, or a registry that cannot be read, never takes the others down."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving.errors import NotReady
from service.serving.models import ModelSet
from service.serving.refresh import Refresher
from service.serving.routes import build_app
from service.serving.settings import RegistrySettings
from tests.support.onnx_models import publish_broken, publish_linear

X = {"features": np.ones((1, 30), dtype=np.float32)}


def model_set(registry: Registry, **settings: Any) -> ModelSet:
    return ModelSet(
        RegistrySettings(registry=registry.root, **settings),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
    )


def client(models: ModelSet, refresher: Refresher, token: str = "t") -> TestClient:
    app = build_app()
    app.state.models, app.state.refresher, app.state.admin_token = models, refresher, token
    return TestClient(app)


@pytest.mark.parametrize("fault", ["load", "warm"])
def test_load_all_reports_a_model_onnx_runtime_refuses_and_loads_the_rest(
    registry: Registry, fault: str
) -> None:
    publish_linear(registry, "good")
    publish_broken(registry, "bad", fault)
    models = model_set(registry)
    models.load_all()
    assert models.names() == ["good"]
    assert "bad" in models.errors and not models.ready()
    assert models.model_ready("good") is True and models.model_ready("bad") is False
    with pytest.raises(NotReady, match="model 'bad' is not ready"):
        models.get("bad")


async def test_the_first_refresh_loads_what_it_can_and_the_others_follow_their_aliases(
    registry: Registry,
) -> None:
    publish_linear(registry, "good")
    publish_broken(registry, "warm", "warm")
    publish_broken(registry, "load", "load")
    models = model_set(registry)
    refresher = Refresher(models)
    assert not models.ready() and models.status()["loading"] == []
    results = {r.model: r for r in await refresher.refresh(retry_failed=True)}
    assert results["good"].error is None
    assert "warm-up" in (results["warm"].error or "")
    assert "cannot load" in (results["load"].error or "")
    assert set(models.errors) == {"warm", "load"} and models.names() == ["good"]
    assert not models.ready()  # two wanted models are not loaded
    await models.get("good").infer(X)

    publish_linear(registry, "good", seed=1)  # the good model's alias moves
    results = {r.model: r for r in await refresher.refresh()}
    assert results == {"good": results["good"]} and results["good"].new == "2"
    assert models.get("good").runtime.version == "2"
    await models.close()


async def test_an_unexpected_error_in_one_model_does_not_stop_the_others(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_linear(registry, "a")
    publish_linear(registry, "b")
    models = model_set(registry)
    refresher = Refresher(models)
    real = models.target

    def target(name: str, *state: Any) -> Any:
        if name == "a":
            raise OSError(5, "Input/output error", str(registry.root / "a" / "aliases.json"))
        return real(name, *state)

    monkeypatch.setattr(models, "target", target)
    await refresher.refresh(retry_failed=True)
    assert models.names() == ["b"]
    assert "OSError" in models.errors["a"] and "Input/output error" in models.errors["a"]
    assert "cannot resolve a@production" in refresher.status()["failures"]["a"]  # type: ignore[index]
    await models.close()


async def test_an_unreadable_registry_leaves_loaded_versions_serving_and_says_so(
    registry: Registry, tmp_path: Path
) -> None:
    publish_linear(registry, "a")
    models = model_set(registry)
    refresher = Refresher(models)
    await refresher.refresh(retry_failed=True)
    assert models.ready()

    shutil.move(registry.root, tmp_path / "moved-away")  # the volume went away
    assert await refresher.refresh() == []
    registry_state = refresher.status()["registry"]
    assert registry_state["ok"] is False  # type: ignore[index]
    assert "the 1 loaded keep serving" in registry_state["error"]  # type: ignore[index]
    await models.get("a").infer(X)
    assert models.ready()

    shutil.move(tmp_path / "moved-away", registry.root)
    await refresher.refresh()
    registry_state = refresher.status()["registry"]
    assert registry_state["ok"] is True and registry_state["error"] is None  # type: ignore[index]
    await models.close()


async def test_listing_errors_are_recorded_not_raised(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_linear(registry, "a")
    models = model_set(registry, discovery_interval_s=0)  # every refresh lists the models
    refresher = Refresher(models)
    await refresher.refresh(retry_failed=True)

    def unreadable() -> list[str]:
        raise PermissionError(13, "Permission denied", str(registry.root))

    monkeypatch.setattr(models.registry, "model_names", unreadable)
    with client(models, refresher) as http:
        answer = http.post("/admin/refresh", headers={"Authorization": "Bearer t"})
        assert answer.status_code == 503, answer.text
        assert "Permission denied" in answer.json()["error"]
        status = http.get("/status").json()
        assert status["registry"]["ok"] is False and status["refresh"]["registry"]["ok"] is False
        assert status["models"]["a"]["version"] == "1"  # still serving
    await models.close()


def test_per_model_readiness_reflects_that_model_alone(registry: Registry) -> None:
    publish_linear(registry, "good")
    publish_broken(registry, "bad", "warm")
    models = model_set(registry)
    refresher = Refresher(models)
    with client(models, refresher) as http:
        assert http.get("/v2/models/good/ready").status_code == 503  # nothing loaded yet
        assert http.get("/v2/health/ready").status_code == 503
        http.post("/admin/refresh", headers={"Authorization": "Bearer t"}).raise_for_status()
        assert http.get("/v2/models/good/ready").json() == {"name": "good", "ready": True}
        bad = http.get("/v2/models/bad/ready")
        assert bad.status_code == 503 and "warm-up" in bad.json()["reason"]
        assert http.get("/v2/models/nope/ready").status_code == 404
        assert http.get("/v2/models/good/versions/9/ready").status_code == 404
        assert http.get("/v2/health/ready").status_code == 503  # not every model loaded
        status = http.get("/status").json()
        assert "warm-up" in status["errors"]["bad"] and status["ready"] is False


async def test_a_hung_registry_read_is_reported_and_never_blocks_the_event_loop(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_linear(registry, "good")
    publish_linear(registry, "hung")
    models = model_set(registry, models=["good", "hung"])
    stalled = threading.Event()
    real = models.registry.poll

    def poll(name: str) -> Any:
        if name == "hung":  # a stalled network volume: the read never returns by itself
            stalled.wait(timeout=30)
        return real(name)

    monkeypatch.setattr(models.registry, "poll", poll)
    refresher = Refresher(models, registry_timeout_s=0.2)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.ensure_future(ticker())
    try:
        await refresher.refresh(retry_failed=True)
        assert models.names() == ["good"]
        assert "did not answer within 0.2 s" in models.errors["hung"]
        assert "did not answer" in str(models.store.error)
        assert ticks > 5, "the event loop was blocked while the registry hung"
    finally:
        stalled.set()
        beat.cancel()
    await models.close()
