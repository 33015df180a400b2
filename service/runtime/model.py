"""A loaded model: one ONNX Runtime session with its manifest. No BentoML, no HTTP.

The same class serves HTTP requests and batch scoring, so both give identical
predictions for the same rows. A text model also carries the tokenizer shipped
in its artifact; its clients send strings (`interface`), the graph gets tokens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort

from export.manifest import Manifest
from export.registry import Artifact
from export.signature import Signature
from export.tokenizer import TokenizerSpec
from service.runtime.errors import ModelLoadError, ProviderUnavailable
from service.runtime.session import open_runtime_session
from service.runtime.settings import RuntimeSettings
from service.runtime.text import TextTokenizer, served_signature


@dataclass
class ModelRuntime:
    """An inference session ready to run, plus what it needs to describe itself."""

    manifest: Manifest
    session: ort.InferenceSession
    providers: list[str]
    text: TextTokenizer | None = None
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

    @property
    def interface(self) -> Signature:
        """The tensors clients send and receive: a text model takes strings, not tokens."""
        return served_signature(self.signature) if self.text else self.signature

    @classmethod
    def load(
        cls, artifact: Artifact, settings: RuntimeSettings | None = None, warm_up: bool = True
    ) -> ModelRuntime:
        """Verify the artifact's sha256 (tokenizer included), open a session, warm it up.

        `warm_up=False` leaves warming to the caller (the service warms text models
        per length bucket).
        """
        settings = settings or RuntimeSettings()
        manifest = artifact.manifest
        try:
            spec = TokenizerSpec.from_manifest(manifest)
            artifact.verify()
            text = TextTokenizer.load(artifact.path, spec) if spec else None
            session, actual = open_runtime_session(
                artifact.model_path,
                settings,
                manifest.signature,
                manifest.name,
                spec.max_length if spec else 128,
            )
        except ProviderUnavailable:
            raise
        except Exception as err:  # ONNX Runtime's load errors subclass plain Exception
            raise ModelLoadError(f"cannot load {manifest.name}:{manifest.version}: {err}") from err
        runtime = cls(manifest, session, actual, text)
        if warm_up:
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

    def warm_up(self, batch_sizes: tuple[int, ...], lengths: tuple[int, ...] = ()) -> None:
        """Run a few batches so the first real request does not pay for allocation.

        Text models run each batch size at each token length in `lengths` (default:
        the max length), since every new shape allocates anew.
        """
        for rows in batch_sizes:
            if self.text is None:
                self.run(example_inputs(self.signature, rows))
                continue
            for length in lengths or (self.text.max_length,):
                self.run(self.text.example(rows, length))

    def describe(self) -> dict[str, object]:
        about: dict[str, object] = {
            "name": self.name,
            "version": self.version,
            "providers": self.providers,
            "loaded_at": self.loaded_at,
        }
        if self.text is not None:
            about["task"] = self.manifest.task
            about["max_length"] = self.text.max_length
        if self.manifest.variant:
            about["variant"] = self.manifest.variant
        return about


def example_inputs(signature: Signature, rows: int) -> dict[str, np.ndarray]:
    """Zeros of the right dtype and shape, with `rows` on the batch axis."""
    return {
        spec.name: np.zeros([rows if d == -1 else d for d in spec.shape], dtype=spec.dtype)
        for spec in signature.inputs
    }
