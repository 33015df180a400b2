"""What the batcher reports about each batch, and the Prometheus figures made from it."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import numpy as np
import prometheus_client as prom
from tokenizers import Tokenizer

from export.registry import Registry
from service.serving.batcher import Batcher, BatchStats
from service.serving.handlers import Answer
from service.serving.metrics import Metrics
from service.serving.protocol.response import VERSION_HEADER
from service.serving.tally import Tally
from tests.support.text_models import TOKENIZER_FILE, publish_text, text_model_set


def rows(n: int) -> dict[str, np.ndarray]:
    return {"x": np.ones((n, 2), dtype=np.float32)}


async def test_stats_give_each_request_its_queue_wait_and_the_model_time() -> None:
    seen: list[BatchStats] = []
    release, entered = threading.Event(), threading.Event()

    def slow(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        entered.set()
        release.wait(10)
        return {"y": inputs["x"]}

    batcher = Batcher(slow, "m:3", max_batch_size=16, on_stats=seen.append, inline_below_ms=0)
    first = asyncio.ensure_future(batcher.submit(rows(1)))
    assert await asyncio.to_thread(entered.wait, 10)
    queued_at = time.perf_counter()
    later = [asyncio.ensure_future(batcher.submit(rows(2))) for _ in range(3)]
    await asyncio.sleep(0)  # the three reach the queue, behind the running batch
    assert batcher.queued_rows == 6 and batcher.in_flight == 4
    waited = time.perf_counter() - queued_at
    release.set()
    await asyncio.gather(first, *later)
    assert batcher.in_flight == 0 and batcher.queued_rows == 0
    lone, grouped = seen
    assert (lone.rows, lone.requests, len(lone.waits)) == (1, 1, 1)
    assert (grouped.rows, grouped.requests, len(grouped.waits)) == (6, 3, 3)
    assert min(grouped.waits) >= waited, "they waited at least while the first batch ran"
    assert lone.compute_s >= waited and lone.compute_s <= lone.seconds
    assert grouped.tokens == 0 and grouped.name == "m:3"
    await batcher.close()


async def test_text_batches_count_the_token_positions_they_compute(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    artifact = publish_text(registry, "text-embed")
    models = text_model_set(registry)
    seen: list[BatchStats] = []
    served = models.get("text-embed")
    served.batcher.on_stats = seen.append
    texts = ["the sun", "rain and news today"]
    _, used = await served.infer_counted(texts)
    tokenizer = Tokenizer.from_file(str(artifact.path / TOKENIZER_FILE))
    tokenizer.no_padding()
    lengths = [len(tokenizer.encode(t).ids) for t in texts]
    assert used == sum(lengths)  # real tokens, [CLS] and [SEP] included
    assert seen[0].tokens == len(texts) * max(lengths)  # rows x the padded length
    await models.close()


def test_metrics_carry_model_and_version_only() -> None:
    registry = prom.CollectorRegistry()
    metrics = Metrics.create(registry)
    metrics.observe_batch(BatchStats("digits:2", 32, 2, 0.004, 0.003, (0.001, 0.002), 0))
    metrics.observe_batch(BatchStats("text:1", 4, 1, 0.02, 0.01, (0.0,), 4 * 17))
    ok = Answer(200, b"", {VERSION_HEADER: "2"}, "digits")
    metrics.request("/v2/infer", ok, 0.012)
    metrics.request("/v2/infer", Answer(400, b""), 0.001)
    labels = {"model": "digits", "version": "2"}
    assert registry.get_sample_value("ferry_batch_rows_count", labels) == 0  # tallied only
    metrics.publish([])

    def value(name: str, **extra: str) -> float | None:
        return registry.get_sample_value(name, {**labels, **extra})

    assert value("ferry_batch_rows_sum") == 32 and value("ferry_batch_requests_sum") == 2
    assert value("ferry_batch_compute_seconds_sum") == 0.003
    assert value("ferry_queue_wait_seconds_count") == 2
    assert value("ferry_queue_wait_seconds_sum") == 0.003
    assert value("ferry_batch_tokens_count") is None  # tabular batches have no tokens
    assert (
        registry.get_sample_value("ferry_batch_tokens_sum", {"model": "text", "version": "1"}) == 68
    )
    assert value("ferry_request_end_to_end_seconds_count") == 1  # the 400 is not counted here
    assert value("ferry_request_end_to_end_seconds_bucket", le="0.0125") == 1
    assert value("ferry_request_end_to_end_seconds_bucket", le="0.01") == 0
    codes = {"endpoint": "/v2/infer"}
    assert registry.get_sample_value("ferry_request_seconds_count", {**codes, "code": "400"}) == 1
    for metric in registry.collect():
        if metric.name.startswith(("ferry_batch", "ferry_queue", "ferry_request_end")):
            names = {tuple(sorted(set(s.labels) - {"le"})) for s in metric.samples}
            assert names <= {("model", "version")}, metric.name


async def test_gauges_are_sampled_and_zeroed_for_retired_versions() -> None:
    registry = prom.CollectorRegistry()
    metrics = Metrics.create(registry)
    release, entered = threading.Event(), threading.Event()

    def held(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        entered.set()
        release.wait(10)
        return inputs

    batcher = Batcher(held, "m:1", inline_below_ms=0)

    class Version:
        def __init__(self) -> None:
            self.runtime = type("R", (), {"name": "m", "version": "1"})()
            self.batcher = batcher

    version = Version()
    running = asyncio.ensure_future(batcher.submit(rows(1)))
    assert await asyncio.to_thread(entered.wait, 10)
    queued = asyncio.ensure_future(batcher.submit(rows(3)))
    await asyncio.sleep(0)  # it reaches the queue
    metrics.sample([version])  # type: ignore[list-item]
    labels = {"model": "m", "version": "1"}
    assert registry.get_sample_value("ferry_queue_rows", labels) == 3
    assert registry.get_sample_value("ferry_in_flight_requests", labels) == 2
    release.set()
    await asyncio.gather(running, queued)
    metrics.sample([])  # the version was retired
    assert registry.get_sample_value("ferry_queue_rows", labels) == 0
    assert registry.get_sample_value("ferry_in_flight_requests", labels) == 0
    await batcher.close()


def test_a_tally_writes_what_observing_one_by_one_writes() -> None:
    bounds = (0.001, 0.01, 0.1)
    values = [0.0, 0.001, 0.0010001, 0.05, 0.1, 7.0, 0.01]
    direct, tallied = prom.CollectorRegistry(), prom.CollectorRegistry()
    reference = prom.Histogram("h", "h", ["m"], buckets=bounds, registry=direct).labels("a")
    tally = Tally(
        prom.Histogram("h", "h", ["m"], buckets=bounds, registry=tallied).labels("a"), bounds
    )
    for value in values:
        reference.observe(value)
        tally.observe(value)
    assert tally.bulk
    tally.flush()
    tally.flush()  # nothing pending: writes nothing more

    def samples(registry: prom.CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
        return [
            (s.name, s.labels, s.value)
            for metric in registry.collect()
            for s in metric.samples
            if not s.name.endswith("_created")
        ]

    assert samples(tallied) == samples(direct)
