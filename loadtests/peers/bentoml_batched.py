"""BentoML's own adaptive batching on the same ONNX model, as its docs show it."""

from __future__ import annotations

import os

import bentoml
import numpy as np
import onnxruntime as ort

from export.registry import Registry

MODEL = os.environ.get("FERRY_PEER_MODEL", "tabular")


@bentoml.service(name="bentoml-batched", logging={"access": {"enabled": False}})
class BentoBatched:
    def __init__(self) -> None:
        artifact = Registry(os.environ["FERRY_REGISTRY"]).get(f"{MODEL}@production")
        self.session = ort.InferenceSession(
            str(artifact.model_path), providers=["CPUExecutionProvider"]
        )
        self.input = self.session.get_inputs()[0].name

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=50)
    def predict(self, features: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.session.run(None, {self.input: features.astype(np.float32)})[0]
        return out
