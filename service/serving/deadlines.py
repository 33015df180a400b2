"""The deadline of the request being answered, for everything it awaits.

The front (or a V2 `timeout` parameter) sets it; the batcher reads it when a request
queues, and drops the request before compute once it has passed (HTTP 504). It is a
context variable, so each request's task sees its own, and the code between the
front and the batcher passes nothing along.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from service.serving.errors import DeadlineExceeded

_DEADLINE: ContextVar[float | None] = ContextVar("ferry_deadline", default=None)


def current() -> float | None:
    """The deadline in event-loop time (`loop.time()`), or None without one."""
    return _DEADLINE.get()


@asynccontextmanager
async def within(seconds: float, what: str) -> AsyncIterator[None]:
    """Run the block under a deadline `seconds` from now, or the outer one if that is
    earlier; past it the block is cancelled and `DeadlineExceeded` raised."""
    outer = _DEADLINE.get()
    when = asyncio.get_running_loop().time() + seconds
    if outer is not None and outer <= when:
        yield
        return
    token = _DEADLINE.set(when)
    try:
        async with asyncio.timeout_at(when):
            yield
    except TimeoutError as err:
        raise DeadlineExceeded(f"{what}: not answered within {seconds * 1000:g} ms") from err
    finally:
        _DEADLINE.reset(token)


def set_deadline(when: float | None) -> object:
    """Set the deadline for this task (the front does, around a whole request); returns
    a token for `reset`."""
    return _DEADLINE.set(when)


def reset(token: object) -> None:
    _DEADLINE.reset(token)  # type: ignore[arg-type]
