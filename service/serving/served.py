"""One served version (a runtime and the batcher that feeds it) and one model's entry.

`serve_version` is the load → warm step of the model set's life cycle: it opens
the session, warms it at the shapes batches will take, and gives the version its
own batcher, so traffic to one version never waits in another's batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from export.registry import Artifact
from service.runtime import ModelRuntime
from service.runtime.settings import RuntimeSettings
from service.runtime.text import TEXT_INPUT, bucket_bounds
from service.runtime.text.padding import padded_join
from service.runtime.text.settings import TextSettings
from service.serving.batcher import Batcher, BatchHook
from service.serving.settings import BatchSettings
from service.serving.texts import infer_texts

log = logging.getLogger("ferry.service")


@dataclass
class ServedModel:
    """A runtime and the batcher that feeds it (with a text model's length buckets)."""

    runtime: ModelRuntime
    batcher: Batcher
    buckets: tuple[int, ...] = ()

    async def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs for inputs validated against `runtime.interface`."""
        if self.runtime.text is None:
            return await self.batcher.submit(inputs)
        return await self.infer_texts(inputs[TEXT_INPUT].tolist())

    async def infer_texts(self, texts: list[str]) -> dict[str, np.ndarray]:
        """A text model's outputs for validated strings, one row per text."""
        assert self.runtime.text is not None, f"{self.runtime.name} is not a text model"
        return await infer_texts(self.batcher, self.runtime.text, self.buckets, texts)


@dataclass(frozen=True)
class ModelEntry:
    """One model: the version its alias names and every version kept loaded.

    Immutable and replaced as a whole, so a request sees the old set or the new."""

    default: ServedModel
    versions: dict[str, ServedModel] = field(default_factory=dict)


def serve_version(
    artifact: Artifact,
    runtime_settings: RuntimeSettings,
    batching: BatchSettings,
    text_settings: TextSettings,
    on_batch: BatchHook | None = None,
) -> ServedModel:
    """Load and warm one version, and give it its batcher."""
    runtime = ModelRuntime.load(artifact, runtime_settings, warm_up=False)
    buckets: tuple[int, ...] = ()
    if runtime.text is None:
        runtime.warm_up(runtime_settings.warmup_rows)
    else:
        buckets = bucket_bounds(text_settings.buckets, runtime.text.max_length)
        # Every bucket's shapes at the sizes batches take alone and under load.
        for bound in buckets:
            runtime.warm_up((1, largest_batch(batching, bound)), (bound,))
    log.info(
        "loaded %s version %s on %s, %s",
        runtime.name,
        runtime.version,
        runtime.providers,
        runtime.placement.describe(),
    )
    batcher = Batcher(
        runtime.run,
        f"{runtime.name}:{runtime.version}",
        max_batch_size=batching.max_batch_size,
        max_latency_ms=batching.max_latency_ms,
        max_queue_rows=batching.max_queue_rows,
        retry_after_s=batching.retry_after_s,
        on_batch=on_batch,
        join=padded_join(runtime.text.pads()) if runtime.text else None,
        inline_below_ms=batching.inline_below_ms,
        instances=runtime.placement.instances,
        max_batch_tokens=batching.max_batch_tokens if runtime.text else 0,
    )
    return ServedModel(runtime, batcher, buckets)


def largest_batch(batching: BatchSettings, width: int) -> int:
    """The most rows of `width` tokens a text batch holds under both of its bounds."""
    if not batching.max_batch_tokens:
        return batching.max_batch_size
    return min(batching.max_batch_size, max(1, batching.max_batch_tokens // width))
