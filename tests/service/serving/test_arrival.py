"""The front's times start as uvicorn parses a request, not when its task first runs:
a real uvicorn (httptools) on loopback, two requests read in the same turn of the loop,
the first holding the loop before the second's task starts."""

from __future__ import annotations

import socket
import time
from typing import Any

from service.serving import arrival
from tests.support.asgi_server import serving

HOLD_S = 0.3


def raw_request(port: int, path: str) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
    return conn


def test_a_request_is_timed_from_its_first_bytes_not_from_its_task() -> None:
    assert arrival.install() and arrival.install()  # once, however often asked
    seen: dict[str, tuple[float, bool]] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        now = time.perf_counter()
        seen[scope["path"]] = (now - arrival.arrived(scope), arrival.ARRIVED in scope["state"])
        if scope["path"] in ("/hold", "/first"):
            time.sleep(HOLD_S)  # blocks the loop: what a slow callback does to the others
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with serving(app, http="httptools", loop="asyncio") as port:
        hold = raw_request(port, "/hold")
        time.sleep(HOLD_S / 3)  # the loop is held: the next two wait in their sockets
        first, second = raw_request(port, "/first"), raw_request(port, "/second")
        for conn in (hold, first, second):
            assert conn.recv(1024).startswith(b"HTTP/1.1 200")
            conn.close()
    waited, stamped = seen["/second"]
    assert stamped and waited >= HOLD_S * 0.9  # parsed with /first, run after it
    assert seen["/hold"][0] < HOLD_S / 3  # a request the loop takes at once waits nothing


def test_a_scope_without_a_stamp_is_timed_from_now() -> None:
    before = time.perf_counter()
    assert before <= arrival.arrived({"type": "http", "state": {}}) <= time.perf_counter()
    assert before <= arrival.arrived({"type": "http"}) <= time.perf_counter()
