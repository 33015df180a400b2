"""BentoML's own API without batching, on the same ONNX model, as its docs show it."""

from __future__ import annotations

import os
from typing import Any

import bentoml
import numpy as np
import onnxruntime as ort

from export.registry import Registry

MODEL = os.environ.get("FERRY_PEER_MODEL", "tabular")


@bentoml.service(name="bentoml-unbatched", logging={"access": {"enabled": False}})
class BentoUnbatched:
    def __init__(self) -> None:
        artifact = Registry(os.environ["FERRY_REGISTRY"]).get(f"{MODEL}@production")
        self.session = ort.InferenceSession(
            str(artifact.model_path),
            providers=os.environ.get("FERRY_PROVIDERS", "CPUExecutionProvider").split(","),
        )
        self.dtypes = {s.name: s.dtype for s in artifact.manifest.signature.inputs}
        self.version = artifact.manifest.version

    @bentoml.api
    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        feeds = {n: np.asarray(v, dtype=self.dtypes[n]) for n, v in inputs.items()}
        outputs = self.session.run(None, feeds)
        names = [o.name for o in self.session.get_outputs()]
        return {
            "model_version": self.version,
            "outputs": {n: o.tolist() for n, o in zip(names, outputs, strict=True)},
        }
