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
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

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

    def put_always(self, item: T) -> None:
        """Queue `item` even when the inbox is full (what frees its consumer's resources)."""
        self._items.append(item)

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


class Drainer(ABC, Generic[T]):
    """The consumer side: one daemon thread, started on first use, that takes what the
    inbox holds every `poll_s`, hands it to `_consume`, and calls `_publish` every
    `report_s` and when stopped (and on every `flush` where `publish_on_flush`)."""

    thread_name: ClassVar[str] = "ferry-drainer"
    publish_on_flush: ClassVar[bool] = False

    def __init__(self, limit: int, poll_s: float, report_s: float) -> None:
        self._inbox: Inbox[T] = Inbox(limit)
        self._poll_s = poll_s
        self._report_s = report_s
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued before the call is consumed (tests, benches);
        False if that took longer than `timeout`."""
        if self._thread is None:
            return True
        return self._inbox.control().done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread once what is queued is consumed and published."""
        with self._thread_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._inbox.control(stop=True)
            thread.join(timeout)

    def _start(self) -> None:
        if self._thread is not None:  # the request path's usual case: no lock
            return
        with self._thread_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=self.thread_name, daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        next_report = time.monotonic() + self._report_s
        while True:
            items, controls = self._inbox.take(self._poll_s)
            self._consume(items)
            stop = any(c.stop for c in controls)
            flushed = self.publish_on_flush and bool(controls)
            if stop or flushed or time.monotonic() >= next_report:
                self._publish()
                next_report = time.monotonic() + self._report_s
            for control in controls:
                control.done.set()
            if stop:
                return

    @abstractmethod
    def _consume(self, items: list[T]) -> None:
        """Take in one poll's items, in the order they were put."""

    def _publish(self) -> None:
        """Report what was consumed since the last call (nothing by default)."""
