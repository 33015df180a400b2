"""Pipeline stages: they start at once, hand errors to the consumer and stop when closed."""

from __future__ import annotations

import threading
import time
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

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    first = Stage(endless(), depth=2)
    second = Stage((n * 10 for n in first), depth=2)
    assert next(second) == 0
    second.close()
    first.close()
    time.sleep(0.5)
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count <= 8  # bounded by the queues, and nothing more after close
    with pytest.raises(StopIteration):
        next(second)
