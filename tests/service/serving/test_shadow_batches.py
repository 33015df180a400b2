"""A tensor model's answered batches reach its shadow whole, from the batcher of the
alias's version: a fraction keeps or leaves each request whole, only the alias's
version is hooked, and a rollout change moves the hook."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import numpy as np
import pytest

from export.registry import Registry
from service.serving import handlers
from service.serving.refresh import Refresher
from service.serving.shadow import ShadowSettings, ShadowWorker
from tests.service.serving.test_rollouts import ROWS, canary_by_hash, model_set, v2_body
from tests.support.onnx_models import publish_linear


def test_a_batch_is_offered_whole_and_a_fraction_keeps_each_request_whole() -> None:
    worker = ShadowWorker(ShadowSettings(persist=False, poll_s=3600))
    rows = [1, 3, 2, 4] * 50
    ids = np.repeat(np.arange(len(rows)), rows).astype(np.float32)[:, None]
    inputs, outputs = {"x": ids}, {"y": ids * 2 + 1}
    worker.mirror(7, 1.0)(inputs, outputs, rows)
    np.random.seed(0)
    worker.mirror(7, 0.5)(inputs, outputs, rows)
    worker.mirror(7, 1e-9)(inputs, outputs, rows)  # none kept: nothing queued
    jobs, _ = worker._inbox.take(0)
    assert len(jobs) == 2
    (route, given, answered, requests), (_, some, theirs, kept) = jobs
    assert (route, requests) == (7, len(rows)) and given is inputs and answered is outputs
    chosen = np.unique(some["x"]).astype(int)
    assert kept == len(chosen) and 60 < kept < 140  # binomial(200, 0.5): sd 7
    assert len(some["x"]) == sum(rows[i] for i in chosen)  # every kept request whole
    np.testing.assert_array_equal(theirs["y"], some["x"] * 2 + 1)  # rows stay aligned
    worker.close()


async def test_only_the_alias_versions_batches_are_mirrored_and_the_hook_follows_the_rollout(
    tmp_path: Path,
) -> None:
    registry = Registry(tmp_path / "reg")
    publish_linear(registry, seed=0)
    publish_linear(registry, seed=1, promote=False)
    publish_linear(registry, seed=2, promote=False)
    registry.canary("tabular", "2", 40)
    registry.shadow("tabular", "3")
    models = model_set(registry)
    entry = models.entries["tabular"]
    assert entry.default.batcher.mirror is not None and entry.canary is not None
    assert entry.canary.batcher.mirror is None and entry.shadow is not None
    assert entry.shadow.batcher.mirror is None
    keys = [f"user-{i}" for i in range(200)]
    answers = await asyncio.gather(  # concurrent: batches mix both versions' requests
        *(
            handlers.infer_answer(models, "tabular", None, v2_body(ROWS[i : i + 2]), None, None, k)
            for i, k in enumerate(keys)
        )
    )
    assert {a.status for a in answers} == {200}
    by_alias = [k for k in keys if not canary_by_hash("tabular", k, 40)]
    assert [a.headers["X-Model-Version"] for a in answers].count("1") == len(by_alias)
    assert models.shadowing.flush()
    session = entry.session
    assert session is not None
    f = models.shadowing.record(session).summary.figures()
    assert (f["requests"], f["rows"], f["failed"]) == (len(by_alias), 2 * len(by_alias), 0)

    registry.shadow("tabular", None)
    [result] = await Refresher(models).refresh()
    assert result.error is None
    fresh = models.entries["tabular"]
    assert fresh.route is None and fresh.default is entry.default  # the same version, unhooked
    assert all(served.batcher.mirror is None for served in fresh.versions.values())
    await handlers.infer_answer(models, "tabular", None, v2_body(ROWS[:1]), None)
    assert models.shadowing.flush()
    assert models.status()["shadow"]["compared"] == len(by_alias)
    await models.close()


def test_a_batch_that_cannot_be_mirrored_is_logged_and_never_raised(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = ShadowWorker(ShadowSettings(persist=False, poll_s=3600))

    def broken(*_: object) -> None:
        raise MemoryError("no room for the copy")

    monkeypatch.setattr(worker, "offer", broken)  # the fault, injected
    inputs = {"x": np.zeros((3, 2), dtype=np.float32)}
    with caplog.at_level(logging.ERROR, logger="ferry.service"):
        worker.mirror(1, 1.0)(inputs, {"y": np.zeros((3, 1))}, [1, 2])
    assert "an answered batch was not mirrored: no room for the copy" in caplog.text
    worker.close()
