"""An ASGI app served by a real uvicorn on a free loopback port, in a thread, for a test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from loadtests.servers import free_port


@contextmanager
def serving(app: Any, **config: Any) -> Iterator[int]:
    """Serve `app` (uvicorn options in `config`) until the block ends; yields the port."""
    port = free_port()
    options = {"lifespan": "off", "log_level": "warning", **config}
    server = uvicorn.Server(uvicorn.Config(app, "127.0.0.1", port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started, "uvicorn did not start within 10 s"
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
