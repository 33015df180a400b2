"""Small real ONNX models built with onnx.helper, published like any artifact (no torch)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from export.manifest import MODEL_FILE, Manifest, Parity, sha256_file
from export.registry import Artifact, Registry
from export.signature import Signature, TensorSpec


def linear_softmax(
    n_features: int, n_classes: int, seed: int
) -> tuple[onnx.ModelProto, np.ndarray, np.ndarray]:
    """probabilities = softmax(features @ W + b), with a dynamic batch axis."""
    rng = np.random.default_rng(seed)
    w = (rng.normal(size=(n_features, n_classes)) / np.sqrt(n_features)).astype(np.float32)
    b = rng.normal(size=(n_classes,)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "W"], ["z0"]),
            helper.make_node("Add", ["z0", "b"], ["z"]),
            helper.make_node("Softmax", ["z"], ["probabilities"], axis=-1),
        ],
        "linear_softmax",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n_classes])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    return model, w, b


def reference(features: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    z = features.astype(np.float32) @ w + b
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def heavy_softmax(n_features: int, width: int, depth: int, seed: int = 0) -> onnx.ModelProto:
    """probabilities = softmax of `depth` tanh layers `width` wide: a model slow enough
    (depth x width^2 multiply-adds a row) that requests queue while it computes."""
    rng = np.random.default_rng(seed)
    sizes = [n_features, *[width] * depth, 2]
    nodes, weights, x = [], [], "features"
    for i, (rows, cols) in enumerate(itertools.pairwise(sizes)):
        w = (rng.normal(size=(rows, cols)) / np.sqrt(rows)).astype(np.float32)
        weights.append(numpy_helper.from_array(w, f"W{i}"))
        nodes.append(helper.make_node("MatMul", [x, f"W{i}"], [f"z{i}"]))
        x = f"z{i}"
        if i < depth:
            nodes.append(helper.make_node("Tanh", [x], [f"h{i}"]))
            x = f"h{i}"
    nodes.append(helper.make_node("Softmax", [x], ["probabilities"], axis=-1))
    graph = helper.make_graph(
        nodes,
        "heavy_softmax",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    return model


def publish_linear(
    registry: Registry,
    name: str = "tabular",
    n_features: int = 30,
    seed: int = 0,
    promote: bool = True,
) -> Artifact:
    model, _, _ = linear_softmax(n_features, 2, seed)
    return publish_model(registry, model, name, n_features, promote)


def publish_model(
    registry: Registry, model: onnx.ModelProto, name: str, n_features: int, promote: bool = True
) -> Artifact:
    """Publish a `features [-1, n] -> probabilities [-1, 2]` graph as the next version."""
    signature = Signature(
        (TensorSpec("features", "float32", (-1, n_features)),),
        (TensorSpec("probabilities", "float32", (-1, 2)),),
    )
    with registry.draft(name) as draft:
        onnx.save(model, draft.path / MODEL_FILE)
        Manifest(
            name=name,
            version=draft.version,
            signature=signature,
            labels=["negative", "positive"],
            files={MODEL_FILE: sha256_file(draft.path / MODEL_FILE)},
            parity=Parity(0.0, 1e-5, 0, True),
            created_at=datetime.now(UTC).isoformat(),
            opset=18,
            task="binary-classification",
            features=[f"f{i}" for i in range(n_features)],
        ).write(draft.path)
        version = draft.version
    if promote:
        registry.promote(name, version)
    return registry.get(f"{name}:{version}")
