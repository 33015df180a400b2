"""A loaded model: one ONNX Runtime session with its manifest. No BentoML, no HTTP.

The same class serves HTTP requests and batch scoring, so both give identical
predictions for the same rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort

from export.errors import ExportError
from export.manifest import Manifest
from export.registry import Artifact
from export.signature import Signature
from service.errors import ModelLoadError
from service.providers import check_actual, requested
from service.settings import RuntimeSettings

ort.set_default_logger_severity(3)  # fallback chatter is reported by check_actual instead


@dataclass
class ModelRuntime:
    """An inference session ready to run, plus what it needs to describe itself."""

    manifest: Manifest
    session: ort.InferenceSession
    providers: list[str]
    loaded_at: float = field(default_factory=time.time)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def signature(self) -> Signature:
        return self.manifest.signature

    @classmethod
    def load(cls, artifact: Artifact, settings: RuntimeSettings | None = None) -> ModelRuntime:
        """Verify the artifact's sha256, open a session on the configured providers, warm it up."""
        settings = settings or RuntimeSettings()
        manifest = artifact.manifest
        try:
            artifact.verify()
            options = ort.SessionOptions()
            options.intra_op_num_threads = settings.intra_op_threads
            options.inter_op_num_threads = 1
            wanted = requested(settings.providers)
            session = ort.InferenceSession(str(artifact.model_path), options, providers=wanted)
        except (ExportError, OSError, RuntimeError, ValueError) as err:
            raise ModelLoadError(f"cannot load {manifest.name}:{manifest.version}: {err}") from err
        actual = check_actual(session, wanted, settings.require_gpu, manifest.name)
        runtime = cls(manifest, session, actual)
        runtime.warm_up(settings.warmup_rows)
        return runtime

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Score validated inputs; returns every output of the signature by name."""
        names = [spec.name for spec in self.signature.outputs]
        results = self.session.run(names, inputs)
        return dict(zip(names, results, strict=True))

    def label_indices(self, results: dict[str, np.ndarray]) -> np.ndarray | None:
        """Each row's predicted class as an index into `manifest.labels`, for labelled models.

        HTTP answers and batch scoring both name predictions through this method.
        """
        labels = self.manifest.labels
        first = results[self.signature.outputs[0].name]
        if labels and first.ndim == 2 and first.shape[1] == len(labels):
            return np.asarray(first.argmax(axis=1))
        return None

    def warm_up(self, batch_sizes: tuple[int, ...]) -> None:
        """Run a few batches so the first real request does not pay for allocation."""
        for rows in batch_sizes:
            self.run(example_inputs(self.signature, rows))

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "providers": self.providers,
            "loaded_at": self.loaded_at,
        }


def example_inputs(signature: Signature, rows: int) -> dict[str, np.ndarray]:
    """Zeros of the right dtype and shape, with `rows` on the batch axis."""
    return {
        spec.name: np.zeros([rows if d == -1 else d for d in spec.shape], dtype=spec.dtype)
        for spec in signature.inputs
    }
