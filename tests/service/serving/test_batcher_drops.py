"""Work nobody waits for any more is dropped before compute, and its rows free the queue."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from service.serving import deadlines
from service.serving.batcher import Batcher
from service.serving.errors import DeadlineExceeded, Overloaded


class Gate:
    """A model that blocks until released, recording the rows of every batch it runs."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[float]] = []

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.entered.set()
        self.open.wait(timeout=30)
        self.batches.append(inputs["x"][:, 0].tolist())
        return {"y": inputs["x"] * 2}


def rows(value: float, n: int = 1) -> dict[str, np.ndarray]:
    return {"x": np.full((n, 2), value, dtype=np.float32)}


async def until(condition: object, what: str) -> None:
    for _ in range(2000):  # bounded: 10 s at most
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def occupied(gate: Gate, batcher: Batcher) -> asyncio.Task[dict[str, np.ndarray]]:
    """A first request running in the model, so later ones queue behind it."""
    first = asyncio.ensure_future(batcher.submit(rows(1)))
    await until(gate.entered.is_set, "the first batch to start")
    return first


async def test_a_cancelled_request_leaves_the_queue_and_frees_its_rows_at_once() -> None:
    gate = Gate()
    batcher = Batcher(gate.run, "m", max_queue_rows=4, inline_below_ms=0)
    first = await occupied(gate, batcher)
    queued = asyncio.ensure_future(batcher.submit(rows(2, 4)))
    await until(lambda: batcher.queued_rows == 4, "the second request to queue")
    with pytest.raises(Overloaded):
        await batcher.submit(rows(3))
    queued.cancel()  # its client went away
    await until(lambda: batcher.queued_rows == 0, "the cancelled rows to be released")
    third = asyncio.ensure_future(batcher.submit(rows(3, 4)))  # fits again
    gate.open.set()
    await first
    np.testing.assert_array_equal((await third)["y"], np.full((4, 2), 6))
    assert gate.batches == [[1.0], [3.0] * 4], "the cancelled rows never reached the model"
    await batcher.close()


async def test_a_request_past_its_deadline_is_answered_504_and_never_computed() -> None:
    gate = Gate()
    batcher = Batcher(gate.run, "m", inline_below_ms=0)
    first = await occupied(gate, batcher)
    loop = asyncio.get_running_loop()

    async def with_deadline(value: float, seconds: float) -> dict[str, np.ndarray]:
        token = deadlines.set_deadline(loop.time() + seconds)  # no timer: the batcher checks
        try:
            return await batcher.submit(rows(value))
        finally:
            deadlines.reset(token)

    late = asyncio.ensure_future(with_deadline(2, 0.05))
    kept = asyncio.ensure_future(with_deadline(3, 60))
    await until(lambda: batcher.queued_rows == 2, "both to queue")
    deadline_passed = loop.time() + 0.05
    await until(lambda: loop.time() > deadline_passed, "the short deadline to pass")
    gate.open.set()
    await first
    with pytest.raises(DeadlineExceeded, match="deadline passed before the model ran"):
        await late
    np.testing.assert_array_equal((await kept)["y"], np.full((1, 2), 6))
    assert gate.batches == [[1.0], [3.0]]
    assert batcher.queued_rows == 0
    await batcher.close()


async def test_a_deadline_already_passed_is_refused_without_queueing() -> None:
    batcher = Batcher(lambda a: {"y": a["x"]}, "m")
    token = deadlines.set_deadline(asyncio.get_running_loop().time() - 1)
    try:
        with pytest.raises(DeadlineExceeded):
            await batcher.submit(rows(1))
    finally:
        deadlines.reset(token)
    assert batcher.queued_rows == 0
    await batcher.close()
