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
from service.runtime.instances import Instances, open_instances
from service.runtime.placement import Placement
from service.runtime.settings import RuntimeSettings
from service.runtime.text import TEXT_INPUT, TextTokenizer, served_signature

# A text model's probe: at most this many rows of this many tokens (a transformer's
# row takes milliseconds on one thread; see service.runtime.placement).
TEXT_PROBE_ROWS, TEXT_PROBE_TOKENS = 8, 16


@dataclass
class ModelRuntime:
    """Inference sessions ready to run, plus what they need to describe themselves.

    `session` is the first instance; a model placed on several instances runs a
    batch on whichever is free (`instances`), so several batches can be in flight."""

    manifest: Manifest
    session: ort.InferenceSession
    providers: list[str]
    text: TextTokenizer | None = None
    loaded_at: float = field(default_factory=time.time)
    placement: Placement = field(default_factory=Placement)
    instances: Instances | None = None

    def __post_init__(self) -> None:
        if self.instances is None:
            self.instances = Instances([self.session])
        self._outputs = [spec.name for spec in self.signature.outputs]

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
    def output_names(self) -> list[str]:
        """The graph's outputs, in signature order."""
        return self._outputs

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
            rows = settings.probe_rows
            probe = (
                text.example(min(rows, TEXT_PROBE_ROWS), min(TEXT_PROBE_TOKENS, text.max_length))
                if text
                else example_inputs(manifest.signature, rows)
            )
            opened = open_instances(
                artifact.model_path,
                settings,
                manifest.signature,
                manifest.name,
                probe,
                spec.max_length if spec else 128,
            )
        except ProviderUnavailable:
            raise
        except Exception as err:  # ONNX Runtime's load errors subclass plain Exception
            raise ModelLoadError(f"cannot load {manifest.name}:{manifest.version}: {err}") from err
        sessions = opened.instances.sessions
        runtime = cls(
            manifest,
            sessions[0],
            opened.providers,
            text,
            placement=opened.placement,
            instances=opened.instances,
        )
        if warm_up:
            runtime.warm_up(settings.warmup_rows)
        return runtime

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Score validated inputs; returns every output of the signature by name."""
        assert self.instances is not None
        results = self.instances.run(self._outputs, inputs)
        return dict(zip(self._outputs, results, strict=True))

    def predict(
        self, inputs: dict[str, np.ndarray], max_tokens: int = 8192
    ) -> dict[str, np.ndarray]:
        """Outputs for inputs of `interface`, row for row. A text model's strings are
        tokenised and run in batches of similar length, each at most `max_tokens` tokens
        once padded: batch scoring hands over thousands of texts at once."""
        if self.text is None:
            return self.run(inputs)
        tokens = self.text.encode(inputs[TEXT_INPUT].tolist())
        chunks = tokens.chunks(max_tokens)
        results = [self.run(self.text.feeds(tokens.take(rows))) for rows in chunks]
        order = np.argsort(np.concatenate(chunks))
        return {n: np.concatenate([r[n] for r in results])[order] for n in self._outputs}

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
        assert self.instances is not None
        for rows in batch_sizes:
            if self.text is None:
                self.instances.run_each(self._outputs, example_inputs(self.signature, rows))
                continue
            for length in lengths or (self.text.max_length,):
                self.instances.run_each(self._outputs, self.text.example(rows, length))

    def describe(self) -> dict[str, object]:
        about: dict[str, object] = {
            "name": self.name,
            "version": self.version,
            "providers": self.providers,
            "loaded_at": self.loaded_at,
            **self.placement.describe(),
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
