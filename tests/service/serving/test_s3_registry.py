"""Serving from an `s3://` registry (a real moto server, requests counted in its log):
idle polling is one conditional read per model, a restart downloads nothing again, and
an unreachable store leaves the loaded versions serving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from export.registry import Registry
from service.serving.models import ModelSet
from service.serving.refresh import Refresher
from service.serving.settings import RegistrySettings
from tests.support.onnx_models import publish_linear
from tests.support.s3 import S3Server, moto_server

ROW = {"features": np.zeros((1, 30), dtype=np.float32)}


def model_set(url: str, cache: Path, **settings: object) -> ModelSet:
    options = RegistrySettings(registry=url, cache_dir=cache, **settings)  # type: ignore[arg-type]
    models = ModelSet(options)
    models.load_all()
    return models


def test_idle_polling_is_one_conditional_read_per_model(
    s3_server: S3Server, tmp_path: Path
) -> None:
    url = s3_server.url()
    registry = Registry(url, cache_dir=tmp_path / "cache")
    publish_linear(registry, name="tabular")
    publish_linear(registry, name="other", seed=1)
    publish_linear(registry, name="tabular", seed=2, promote=False)
    models = model_set(url, tmp_path / "cache", discovery_interval_s=3600)
    refresher = Refresher(models)
    prefix = url.removeprefix("s3://")

    async def scenario() -> None:
        await refresher.refresh()  # the first poll of each model reads its aliases whole
        mark = s3_server.mark()
        for _ in range(5):
            assert await refresher.refresh() == []
        idle = [r for r in s3_server.requests_since(mark) if prefix in r.path]
        assert len(idle) == 5 * 2, idle  # two models, five polls
        assert {(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in idle} == {
            ("GET", "aliases.json", 304)
        }
        registry.promote("tabular", "2")
        [moved] = await refresher.refresh()
        assert (moved.model, moved.old, moved.new) == ("tabular", "1", "2")

    asyncio.run(scenario())
    assert models.get("tabular").runtime.version == "2"
    assert models.status()["registry"] == {
        "url": url,
        "ok": True,
        "error": None,
        "failing_since": None,
    }


def test_a_restart_on_the_same_node_downloads_no_file_again(
    s3_server: S3Server, tmp_path: Path
) -> None:
    url = s3_server.url()
    publish_linear(Registry(url, cache_dir=tmp_path / "publisher"))
    mark = s3_server.mark()
    model_set(url, tmp_path / "cache")
    files = [r for r in s3_server.requests_since(mark) if r.path.endswith("/model.onnx")]
    assert [(f.method, f.status) for f in files] == [("GET", 200)]
    mark = s3_server.mark()
    again = model_set(url, tmp_path / "cache")  # a restart, or a second replica on the node
    assert again.get("tabular").runtime.version == "1"
    assert [r for r in s3_server.requests_since(mark) if r.path.endswith("/model.onnx")] == []


@pytest.mark.slow
def test_an_unreachable_store_leaves_the_loaded_versions_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with moto_server(tmp_path / "moto.log") as s3:
        for key, value in {**s3.env(), "AWS_MAX_ATTEMPTS": "1"}.items():
            monkeypatch.setenv(key, value)
        url = s3.url()
        publish_linear(Registry(url, cache_dir=tmp_path / "cache"))
        models = model_set(url, tmp_path / "cache")
        refresher = Refresher(models)
        s3.process.kill()
        s3.process.wait(timeout=10)

        async def scenario() -> None:
            assert await refresher.refresh() == []  # the poll fails; nothing is unloaded
            outputs = await models.get("tabular").infer(dict(ROW))
            assert outputs["probabilities"].shape == (1, 2)

        asyncio.run(scenario())
    status = {**models.status(), "refresh": refresher.status()}
    assert status["ready"] is True and status["models"]["tabular"]["version"] == "1"  # type: ignore[index]
    registry = status["registry"]
    assert registry["ok"] is False and registry["failing_since"]  # type: ignore[index]
    assert f"registry {url}" in registry["error"] and "cannot reach" in registry["error"]  # type: ignore[index]
