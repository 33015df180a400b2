"""One served version (a runtime and the batcher that feeds it) and one model's entry.

`serve_version` is the load → warm step of the model set's life cycle: it opens
the session, warms it at the shapes batches will take, and gives the version its
own batcher, so traffic to one version never waits in another's batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from export.registry import Artifact, Rollout
from service.runtime import ModelRuntime
from service.runtime.errors import ModelLoadError
from service.runtime.settings import RuntimeSettings
from service.runtime.text import TEXT_INPUT, bucket_bounds
from service.runtime.text.padding import padded_join
from service.runtime.text.settings import TextSettings
from service.serving.batcher import Batcher, BatchHook, BatchTracer, StatsHook
from service.serving.monitoring import Monitoring
from service.serving.settings import BatchSettings
from service.serving.shadow import Session
from service.serving.texts import infer_texts, infer_tokens, tokenize

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

    async def infer_counted(self, texts: list[str]) -> tuple[dict[str, np.ndarray], int]:
        """A text model's outputs and the number of tokens it read (special tokens
        included, after truncation to its max length)."""
        assert self.runtime.text is not None, f"{self.runtime.name} is not a text model"
        tokens = await tokenize(self.runtime.text, texts)
        results = await infer_tokens(self.batcher, self.runtime.text, self.buckets, tokens)
        return results, int(tokens.lengths.sum())


@dataclass(frozen=True)
class Target:
    """What the registry wants loaded for one model: the alias's version, all kept ones,
    and the alias's rollout (its canary and shadow, loaded beside them)."""

    default: str
    versions: tuple[str, ...]
    rollout: Rollout = field(default_factory=Rollout)


@dataclass(frozen=True)
class ModelEntry:
    """One model: the version its alias names, every version kept loaded, and the
    alias's rollout with its canary and shadow as loaded (None: off, or failed to load:
    `problems` says why).

    Immutable and replaced as a whole, so a request sees the old set or the new."""

    default: ServedModel
    versions: dict[str, ServedModel] = field(default_factory=dict)
    rollout: Rollout = field(default_factory=Rollout)
    canary: ServedModel | None = None
    shadow: ServedModel | None = None
    session: Session | None = None  # the shadow's report session, when it serves
    route: int | None = None  # the shadow's route (`ShadowWorker.open_route`), when it serves
    problems: dict[str, str] = field(default_factory=dict)
    target: Target | None = None  # what it was loaded for

    def describe_rollout(self) -> dict[str, object] | None:
        """The rollout for `/status`: as the registry says, and what loaded."""
        if self.rollout.empty:
            return None
        about: dict[str, object] = {**self.rollout.to_dict()}
        if self.rollout.canary is not None:
            about["canary_loaded"] = self.canary is not None
        if self.rollout.shadow is not None:
            about["shadow_loaded"] = self.shadow is not None
        if self.problems:
            about["problems"] = dict(self.problems)
        return about


def serve_version(
    artifact: Artifact,
    runtime_settings: RuntimeSettings,
    batching: BatchSettings,
    text_settings: TextSettings,
    on_batch: BatchHook | None = None,
    on_stats: StatsHook | None = None,
    tracer: BatchTracer | None = None,
    monitoring: Monitoring | None = None,
) -> ServedModel:
    """Load and warm one version, and give it its batcher (with the metrics and trace
    hooks, if any; its runs watched by `monitoring`, if given)."""
    runtime = ModelRuntime.load(artifact, runtime_settings, warm_up=False)
    buckets: tuple[int, ...] = ()
    try:
        if runtime.text is None:
            runtime.warm_up(runtime_settings.warmup_rows)
        else:
            buckets = bucket_bounds(text_settings.buckets, runtime.text.max_length)
            # Every bucket's shapes at the sizes batches take alone and under load.
            for bound in buckets:
                runtime.warm_up((1, largest_batch(batching, bound)), (bound,))
    except Exception as err:  # ONNX Runtime's run errors subclass plain Exception
        where = f"{runtime.name}:{runtime.version}"
        raise ModelLoadError(f"{where} failed its warm-up run: {_first_line(err)}") from err
    log.info(
        "loaded %s version %s on %s, %s",
        runtime.name,
        runtime.version,
        runtime.providers,
        runtime.placement.describe(),
    )
    batcher = Batcher(
        monitoring.watch(runtime) if monitoring else runtime.run,  # warm-up runs unwatched
        f"{runtime.name}:{runtime.version}",
        max_batch_size=batching.max_batch_size,
        max_latency_ms=batching.max_latency_ms,
        max_queue_rows=batching.max_queue_rows,
        retry_after_s=batching.retry_after_s,
        on_batch=on_batch,
        join=padded_join(runtime.text.pads()) if runtime.text else None,
        inline_below_ms=batching.inline_below_ms,
        on_stats=on_stats,
        tracer=tracer,
        count_tokens=_token_count(runtime.text.spec.input_ids) if runtime.text else None,
        instances=runtime.placement.instances,
        max_batch_tokens=batching.max_batch_tokens if runtime.text else 0,
    )
    return ServedModel(runtime, batcher, buckets)


def largest_batch(batching: BatchSettings, width: int) -> int:
    """The most rows of `width` tokens a text batch holds under both of its bounds."""
    if not batching.max_batch_tokens:
        return batching.max_batch_size
    return min(batching.max_batch_size, max(1, batching.max_batch_tokens // width))


def _first_line(err: Exception, limit: int = 300) -> str:
    """ONNX Runtime's messages run to several lines of C++ context; the first says what."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _token_count(input_ids: str) -> Callable[[dict[str, np.ndarray]], int]:
    """Token positions a text batch computes: rows x its padded length."""
    return lambda feeds: int(feeds[input_ids].size)
