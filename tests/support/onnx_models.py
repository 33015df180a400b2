"""Small real ONNX models built with onnx.helper, published like any artifact (no torch)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from export.drift import build_reference
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
    drift_rows: np.ndarray | None = None,
) -> Artifact:
    """Publish a linear model; with `drift_rows`, reference statistics of those rows and of
    the model's outputs on them go into the manifest, as `publish` records them."""
    model, w, b = linear_softmax(n_features, 2, seed)
    drift = {}
    if drift_rows is not None:
        rows = np.asarray(drift_rows, dtype=np.float32)
        outputs = {"probabilities": reference(rows, w, b).astype(np.float32)}
        built = build_reference(
            _signature(n_features), {"features": rows}, outputs,
            features=_features(n_features), labels=LABELS,
        )  # fmt: skip
        drift = built.to_dict()
    return publish_model(registry, model, name, n_features, promote, drift)


LABELS = ["negative", "positive"]


def _signature(n_features: int) -> Signature:
    return Signature(
        (TensorSpec("features", "float32", (-1, n_features)),),
        (TensorSpec("probabilities", "float32", (-1, 2)),),
    )


def _features(n_features: int) -> list[str]:
    return [f"f{i}" for i in range(n_features)]


def publish_model(
    registry: Registry,
    model: onnx.ModelProto,
    name: str,
    n_features: int,
    promote: bool = True,
    drift: dict[str, object] | None = None,
) -> Artifact:
    """Publish a `features [-1, n] -> probabilities [-1, 2]` graph as the next version."""
    signature, features, labels = _signature(n_features), _features(n_features), LABELS
    with registry.draft(name) as draft:
        onnx.save(model, draft.path / MODEL_FILE)
        Manifest(
            name=name,
            version=draft.version,
            signature=signature,
            labels=labels,
            files={MODEL_FILE: sha256_file(draft.path / MODEL_FILE)},
            parity=Parity(0.0, 1e-5, 0, True),
            created_at=datetime.now(UTC).isoformat(),
            opset=18,
            task="binary-classification",
            features=features,
            drift=drift or {},
        ).write(draft.path)
        version = draft.version
    if promote:
        registry.promote(name, version)
    return registry.get(f"{name}:{version}")


def publish_broken(registry: Registry, name: str, fault: str, promote: bool = True) -> Artifact:
    """A version whose sha256 matches its manifest but which fails in ONNX Runtime.

    `fault="load"`: `model.onnx` is not an ONNX graph at all (ONNX Runtime refuses to
    open it). `fault="warm"`: a valid graph that opens but fails on every run (a
    Reshape to 7 values of a [batch, 30] input), so warm-up is what fails.
    """
    artifact = publish_linear(registry, name, promote=False)
    if fault == "load":
        payload = b"this is not an ONNX graph"
    else:
        graph = helper.make_graph(
            [helper.make_node("Reshape", ["features", "seven"], ["probabilities"])],
            "fails_at_run",
            [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 30])],
            [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
            [numpy_helper.from_array(np.array([7], dtype=np.int64), "seven")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 10
        payload = model.SerializeToString()
    with registry.draft(name) as draft:
        (draft.path / MODEL_FILE).write_bytes(payload)
        manifest = artifact.manifest.to_dict()
        manifest.update(
            version=draft.version, files={MODEL_FILE: sha256_file(draft.path / MODEL_FILE)}
        )
        Manifest.from_dict(manifest).write(draft.path)
        version = draft.version
    if promote:
        registry.promote(name, version)
    return registry.get(f"{name}:{version}")


def publish_image(
    registry: Registry, name: str = "digits", size: int = 8, seed: int = 0
) -> Artifact:
    """An image classifier like the digits CNN's interface: images [batch, 1, size, size]
    -> probabilities [batch, 10] (a flatten, a linear layer and a softmax)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(size * size, 10)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["images"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "W"], ["z"]),
            helper.make_node("Softmax", ["z"], ["probabilities"], axis=-1),
        ],
        "tiny_image",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 1, size, size])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        [numpy_helper.from_array(w, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    signature = Signature(
        (TensorSpec("images", "float32", (-1, 1, size, size)),),
        (TensorSpec("probabilities", "float32", (-1, 10)),),
    )
    with registry.draft(name) as draft:
        onnx.save(model, draft.path / MODEL_FILE)
        Manifest(
            name=name,
            version=draft.version,
            signature=signature,
            labels=[str(i) for i in range(10)],
            files={MODEL_FILE: sha256_file(draft.path / MODEL_FILE)},
            parity=Parity(0.0, 1e-5, 0, True),
            created_at=datetime.now(UTC).isoformat(),
            opset=18,
            task="classification",
        ).write(draft.path)
        version = draft.version
    registry.promote(name, version)
    return registry.get(f"{name}:{version}")
