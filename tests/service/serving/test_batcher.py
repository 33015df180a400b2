from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from service.serving.batcher import Batcher
from service.serving.errors import Overloaded


def double(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    time.sleep(0.005)  # long enough for requests to queue behind a running batch
    return {"y": inputs["x"] * 2}


def rows(value: float, n: int = 1) -> dict[str, np.ndarray]:
    return {"x": np.full((n, 2), value, dtype=np.float32)}


async def test_concurrent_requests_form_batches_and_get_their_own_rows() -> None:
    seen: list[tuple[int, int]] = []
    batcher = Batcher(
        double, "m", max_batch_size=16, on_batch=lambda _, r, q, __: seen.append((r, q))
    )
    results = await asyncio.gather(*(batcher.submit(rows(i, 1 + i % 3)) for i in range(100)))
    for i, result in enumerate(results):
        np.testing.assert_array_equal(result["y"], np.full((1 + i % 3, 2), 2 * i))
    assert sum(r for r, _ in seen) == sum(1 + i % 3 for i in range(100))
    assert max(r for r, _ in seen) <= 16
    assert len(seen) < 100, "requests queued behind a running batch must be batched together"
    await batcher.close()


async def test_a_lone_request_does_not_wait_for_company() -> None:
    batcher = Batcher(lambda a: {"y": a["x"]}, "m", max_batch_size=64, max_latency_ms=0)
    await batcher.submit(rows(1))
    started = time.perf_counter()
    await batcher.submit(rows(1))
    assert time.perf_counter() - started < 0.05
    await batcher.close()


async def test_max_latency_lets_a_batch_fill() -> None:
    seen: list[int] = []
    batcher = Batcher(
        lambda a: {"y": a["x"]},
        "m",
        max_batch_size=8,
        max_latency_ms=50,
        on_batch=lambda _, r, q, __: seen.append(q),
    )

    async def later(i: int) -> None:
        await asyncio.sleep(0.002 * i)
        await batcher.submit(rows(i))

    await asyncio.gather(*(later(i) for i in range(4)))
    assert seen == [4]
    await batcher.close()


async def test_past_the_queue_bound_requests_are_refused_with_retry_after() -> None:
    gate = threading.Event()

    def blocked(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        gate.wait(5)
        return {"y": inputs["x"]}

    batcher = Batcher(blocked, "m", max_batch_size=4, max_queue_rows=8, retry_after_s=3)
    first = asyncio.ensure_future(
        batcher.submit(rows(0, 4))
    )  # taken by the worker, no longer queued
    await asyncio.sleep(0.05)
    queued = [asyncio.ensure_future(batcher.submit(rows(i, 4))) for i in range(2)]
    await asyncio.sleep(0.01)
    with pytest.raises(Overloaded) as info:
        await batcher.submit(rows(9))
    assert info.value.headers == {"Retry-After": "3"}
    gate.set()
    await asyncio.gather(first, *queued)  # nothing accepted is lost
    await batcher.close()


async def test_a_failing_batch_fails_its_requests_and_the_next_batch_still_runs() -> None:
    calls = 0

    def flaky(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("device lost")
        return {"y": inputs["x"]}

    batcher = Batcher(flaky, "m")
    with pytest.raises(RuntimeError, match="device lost"):
        await batcher.submit(rows(1))
    result = await batcher.submit(rows(2))
    assert result["y"][0, 0] == 2
    await batcher.close()


async def test_a_cancelled_request_is_dropped_from_the_queue() -> None:
    gate = threading.Event()
    ran: list[int] = []

    def slow(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        gate.wait(5)
        ran.append(inputs["x"].shape[0])
        return {"y": inputs["x"]}

    batcher = Batcher(slow, "m", max_batch_size=64)
    busy = asyncio.ensure_future(batcher.submit(rows(0)))
    await asyncio.sleep(0.02)
    gone = asyncio.ensure_future(batcher.submit(rows(1, 5)))
    kept = asyncio.ensure_future(batcher.submit(rows(2, 2)))
    await asyncio.sleep(0.01)
    gone.cancel()
    gate.set()
    await asyncio.gather(busy, kept)
    assert ran == [1, 2]
    await batcher.close()


async def test_close_finishes_queued_and_running_batches_and_late_requests_still_work() -> None:
    gate = threading.Event()

    def slow(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        gate.wait(5)
        return {"y": inputs["x"] + 1}

    batcher = Batcher(slow, "m", max_batch_size=2)
    running = asyncio.ensure_future(batcher.submit(rows(1)))
    await asyncio.sleep(0.02)
    queued = [asyncio.ensure_future(batcher.submit(rows(i))) for i in range(5)]
    closing = asyncio.ensure_future(batcher.close())
    await asyncio.sleep(0.02)
    assert not closing.done()
    gate.set()
    await closing
    assert (await running)["y"][0, 0] == 2
    assert [(await q)["y"][0, 0] for q in queued] == [1, 2, 3, 4, 5]
    late = await batcher.submit(rows(7))  # a request that raced the swap is still served
    assert late["y"][0, 0] == 8
    await batcher.close()


async def test_a_fast_model_runs_on_the_loop_and_a_slow_one_in_the_thread() -> None:
    where: list[str] = []

    def fast(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        where.append(threading.current_thread().name)
        return {"y": inputs["x"] * 2}

    quick = Batcher(fast, "quick", inline_below_ms=5.0)
    slow = Batcher(double, "slow", inline_below_ms=1.0)  # double sleeps 5 ms
    assert not quick.inline, "an unmeasured model starts in the thread"
    for i in range(3):
        result = await quick.submit(rows(i))
        np.testing.assert_array_equal(result["y"], np.full((1, 2), 2 * i))
        await slow.submit(rows(i))
    assert where[0].startswith("batch-quick") and where[1:] == ["MainThread"] * 2
    assert quick.inline and not slow.inline
    # batches still form on the loop: requests that arrive together share one
    seen: list[int] = []
    quick.on_batch = lambda _, rows_, requests, __: seen.append(requests)
    await asyncio.gather(*(quick.submit(rows(i)) for i in range(20)))
    assert sum(seen) == 20 and max(seen) > 1
    await quick.close()
    await slow.close()


async def test_instances_run_that_many_batches_at_once() -> None:
    both = threading.Barrier(2, timeout=5)  # passes only when two batches run together
    seen: list[int] = []

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        both.wait()
        seen.append(inputs["x"].shape[0])
        return {"y": inputs["x"] * 2}

    batcher = Batcher(run, "m", max_batch_size=4, instances=2, inline_below_ms=0)
    results = await asyncio.gather(*(batcher.submit(rows(i, 4)) for i in range(4)))
    for i, result in enumerate(results):
        np.testing.assert_array_equal(result["y"], np.full((4, 2), 2 * i))
    assert seen == [4, 4, 4, 4]
    await batcher.close()


async def test_one_instance_runs_one_batch_at_a_time() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.002)
        with lock:
            running -= 1
        return {"y": inputs["x"]}

    batcher = Batcher(run, "m", max_batch_size=2, inline_below_ms=0)
    await asyncio.gather(*(batcher.submit(rows(i)) for i in range(20)))
    assert most == 1
    await batcher.close()
