"""Run the stages of a job side by side: reading, converting, scoring and writing overlap.

ONNX Runtime, Arrow and numpy release the GIL for their heavy work, so stage
threads keep both cores busy. Queues hold a few parts at most, which keeps memory
flat however long the input is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from service.scoring.closing import ClosedOnExit

T = TypeVar("T")
_END = object()


class Stage(ClosedOnExit, Generic[T]):
    """Iterates `items` in a thread of its own, up to `depth` items ahead of the consumer.

    The thread starts at once, so a stage can work while the caller does something
    else (loads the model). Errors surface in the consumer; `close` stops the thread.
    """

    def __init__(self, items: Iterable[T], depth: int) -> None:
        self._box: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(depth)
        self._stop = threading.Event()
        self._items = items
        self._thread = threading.Thread(target=self._produce, name="ferry-batch-stage", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._stop.is_set():
            raise StopIteration
        item, error = self._box.get()
        if item is _END:
            self._stop.set()
            if error is not None:
                raise error
            raise StopIteration
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the thread (and, through it, the stages feeding this one)."""
        self._stop.set()

    def _put(self, item: object, error: BaseException | None = None) -> bool:
        while not self._stop.is_set():
            try:
                self._box.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as err:
            self._put(_END, err)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()  # stops the stage feeding this one (a Stage or a generator)
