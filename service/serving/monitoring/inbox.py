"""A bounded hand-over from the threads that answer requests to one thread that polls it.

`put` is one length check and one `deque.append` (atomic under the GIL): no lock and
no wake-up, so a request pays about a microsecond. The consumer wakes every
`poll_s` and takes everything at once, so the per-batch overhead of numpy or Arrow
is paid once per poll, not once per request, and the consumer holds the GIL in a
few longer turns instead of many short ones that would stall the event loop.
`flush` and `close` wake it early. The bound may be passed by a few items when
several threads put at once; it is there to bound memory, not to count exactly.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Control:
    """A request to the consumer, queued behind everything put before it."""

    done: threading.Event = field(default_factory=threading.Event)
    stop: bool = False


class Inbox(Generic[T]):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: deque[T | Control] = deque()
        self._wake = threading.Event()

    def put(self, item: T) -> bool:
        """Queue `item`; False (nothing queued) when the inbox is full."""
        if len(self._items) >= self.limit:
            return False
        self._items.append(item)
        return True

    def __len__(self) -> int:
        """Items (and controls) waiting now."""
        return len(self._items)

    def control(self, stop: bool = False) -> Control:
        """Queue a control item (never refused) and wake the consumer."""
        control = Control(stop=stop)
        self._items.append(control)
        self._wake.set()
        return control

    def take(self, wait: float) -> tuple[list[T], list[Control]]:
        """After at most `wait` s (less when woken), everything queued, in order."""
        if wait > 0:
            self._wake.wait(wait)
        self._wake.clear()
        items: list[T] = []
        controls: list[Control] = []
        while True:
            try:
                item = self._items.popleft()
            except IndexError:
                return items, controls
            if isinstance(item, Control):
                controls.append(item)
            else:
                items.append(item)
