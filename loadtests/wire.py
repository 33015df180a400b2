"""A lean closed-loop HTTP/1.1 load generator: one request's bytes, built once, written
back to back on keep-alive connections, answers read by their Content-Length.

`loadtests.load` (aiohttp) is right for throughput, but its own Python work per request
(building, parsing, a client session's bookkeeping) shares the two cores with the
server and lands in every latency it measures: at one client on digits its p99 read
3.0 ms where this generator read 0.9-1.5 ms. Where the figure is the latency a server
should be able to see (`ferry bench protocols` against the server's own histogram),
the client must add as little as it can. Loopback only, bounded in time and requests.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlparse

from loadtests.load import LoadResult, loopback

LENGTH = b"content-length:"


async def run_wire_load(
    url: str,
    body: bytes,
    concurrency: int,
    seconds: float,
    content_type: str = "application/json",
    max_requests: int = 200_000,
) -> LoadResult:
    """`concurrency` connections POST `body` to `url` back to back until time or count
    runs out; each latency from writing the request to reading the answer's last byte."""
    where = urlparse(url)
    host, port = loopback(url), where.port or 80
    head = (
        f"POST {where.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    request = head.encode() + body
    result = LoadResult(concurrency, seconds)
    deadline = time.perf_counter() + seconds
    counter = iter(range(max_requests))

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for _ in counter:
                if time.perf_counter() >= deadline:
                    return
                started = time.perf_counter()
                writer.write(request)
                status, length = _head(await reader.readuntil(b"\r\n\r\n"))
                await reader.readexactly(length)
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.statuses[status] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def _head(head: bytes) -> tuple[int, int]:
    """The status and Content-Length of an answer's head (answers here always have one)."""
    status = int(head[9:12])
    at = head.lower().find(LENGTH)
    if at < 0:
        raise ValueError(f"an answer without Content-Length: {head[:200]!r}")
    end = head.index(b"\r\n", at)
    return status, int(head[at + len(LENGTH) : end])
