"""Run the stages of a job side by side: reading, scoring and writing overlap.

ONNX Runtime, Arrow and numpy release the GIL for their heavy work, so a
reader thread and a scoring thread keep both cores busy. Queues hold a few
parts at most, which keeps memory flat however long the input is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def background(items: Iterable[T], depth: int) -> Iterator[T]:
    """Iterate `items` in a thread, `depth` items ahead; errors surface in the consumer."""
    box: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: object, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                box.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as err:
            put(_END, err)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # stops the stage feeding this one, if it is a generator

    thread = threading.Thread(target=produce, name="ferry-batch-stage", daemon=True)
    thread.start()
    try:
        while True:
            item, error = box.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
