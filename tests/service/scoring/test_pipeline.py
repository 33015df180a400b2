"""Pipeline stages: they start at once, hand errors to the consumer and stop when closed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from service.scoring.pipeline import Stage


def test_a_stage_works_before_anyone_asks() -> None:
    started = threading.Event()

    def items() -> Iterator[int]:
        started.set()
        yield from range(5)

    with Stage(items(), depth=2) as stage:
        assert started.wait(5)  # reading starts while the caller loads the model
        assert list(stage) == [0, 1, 2, 3, 4]


def test_an_error_in_the_thread_reaches_the_consumer_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("bad part")

    stage = Stage(items(), depth=2)
    assert next(stage) == 1
    with pytest.raises(ValueError, match="bad part"):
        next(stage)
    with pytest.raises(StopIteration):
        next(stage)


def test_closing_a_stage_stops_its_thread_and_the_stage_feeding_it() -> None:
    produced: list[int] = []
    threads: set[threading.Thread] = set()

    def endless() -> Iterator[int]:
        threads.add(threading.current_thread())
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    def tens(stage: Stage[int]) -> Iterator[int]:
        threads.add(threading.current_thread())
        for n in stage:
            yield n * 10

    first = Stage(endless(), depth=2)
    second = Stage(tens(first), depth=2)
    assert next(second) == 0
    second.close()
    first.close()
    assert len(threads) == 2  # each stage's own thread ran its generator
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive(), f"{thread.name} still runs after close"
    # both threads are gone, so nothing more can be produced: what was is bounded by the
    # queues (2 + 2), the items in hand (2) and the one each generator was making
    assert len(produced) <= 8
    with pytest.raises(StopIteration):
        next(second)
