"""A tiny real image model (no torch): 1x8x8 images -> 10 class probabilities, like digits."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from export.manifest import MODEL_FILE, Manifest, Parity, sha256_file
from export.registry import Artifact, Registry
from export.signature import Signature, TensorSpec

SIZE, CLASSES = 8, 10


def image_softmax(seed: int) -> tuple[onnx.ModelProto, np.ndarray, np.ndarray]:
    """probabilities = softmax(flatten(images) @ W + b), images [batch, 1, 8, 8]."""
    rng = np.random.default_rng(seed)
    w = (rng.normal(size=(SIZE * SIZE, CLASSES)) / SIZE).astype(np.float32)
    b = rng.normal(size=(CLASSES,)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["images"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "W"], ["z0"]),
            helper.make_node("Add", ["z0", "b"], ["z"]),
            helper.make_node("Softmax", ["z"], ["probabilities"], axis=-1),
        ],
        "image_softmax",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 1, SIZE, SIZE])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", CLASSES])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    return model, w, b


def image_reference(images: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    z = images.reshape(len(images), -1).astype(np.float32) @ w + b
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def publish_image(registry: Registry, name: str = "digits", seed: int = 0) -> Artifact:
    """Publish and promote the image model like any artifact."""
    model, _, _ = image_softmax(seed)
    signature = Signature(
        (TensorSpec("images", "float32", (-1, 1, SIZE, SIZE)),),
        (TensorSpec("probabilities", "float32", (-1, CLASSES)),),
    )
    with registry.draft(name) as draft:
        onnx.save(model, draft.path / MODEL_FILE)
        Manifest(
            name=name,
            version=draft.version,
            signature=signature,
            labels=[str(i) for i in range(CLASSES)],
            files={MODEL_FILE: sha256_file(draft.path / MODEL_FILE)},
            parity=Parity(0.0, 1e-5, 0, True),
            created_at=datetime.now(UTC).isoformat(),
            opset=18,
            task="classification",
        ).write(draft.path)
        version = draft.version
    registry.promote(name, version)
    return registry.get(f"{name}:{version}")
