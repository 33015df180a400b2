"""The lean load generator against a real uvicorn on loopback: every answer read whole
(bodies of several sizes, keep-alive), statuses counted, bounded by count, loopback only."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from loadtests.wire import run_wire_load
from tests.support.asgi_server import serving


def test_answers_are_read_whole_counted_and_bounded() -> None:
    seen: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = (await receive())["body"]
        seen.append(body)
        status = 200 if len(seen) % 3 else 429
        size = 10 + 5000 * (len(seen) % 2)  # some answers span several reads
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", str(size).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"x" * size})

    with serving(app) as port:
        url = f"http://127.0.0.1:{port}/v2/models/m/infer"
        result = asyncio.run(run_wire_load(url, b'{"a": 1}', 4, 30.0, max_requests=300))
    assert result.requests == len(result.latencies_ms) == len(seen) == 300
    assert set(seen) == {b'{"a": 1}'}
    assert result.statuses[429] == 100 and result.errors == 100
    assert result.seconds < 30


def test_only_loopback_is_a_target() -> None:
    with pytest.raises(ValueError, match="loopback"):
        asyncio.run(run_wire_load("http://example.com/x", b"", 1, 1.0))
