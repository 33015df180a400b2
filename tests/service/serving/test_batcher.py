"""The batcher, timed by events and a clock the tests move, never by how long things take."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from service.serving.batcher import Batcher
from service.serving.errors import Overloaded

#: Upper bound of every wait on an event; reached only when something is broken.
BOUND = 10.0


def double(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    time.sleep(0.005)  # long enough for requests to queue behind a running batch
    return {"y": inputs["x"] * 2}


def rows(value: float, n: int = 1) -> dict[str, np.ndarray]:
    return {"x": np.full((n, 2), value, dtype=np.float32)}


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until `condition` holds (bounded)."""
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


async def started(event: threading.Event) -> None:
    """Wait (bounded) until the worker thread has set `event`."""
    assert await asyncio.to_thread(event.wait, BOUND), "the model was never called"


class StillClock:
    """`time.perf_counter` for the batcher: stands still until a test moves it."""

    def __init__(self, real: Callable[[], float]) -> None:
        self.real = real
        self.now = real()

    def __call__(self) -> float:
        return self.now

    def move_past(self, seconds: float) -> None:
        """Past `seconds` after now by the real clock (which stamps queued requests)."""
        self.now = self.real() + seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> StillClock:
    still = StillClock(time.perf_counter)
    monkeypatch.setattr(time, "perf_counter", still)
    return still


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


async def test_a_lone_request_does_not_wait_for_company(clock: StillClock) -> None:
    # time stands still: a batcher that waited for company, however briefly, would never answer
    batcher = Batcher(lambda a: {"y": a["x"]}, "m", max_batch_size=64, max_latency_ms=0)
    for i in range(2):
        result = await asyncio.wait_for(batcher.submit(rows(i)), BOUND)
        np.testing.assert_array_equal(result["y"], rows(i)["x"])
    await batcher.close()


async def test_max_latency_lets_a_batch_fill(clock: StillClock) -> None:
    seen: list[int] = []
    batcher = Batcher(
        lambda a: {"y": a["x"]},
        "m",
        max_batch_size=4,
        max_latency_ms=50,
        on_batch=lambda _, r, q, __: seen.append(q),
    )
    first = asyncio.ensure_future(batcher.submit(rows(0)))
    done, _ = await asyncio.wait({first}, timeout=0.05)
    assert not done and seen == [], "within its 50 ms (the clock stands still) it waits"
    later = [batcher.submit(rows(i)) for i in range(1, 4)]
    results = await asyncio.wait_for(asyncio.gather(first, *later), BOUND)
    assert seen == [4], "a full batch leaves at once"
    assert [r["y"][0, 0] for r in results] == [0, 1, 2, 3]
    lone = asyncio.ensure_future(batcher.submit(rows(9)))
    done, _ = await asyncio.wait({lone}, timeout=0.05)
    assert not done
    clock.move_past(0.051)  # its 50 ms are up
    assert (await asyncio.wait_for(lone, BOUND))["y"][0, 0] == 9
    assert seen == [4, 1]
    await batcher.close()


async def test_past_the_queue_bound_requests_are_refused_with_retry_after() -> None:
    gate, running = threading.Event(), threading.Event()

    def blocked(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        running.set()
        gate.wait(BOUND)
        return {"y": inputs["x"]}

    batcher = Batcher(blocked, "m", max_batch_size=4, max_queue_rows=8, retry_after_s=3)
    first = asyncio.ensure_future(batcher.submit(rows(0, 4)))
    await started(running)  # taken by the worker, no longer queued
    queued = [asyncio.ensure_future(batcher.submit(rows(i, 4))) for i in range(2)]
    await until(lambda: batcher.queued_rows == 8)
    with pytest.raises(Overloaded) as info:
        await batcher.submit(rows(9))
    assert info.value.headers == {"Retry-After": "3"}
    gate.set()
    answers = await asyncio.wait_for(asyncio.gather(first, *queued), BOUND)
    assert [a["y"][0, 0] for a in answers] == [0, 0, 1]  # nothing accepted is lost
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
    gate, running = threading.Event(), threading.Event()
    ran: list[int] = []

    def slow(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        running.set()
        gate.wait(BOUND)
        ran.append(inputs["x"].shape[0])
        return {"y": inputs["x"]}

    batcher = Batcher(slow, "m", max_batch_size=64)
    busy = asyncio.ensure_future(batcher.submit(rows(0)))
    await started(running)
    gone = asyncio.ensure_future(batcher.submit(rows(1, 5)))
    kept = asyncio.ensure_future(batcher.submit(rows(2, 2)))
    await until(lambda: batcher.queued_rows == 7)
    gone.cancel()
    gate.set()
    answers = await asyncio.wait_for(asyncio.gather(busy, kept), BOUND)
    assert ran == [1, 2]
    np.testing.assert_array_equal(answers[1]["y"], rows(2, 2)["x"])
    await batcher.close()


async def test_close_finishes_queued_and_running_batches_and_late_requests_still_work() -> None:
    gate, running = threading.Event(), threading.Event()

    def slow(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        running.set()
        gate.wait(BOUND)
        return {"y": inputs["x"] + 1}

    batcher = Batcher(slow, "m", max_batch_size=2)
    running_request = asyncio.ensure_future(batcher.submit(rows(1)))
    await started(running)
    queued = [asyncio.ensure_future(batcher.submit(rows(i))) for i in range(5)]
    await until(lambda: batcher.queued_rows == 5)
    closing = asyncio.ensure_future(batcher.close())
    done, _ = await asyncio.wait({closing}, timeout=0.05)
    assert not done, "close waits for the batch the gate holds"
    gate.set()
    await asyncio.wait_for(closing, BOUND)
    assert (await running_request)["y"][0, 0] == 2
    assert [(await q)["y"][0, 0] for q in queued] == [1, 2, 3, 4, 5]
    late = await batcher.submit(rows(7))  # a request that raced the swap is still served
    assert late["y"][0, 0] == 8
    await batcher.close()


async def test_a_fast_model_runs_on_the_loop_and_a_slow_one_in_the_thread() -> None:
    where: list[str] = []

    def fast(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        where.append(threading.current_thread().name)
        return {"y": inputs["x"] * 2}

    # bounds far from what the models take: an x * 2 is never near 1 s, and `double`
    # sleeps at least 5 ms, however busy the machine
    quick = Batcher(fast, "quick", inline_below_ms=1000.0)
    slow = Batcher(double, "slow", inline_below_ms=1.0)
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
