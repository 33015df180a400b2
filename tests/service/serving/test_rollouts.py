"""Canary and shadow in the data plane: a real model set on real ONNX models, in process.

Routing is checked against the documented hash computed here (hashlib), answers
against numpy on the models' weights, and the int8 encoder's agreement against what
`publish_variant` (the machinery of `ferry export --precision int8`) measured.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import tritonclient.grpc.aio as triton
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper

from export.registry import Registry
from export.shadow import report
from export.texts import HELD_OUT_TEXTS
from export.variants import publish_variant
from service.runtime.settings import RuntimeSettings
from service.runtime.text.settings import TextSettings
from service.serving import handlers
from service.serving.grpc import InferenceServicer, start_grpc
from service.serving.models import ModelSet
from service.serving.openai import embeddings_answer
from service.serving.refresh import Refresher
from service.serving.routes import build_app
from service.serving.settings import GrpcSettings, RegistrySettings
from service.serving.shadow import ShadowSettings
from tests.support.onnx_models import linear_softmax, publish_linear, publish_model, reference
from tests.support.text_models import publish_text

ROWS = np.random.default_rng(0).normal(size=(400, 30)).astype(np.float32)


def model_set(registry: Registry, **shadow: Any) -> ModelSet:
    models = ModelSet(
        RegistrySettings(registry=registry.root),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
        shadow=ShadowSettings(**{"persist": False, **shadow}),
    )
    models.load_all()
    return models


def v2_body(rows: np.ndarray, request_id: str | None = None) -> bytes:
    tensor = {"name": "features", "datatype": "FP32", "shape": list(rows.shape)}
    body: dict[str, Any] = {"inputs": [{**tensor, "data": rows.ravel().tolist()}]}
    if request_id is not None:
        body["id"] = request_id
    return json.dumps(body).encode()


def canary_by_hash(model: str, key: str, weight: float) -> bool:
    """The documented rule, computed here: blake2b-64 of `model NUL key` mod 10,000."""
    digest = hashlib.blake2b(f"{model}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 10_000 < weight * 100


def failing_softmax(n_features: int) -> onnx.ModelProto:
    """Zeros in (the warm-up) give [0.5, 0.5]; any other row gathers outside a one-row
    table, which ONNX Runtime refuses: a version that loads and fails every request."""
    nodes = [
        helper.make_node("ReduceSum", ["features", "axis"], ["total"], keepdims=0),
        helper.make_node("Abs", ["total"], ["size"]),
        helper.make_node("Sign", ["size"], ["nonzero"]),
        helper.make_node("Cast", ["nonzero"], ["index"], to=TensorProto.INT64),
        helper.make_node("Gather", ["table", "index"], ["probabilities"], axis=0),
    ]
    graph = helper.make_graph(
        nodes,
        "failing",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        [
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axis"),
            numpy_helper.from_array(np.array([[0.5, 0.5]], dtype=np.float32), "table"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    return model


@pytest.mark.slow  # starts a gRPC server on 127.0.0.1
async def test_a_canary_routes_typed_v2_and_grpc_requests_alike(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    publish_linear(registry, seed=0)
    publish_linear(registry, seed=1, promote=False)
    registry.canary("tabular", "2", 30)
    models = model_set(registry)
    weights = {v: linear_softmax(30, 2, seed)[1:] for v, seed in (("1", 0), ("2", 1))}
    server = await start_grpc(
        InferenceServicer(type("State", (), {"models": models})(), 5.0),
        GrpcSettings(port=0),
        "127.0.0.1",
    )
    client = triton.InferenceServerClient(server.address)
    try:
        served = []
        for i in range(120):
            key, row = f"user-{i}", ROWS[i : i + 1]
            typed = await handlers.predict_answer(
                models, json.dumps({"inputs": {"features": row.tolist()}}).encode(), None, key
            )
            by_header = await handlers.infer_answer(
                models, "tabular", None, v2_body(row), None, None, key
            )
            by_id = await handlers.infer_answer(models, "tabular", None, v2_body(row, key), None)
            given = triton.InferInput("features", [1, 30], "FP32")
            given.set_data_from_numpy(row)
            rpc = await client.infer("tabular", [given], headers={"x-canary-key": key})
            versions = {
                typed.headers["X-Model-Version"],
                by_header.headers["X-Model-Version"],
                by_id.headers["X-Model-Version"],
                rpc.get_response().model_version,
            }
            expected = "2" if canary_by_hash("tabular", key, 30) else "1"
            assert versions == {expected}, (key, versions)
            body = json.loads(typed.body)
            assert body["model_version"] == expected
            want = reference(row, *weights[expected])
            np.testing.assert_allclose(body["outputs"]["probabilities"], want, atol=1e-6)
            served.append(expected)
            pinned = await handlers.infer_answer(
                models, "tabular", "1", v2_body(row), None, None, key
            )
            assert pinned.headers["X-Model-Version"] == "1"  # a version asked for is never routed
        assert 0 < served.count("2") < len(served)
    finally:
        await client.close()
        await server.stop(0)
        await models.close()


async def test_a_shadow_that_fails_every_request_changes_nothing_for_callers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry(tmp_path / "reg")
    publish_linear(registry, seed=0)
    publish_model(registry, failing_softmax(30), "tabular", 30, promote=False)
    models = model_set(registry)
    bodies = [v2_body(ROWS[i : i + 1 + i % 3], f"r{i}") for i in range(60)]

    async def answers() -> list[tuple[int, bytes, dict[str, str]]]:
        found = await asyncio.gather(
            *(handlers.infer_answer(models, "tabular", None, b, None) for b in bodies)
        )
        return [(a.status, a.body, a.headers) for a in found]

    before = await answers()
    registry.shadow("tabular", "2")
    [result] = await Refresher(models).refresh()
    assert result.error is None and models.entries["tabular"].shadow is not None
    with caplog.at_level(logging.ERROR, logger="ferry.service"):
        after = await answers()
        assert models.shadowing.flush()
    assert after == before and {status for status, _, _ in after} == {200}
    status = models.status()
    assert status["ready"] and status["shadow"]["failed"] == 60
    assert status["shadow"]["compared"] == 0 and status["shadow"]["dropped"] == 0
    failures = [r for r in caplog.records if "shadow 2 failed" in r.getMessage()]
    assert len(failures) == 1  # logged once per session, counted every time
    app = build_app()
    app.state.models = models
    shown = TestClient(app).get("/v2/models/tabular/shadow").json()
    assert shown["local"]["failed"] == 60 and shown["local"]["requests"] == 0
    assert shown["rollout"] == {"shadow": "2", "fraction": 1.0, "shadow_since": 2}
    await models.close()


async def test_a_version_shadowing_itself_agrees_exactly_and_the_report_is_persisted(
    tmp_path: Path,
) -> None:
    registry = Registry(tmp_path / "reg")
    publish_linear(registry, seed=0)
    registry.shadow("tabular", "1")
    models = model_set(registry, persist=True)
    sizes = [1 + i % 7 for i in range(150)]
    starts = np.cumsum([0, *sizes[:-1]]) % (len(ROWS) - 8)
    bodies = [v2_body(ROWS[s : s + n]) for s, n in zip(starts, sizes, strict=True)]
    # concurrent: the primary's batches mix requests one way, the shadow's joined runs another
    found = await asyncio.gather(
        *(handlers.infer_answer(models, "tabular", None, b, None) for b in bodies)
    )
    assert {a.status for a in found} == {200}
    assert models.shadowing.flush()
    persisted = report(registry, "tabular")
    assert persisted is not None and persisted.primary == persisted.shadow == "1"
    f = persisted.summary.figures()
    assert (f["requests"], f["rows"], f["failed"], f["dropped"]) == (150, sum(sizes), 0, 0)
    assert f["agreement"] == f["label_agreement"] == 1.0
    assert f["abs_diff_max"] == 0.0 and f["abs_diff_mean"] == 0.0
    assert f["cosine_min"] == f["cosine_mean"] == f["cosine_p01"] == 1.0
    await models.close()


async def test_the_int8_encoder_against_fp32_matches_what_export_measured(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    publish_text(registry, "text-embed", projected=True)
    int8 = publish_variant(registry, "text-embed:1", "int8", batch=32, rounds=1)
    measured = int8.manifest.variant["quality"]
    assert measured["rows"] == len(HELD_OUT_TEXTS) and measured["cosine_min"] < 0.999
    registry.shadow("text-embed", int8.manifest.version)
    models = ModelSet(
        RegistrySettings(registry=registry.root),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
        text=TextSettings(buckets=(512,)),  # one bucket: the shadow runs export's batches
        shadow=ShadowSettings(persist=False, max_rows=32),  # of 32 texts, in order
    )
    models.load_all()
    # int8 quantises activations per batch, so the figures match export's only for the same
    # batches: one request of the 40 texts, which the shadow runs as 32 + 8, as export did
    answer = await handlers.predict(models, "text-embed", None, list(HELD_OUT_TEXTS))
    assert answer["model_version"] == "1"
    assert models.shadowing.flush()
    session = models.entries["text-embed"].session
    assert session is not None
    f = models.shadowing.record(session).summary.figures()
    assert f["kind"] == "cosine" and f["rows"] == measured["rows"]
    assert f["cosine_min"] == pytest.approx(measured["cosine_min"], abs=1e-6)
    assert f["cosine_mean"] == pytest.approx(measured["cosine_mean"], abs=1e-6)
    assert f["abs_diff_max"] == pytest.approx(measured["max_abs_diff"], abs=1e-5)
    assert f["cosine_min"] <= f["cosine_p01"] <= f["cosine_p05"] <= f["cosine_p50"] <= 1.0
    await models.close()


async def test_a_full_shadow_queue_drops_and_counts_and_a_fraction_is_a_fraction(
    tmp_path: Path,
) -> None:
    registry = Registry(tmp_path / "reg")
    publish_linear(registry, seed=0)
    publish_linear(registry, seed=1, promote=False)
    registry.shadow("tabular", "2")
    models = model_set(registry, queue_requests=3, poll_s=3600)  # drained only when asked
    for i in range(10):
        answer = await handlers.infer_answer(
            models, "tabular", None, v2_body(ROWS[i : i + 1]), None
        )
        assert answer.status == 200
    assert models.shadowing.flush()
    shadowing = models.status()["shadow"]
    assert (shadowing["compared"], shadowing["dropped"], shadowing["queued"]) == (3, 7, 0)
    await models.close()

    registry.shadow("tabular", "2", fraction=0.25)
    models = model_set(registry)
    for i in range(400):
        await handlers.infer_answer(models, "tabular", None, v2_body(ROWS[i : i + 1]), None)
    assert models.shadowing.flush()
    mirrored = models.status()["shadow"]["compared"]
    assert 100 - 4 * 8.7 < mirrored < 100 + 4 * 8.7  # binomial(400, 0.25): sd 8.7
    await models.close()


async def test_a_canary_that_cannot_load_leaves_the_alias_serving(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    publish_linear(registry, seed=0)
    broken = publish_linear(registry, seed=1, promote=False)
    publish_linear(registry, seed=2, promote=False)
    (broken.path / "model.onnx").write_bytes(b"not onnx")  # its sha256 no longer matches
    registry.canary("tabular", "2", 100)
    models = model_set(registry)
    entry = models.entries["tabular"]
    assert models.ready() and entry.canary is None and "2" in entry.problems
    rollout = models.status()["models"]["tabular"]["rollout"]  # type: ignore[index]
    assert rollout["canary_loaded"] is False and "sha256" in rollout["problems"]["2"]
    answer = await handlers.infer_answer(
        models, "tabular", None, v2_body(ROWS[:1]), None, None, "k"
    )
    assert answer.status == 200 and answer.headers["X-Model-Version"] == "1"
    refresher = Refresher(models)
    assert await refresher.refresh() == []  # not retried while the rollout is the same
    registry.canary("tabular", "3", 100)
    [result] = await refresher.refresh()
    assert result.error is None and models.entries["tabular"].canary is not None
    answer = await handlers.infer_answer(
        models, "tabular", None, v2_body(ROWS[:1]), None, None, "k"
    )
    assert answer.headers["X-Model-Version"] == "3"
    registry.canary("tabular", None, 0)
    await refresher.refresh()
    assert models.entries["tabular"].canary is None and sorted(
        models.entries["tabular"].versions
    ) == ["1"]
    await models.close()


async def test_embeddings_are_routed_and_mirrored_like_every_inference(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    publish_text(registry, "text-embed", seed=0)
    publish_text(registry, "text-embed", seed=1, promote=False)
    registry.canary("text-embed", "2", 50)
    registry.shadow("text-embed", "1")
    models = model_set(registry)
    body = json.dumps({"model": "text-embed", "input": ["the sun", "rain"]}).encode()
    answered = []
    for i in range(40):
        key = f"user-{i}"
        answer = await embeddings_answer(models, body, key)
        assert answer.status == 200
        expected = "2" if canary_by_hash("text-embed", key, 50) else "1"
        assert answer.headers["X-Model-Version"] == expected
        answered.append(expected)
    assert models.shadowing.flush()
    session = models.entries["text-embed"].session
    assert session is not None
    f = models.shadowing.record(session).summary.figures()
    assert f["requests"] == answered.count("1") > 0  # only the alias's answers are mirrored
    assert f["rows"] == 2 * f["requests"] and f["cosine_min"] == pytest.approx(1.0, abs=1e-6)
    await models.close()
