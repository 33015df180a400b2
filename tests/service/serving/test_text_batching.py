"""Text batches: one bucket per batch, padded to the batch's longest row, every bucket warmed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from export.registry import Registry
from service.runtime.instances import Instances
from service.runtime.text import TextTokenizer, Tokens
from service.serving.batcher import Batcher
from service.serving.settings import BatchSettings
from tests.support.text_models import expected, publish_text, text_model_set

SHORT = ["the sun", "rain", "a good game", "news of the team"]
LONG = ["the model is fast and the service is good " * 6, "sport " * 70]


async def test_batches_never_mix_buckets_and_keep_arrival_order_within_one() -> None:
    seen: list[list[int]] = []

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        time.sleep(0.005)  # requests queue behind the running batch
        seen.append(inputs["x"][:, 0].astype(int).tolist())
        return {"y": inputs["x"]}

    batcher = Batcher(run, "m", max_batch_size=8)
    buckets = [16 if i % 3 else 128 for i in range(30)]
    results = await asyncio.gather(
        *(batcher.submit({"x": np.full((1, 2), i)}, bucket=b) for i, b in enumerate(buckets))
    )
    assert [int(r["y"][0, 0]) for r in results] == list(range(30))
    for batch in seen:
        assert len({buckets[i] for i in batch}) == 1, f"mixed buckets in {batch}"
        assert batch == sorted(batch) and len(batch) <= 8
    assert len(seen) < 30
    await batcher.close()


async def test_short_texts_are_not_padded_to_a_long_ones_length(registry: Registry) -> None:
    artifact = publish_text(registry)
    models = text_model_set(registry)
    served = models.get("text-embed")
    widths: list[tuple[int, int]] = []
    run = served.batcher.run

    def spy(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        time.sleep(0.003)
        widths.append(inputs["input_ids"].shape)
        return run(inputs)

    served.batcher.run = spy
    texts = [LONG[i % 2] if i % 5 == 0 else SHORT[i % 4] for i in range(40)]
    results = await asyncio.gather(*(served.infer_texts([t]) for t in texts))
    got = np.concatenate([r["embedding"] for r in results])
    np.testing.assert_allclose(got, expected(texts, artifact), rtol=1e-5, atol=1e-6)
    long_rows = sum(rows for rows, width in widths if width > 16)
    assert long_rows == texts.count(LONG[0]) + texts.count(LONG[1])
    assert any(rows > 1 for rows, width in widths if width <= 16), widths
    await models.close()


async def test_a_mixed_request_comes_back_in_its_own_order(registry: Registry) -> None:
    artifact = publish_text(registry, "text-classify", classes=3, seed=4)
    models = text_model_set(registry)
    texts = [LONG[0], *SHORT, LONG[1], "", "ünïcödé 🚀 text"]
    result = await models.get("text-classify").infer_texts(texts)
    np.testing.assert_allclose(
        result["probabilities"], expected(texts, artifact, seed=4), rtol=1e-5, atol=1e-6
    )
    await models.close()


def test_every_bucket_is_warmed_at_load_alone_and_at_the_max_batch_size(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_text(registry, max_length=64)
    shapes: set[tuple[int, int]] = set()
    run_each = Instances.run_each

    def spy(self: Instances, names: list[str], inputs: dict[str, np.ndarray]) -> None:
        shapes.add(inputs["input_ids"].shape)
        assert inputs["attention_mask"].all(), "warm-up rows should look like real text"
        run_each(self, names, inputs)

    monkeypatch.setattr(Instances, "run_each", spy)
    models = text_model_set(registry, buckets=(16, 32))
    assert models.status()["models"]["text-embed"]["buckets"] == [16, 32, 64]  # type: ignore[index]
    # the largest batch of each bucket: 64 rows, or fewer under the token budget
    budget = BatchSettings().max_batch_tokens
    largest = {n: min(64, budget // n) for n in (16, 32, 64)}
    assert shapes == {(rows, n) for n in (16, 32, 64) for rows in (1, largest[n])}


async def test_a_long_request_is_tokenised_off_the_event_loop(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = publish_text(registry)
    models = text_model_set(registry)
    threads: list[str] = []
    encode = TextTokenizer.encode

    def spy(self: TextTokenizer, texts: Sequence[str]) -> Tokens:
        threads.append(threading.current_thread().name)
        return encode(self, texts)

    monkeypatch.setattr(TextTokenizer, "encode", spy)
    served = models.get("text-embed")
    small = await served.infer_texts(SHORT)
    big_texts = LONG * 5  # over INLINE_CHARS
    big = await served.infer_texts(big_texts)
    assert threads[0] == threading.main_thread().name != threads[1]
    np.testing.assert_allclose(small["embedding"], expected(SHORT, artifact), atol=1e-6)
    np.testing.assert_allclose(big["embedding"], expected(big_texts, artifact), atol=1e-6)
    await models.close()


async def test_a_token_budget_bounds_padded_batches_of_every_bucket() -> None:
    seen: list[tuple[int, int]] = []  # (rows, widest row) per batch

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        time.sleep(0.003)  # requests queue behind the running batch
        seen.append((inputs["x"].shape[0], int(inputs["w"].max())))
        return {"y": inputs["x"]}

    batcher = Batcher(run, "m", max_batch_size=64, max_batch_tokens=256)
    widths = [16 if i % 2 else 128 for i in range(40)] + [300]  # the last is alone over budget

    def submit(i: int, width: int) -> asyncio.Future[dict[str, np.ndarray]]:
        arrays = {"x": np.full((1, 2), i), "w": np.full((1, 1), width)}
        return asyncio.ensure_future(batcher.submit(arrays, bucket=width, width=width))

    results = await asyncio.gather(*(submit(i, w) for i, w in enumerate(widths)))
    assert [int(r["y"][0, 0]) for r in results] == list(range(len(widths)))
    assert all(rows * width <= 256 for rows, width in seen if rows > 1)
    assert (1, 300) in seen, "a request over the budget on its own still runs"
    assert max(rows for rows, width in seen if width == 16) > 2, "short rows fill up"
    assert max(rows for rows, width in seen if width == 128) == 2
    await batcher.close()


def test_a_request_is_split_to_fit_the_token_budget() -> None:
    ids = np.ones((10, 40), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, n in enumerate([40, 40, 40, 40, 40, 10, 10, 10, 10, 10]):
        mask[row, :n] = 1
    parts = Tokens(ids, mask).parts((16, 64), max_rows=64, max_tokens=100)
    assert [(rows.tolist(), b) for rows, b in parts] == [
        ([5, 6, 7, 8, 9], 16),  # 5 rows x 10 tokens
        ([0, 1], 64),  # 2 x 40 = 80 <= 100
        ([2, 3], 64),
        ([4], 64),
    ]
    whole = Tokens(ids[:3], mask[:3]).parts((16, 64), max_rows=64, max_tokens=0)
    assert [rows.tolist() for rows, _ in whole] == [[0, 1, 2]]
