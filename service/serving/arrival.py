"""When a request reached the server: stamped as the HTTP parser meets its first bytes.

The front's end-to-end time (`ferry_request_end_to_end_seconds`, `ferry_request_seconds`)
starts there rather than when the request's task first runs. Between the two the
request waits for the event loop: uvicorn parses it in one turn of the loop and starts
its task in a later one, and a busy loop makes that wait the largest part of the tail
that the histogram would otherwise miss (measured with a lean loopback client on
digits: the histogram's p99 under the client's by 36-45% from the task's start,
13-19% from the first byte).

uvicorn has no hook for it, so `install` wraps its httptools protocol's
`on_message_begin` (where each request's scope is made) to put the time in the
scope's `state`, which uvicorn copies per request. Where that protocol is not the one
serving (h11), requests carry no stamp and the front falls back to its own start.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

#: The key of the arrival time (`time.perf_counter()`) in the ASGI scope's `state`.
ARRIVED = "ferry.arrived"


def install() -> bool:
    """Stamp every request uvicorn's httptools protocol parses (once per process);
    False where that protocol is not installed."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools missing: uvicorn serves with h11, unstamped
        return False
    begin = HttpToolsProtocol.on_message_begin
    if getattr(begin, "stamps_arrival", False):
        return True

    def on_message_begin(self: Any) -> None:
        begin(self)
        self.scope["state"][ARRIVED] = time.perf_counter()

    on_message_begin.stamps_arrival = True  # type: ignore[attr-defined]
    HttpToolsProtocol.on_message_begin = on_message_begin  # type: ignore[method-assign]
    return True


def arrived(scope: MutableMapping[str, Any]) -> float:
    """When the request in `scope` reached the server: its stamp, else now."""
    state = scope.get("state")
    stamp = state.get(ARRIVED) if isinstance(state, dict) else None
    return stamp if isinstance(stamp, float) else time.perf_counter()
