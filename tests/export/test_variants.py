"""int8 / fp16 variants: new versions with measured quality and speed; the source is untouched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from export.errors import ExportError, IntegrityError
from export.manifest import MODEL_FILE, Manifest, sha256_file
from export.optimize import gemm_as_matmul, sort_nodes
from export.probe import load_inputs
from export.registry import Artifact, Registry
from export.variants import publish_variant
from tests.support.text_models import TOKENIZER_FILE, publish_text
from training.pipeline import publish_trained
from training.recipes import Trained

FAST = {"rounds": 1, "batch": 64}


@pytest.fixture(scope="module")
def tabular(tabular_trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    """The trained tabular MLP published as `tabular:1` in a registry of this module's own."""
    registry = Registry(tmp_path_factory.mktemp("variants") / "registry")
    return publish_trained(tabular_trained, registry, "tabular", promote=False)


def _session(artifact: Artifact) -> ort.InferenceSession:
    return ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("precision", ["int8", "fp16"])
def test_variant_is_a_new_version_with_quality_and_speed(tabular: Artifact, precision: str) -> None:
    registry = Registry(tabular.path.parent.parent)
    before = {f: sha256_file(tabular.path / f) for f in tabular.manifest.files}
    aliases = registry.aliases("tabular")

    variant = publish_variant(registry, "tabular:1", precision, **FAST)

    m = variant.manifest
    assert m.version != "1" and m.name == "tabular"
    assert m.variant["precision"] == precision and m.variant["source_version"] == "1"
    quality, speed = m.variant["quality"], m.variant["speed"]
    assert set(quality) == {"max_abs_diff", "cosine_min", "cosine_mean", "rows"}
    # random rows around the in-graph standardisation statistics: int8's worst case (see
    # export.probe); real rows are measured in test_given_inputs_are_used_and_checked
    assert (quality["rows"], m.variant["measured_on"]) == (256, "random rows")
    # measured on this model: int8 min 0.876 / mean 0.9945 (other seeds: 0.92 / 0.995);
    # fp16 min 1 - 1.5e-6
    floor, mean_floor = {"int8": (0.85, 0.99), "fp16": (0.9999, 0.99999)}[precision]
    assert quality["cosine_min"] > floor and quality["cosine_mean"] > mean_floor
    assert quality["cosine_mean"] >= quality["cosine_min"]
    assert set(speed) == {"rows_per_s", "source_rows_per_s", "batch", "threads", "provider"}
    assert speed["rows_per_s"] > 0 and speed["source_rows_per_s"] > 0
    assert (speed["batch"], speed["threads"], speed["provider"]) == (64, 1, "CPUExecutionProvider")
    # the contract of the source stays: same signature, labels, features, training record
    for field in ("signature", "labels", "features", "task", "preprocessing", "training"):
        assert getattr(m, field) == getattr(tabular.manifest, field)
    assert m.parity.passed and m.parity.max_abs_diff == quality["max_abs_diff"]
    assert m.files == {MODEL_FILE: sha256_file(variant.model_path)}
    # the source version is only read, and no alias moved
    assert {f: sha256_file(tabular.path / f) for f in tabular.manifest.files} == before
    assert registry.get("tabular:1").manifest.variant == {}
    assert registry.aliases("tabular") == aliases
    meta = _session(variant).get_modelmeta().custom_metadata_map
    assert json.loads(meta["variant"]) == m.variant and meta["version"] == m.version


def test_int8_quantises_the_mlp_and_fp16_keeps_fp32_inputs_and_outputs(
    tabular: Artifact,
) -> None:
    registry = Registry(tabular.path.parent.parent)
    int8 = publish_variant(registry, "tabular:1", "int8", **FAST)
    ops = {node.op_type for node in onnx.load(str(int8.model_path)).graph.node}
    assert "MatMulInteger" in ops and "Gemm" not in ops  # Gemm rewritten, then quantised
    fp16 = publish_variant(registry, "tabular:1", "fp16", **FAST)
    session = _session(fp16)
    assert [i.type for i in session.get_inputs()] == ["tensor(float)"]
    assert [o.type for o in session.get_outputs()] == ["tensor(float)"]
    x = np.random.default_rng(0).normal(10, 5, size=(3, 30)).astype(np.float32)
    assert session.run(None, {"features": x})[0].dtype == np.float32


def _raw(path: Path) -> ort.InferenceSession:
    """A session of our own: one thread, like the variant's measurement, so sums agree."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _measured(source: Path, variant: Path, rows: np.ndarray, batch: int) -> dict[str, float]:
    """Max |diff| and min / mean cosine of the variant's rows to the source's, in numpy,
    over `rows` in batches of `batch` (int8 scales activations per batch, so batches matter)."""
    want, got = [], []
    for start in range(0, len(rows), batch):
        feeds = {"features": rows[start : start + batch]}
        want.append(_raw(source).run(None, feeds)[0])
        got.append(_raw(variant).run(None, feeds)[0])
    a, b = np.concatenate(want).astype(np.float64), np.concatenate(got).astype(np.float64)
    cosine = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {
        "max_abs_diff": float(np.abs(a - b).max()),
        "cosine_min": float(cosine.min()),
        "cosine_mean": float(cosine.mean()),
    }


def _weights(path: Path) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


@pytest.mark.parametrize(
    ("precision", "weight_type", "most_diff", "least_cosine"),
    # the floors, on the 114 held-out rows; measured: int8 max |diff| 0.028, min cosine
    # 0.9995; fp16 6.7e-4, 0.999999
    [("int8", np.int8, 0.1, 0.99), ("fp16", np.float16, 5e-3, 0.99999)],
)
def test_variant_quality_is_what_an_independent_run_measures(
    tabular: Artifact,
    tabular_trained: Trained,
    precision: str,
    weight_type: type,
    most_diff: float,
    least_cosine: float,
) -> None:
    registry = Registry(tabular.path.parent.parent)
    rows = tabular_trained.sample_inputs["features"]  # the test split, never trained on
    variant = publish_variant(registry, "tabular:1", precision, inputs={"features": rows}, **FAST)

    # the graph changed: lower-precision weights, and none of the source's fp32 matrices
    source_w, variant_w = _weights(tabular.model_path), _weights(variant.model_path)
    assert any(w.dtype == weight_type and w.ndim == 2 for w in variant_w.values())
    matrices = [w for w in source_w.values() if w.ndim == 2]
    assert matrices and not any(
        w.dtype == np.float32
        and any(np.array_equal(w, m) or np.array_equal(w, m.T) for m in matrices)
        for w in variant_w.values()
    )
    # its outputs differ a little, and the manifest records exactly what we measure here
    measured = _measured(tabular.model_path, variant.model_path, rows, FAST["batch"])
    assert 1e-6 < measured["max_abs_diff"] < most_diff
    assert least_cosine < measured["cosine_min"] < 1.0
    quality = variant.manifest.variant["quality"]
    assert quality["rows"] == len(rows) == 114
    for key, value in measured.items():
        assert quality[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key


def test_gemm_as_matmul_computes_the_same() -> None:
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
        "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    rewritten = gemm_as_matmul(model)
    onnx.checker.check_model(rewritten, full_check=True)
    assert [n.op_type for n in rewritten.graph.node] == ["MatMul", "Add"]
    assert "w" not in {i.name for i in rewritten.graph.initializer}  # no second copy kept
    x = rng.normal(size=(5, 4)).astype(np.float32)
    session = ort.InferenceSession(
        rewritten.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    np.testing.assert_allclose(session.run(None, {"x": x})[0], x @ w.T + b, rtol=1e-5, atol=1e-6)


def test_sort_nodes_orders_readers_after_writers() -> None:
    nodes = [
        helper.make_node("Relu", ["b"], ["c"], "second"),
        helper.make_node("Neg", ["a"], ["b"], "first"),
        helper.make_node("Abs", ["a"], ["d"], "independent"),
    ]
    graph = helper.make_graph(
        nodes,
        "unsorted",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2])],
        [
            helper.make_tensor_value_info("c", TensorProto.FLOAT, [2]),
            helper.make_tensor_value_info("d", TensorProto.FLOAT, [2]),
        ],
    )
    sort_nodes(graph)
    assert [n.name for n in graph.node] == ["first", "second", "independent"]
    graph.node.append(helper.make_node("Neg", ["c"], ["a2"], "loop_a"))
    graph.node[0].input[0] = "a2"  # first now reads what the last writes: a cycle
    with pytest.raises(ExportError, match="has a cycle"):
        sort_nodes(graph)


def test_text_variant_carries_the_tokenizer_hashed(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    source = publish_text(registry, "tiny-text", classes=3, promote=True)

    variant = publish_variant(registry, "tiny-text@production", "int8", **FAST)

    m = variant.manifest
    assert set(m.files) == {MODEL_FILE, TOKENIZER_FILE}
    assert m.files[TOKENIZER_FILE] == source.manifest.files[TOKENIZER_FILE]
    assert (variant.path / TOKENIZER_FILE).read_bytes() == (
        source.path / TOKENIZER_FILE
    ).read_bytes()
    assert m.preprocessing == source.manifest.preprocessing
    assert m.variant["quality"]["rows"] == 40
    assert m.variant["measured_on"] == "built-in held-out texts"
    assert registry.aliases("tiny-text") == {"production": "1"}
    (variant.path / TOKENIZER_FILE).write_text("{}")
    with pytest.raises(IntegrityError, match=r"tokenizer\.json"):
        Manifest.read(variant.path).verify_files(variant.path)


def test_variant_of_a_variant_is_refused_and_leaves_nothing(tabular: Artifact) -> None:
    registry = Registry(tabular.path.parent.parent)
    int8 = publish_variant(registry, "tabular:1", "fp16", **FAST)
    versions = registry.versions("tabular")
    with pytest.raises(ExportError, match=r"already a fp16 variant of tabular:1"):
        publish_variant(registry, f"tabular:{int8.manifest.version}", "int8", **FAST)
    with pytest.raises(ExportError, match="unknown precision 'int4'"):
        publish_variant(registry, "tabular:1", "int4", **FAST)
    assert registry.versions("tabular") == versions
    assert registry.orphans() == []


def test_given_inputs_are_used_and_checked(tabular: Artifact, tmp_path: Path) -> None:
    registry = Registry(tabular.path.parent.parent)
    rows = np.random.default_rng(1).normal(10, 5, size=(20, 30)).astype(np.float32)
    np.savez(tmp_path / "rows.npz", features=rows)
    variant = publish_variant(
        registry, "tabular:1", "int8", inputs=load_inputs(tmp_path / "rows.npz"), **FAST
    )
    assert variant.manifest.variant["quality"]["rows"] == 20
    assert variant.manifest.variant["measured_on"] == "given rows"
    assert variant.manifest.variant["quality"]["cosine_min"] > 0.99
    with pytest.raises(ExportError, match="no rows for input 'features'"):
        publish_variant(registry, "tabular:1", "int8", inputs={"x": rows}, **FAST)


def test_manifests_written_before_variants_still_load(tabular: Artifact, tmp_path: Path) -> None:
    data = tabular.manifest.to_dict()
    del data["variant"]
    assert Manifest.from_dict(data).variant == {}
