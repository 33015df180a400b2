"""A closed-loop HTTP load generator on aiohttp, bounded in requests and time.

httpx saturates a core near 500 requests/s and under-reports fast servers, so
load comes from aiohttp. Targets must be on loopback.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import aiohttp
import numpy as np

Body = Callable[[int], Any]


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    def summary(self) -> dict[str, float]:
        lat = np.array(self.latencies_ms or [0.0])
        return {
            "concurrency": self.concurrency,
            "requests": self.requests,
            "rps": self.requests / self.seconds,
            "p50_ms": float(np.percentile(lat, 50)),
            "p95_ms": float(np.percentile(lat, 95)),
            "p99_ms": float(np.percentile(lat, 99)),
            "errors": self.errors,
        }


def merge(parts: list[LoadResult]) -> LoadResult:
    """One result from several slices of the same load, as if measured in one go."""
    merged = LoadResult(parts[0].concurrency, sum(p.seconds for p in parts))
    for part in parts:
        merged.latencies_ms += part.latencies_ms
        merged.statuses.update(part.statuses)
    return merged


def paired_median(ours: list[float], theirs: list[float]) -> float:
    """The median over turns of `ours[i] / theirs[i]`, figures measured one right after
    the other: a machine whose speed drifts over a run (a busy neighbour) moves both
    figures of a pair alike, and the median shrugs off a turn a burst of noise hit."""
    ratios = [a / b for a, b in zip(ours, theirs, strict=True) if b]
    return float(np.median(ratios)) if ratios else 0.0


def loopback(url: str) -> str:
    """The host of `url`, which must be on loopback (load tests target nothing else)."""
    host = urlparse(url).hostname or ""
    if not (host.startswith("127.") or host in {"localhost", "::1"}):
        raise ValueError(f"load tests target loopback only, not {host!r}")
    return host


async def run_load(
    url: str, body: Body, concurrency: int, seconds: float, max_requests: int = 200_000
) -> LoadResult:
    """`concurrency` clients post `body(i)` back to back until time or count runs out."""
    loopback(url)
    result = LoadResult(concurrency, seconds)
    deadline = time.perf_counter() + seconds
    counter = iter(range(max_requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            for i in counter:
                if time.perf_counter() >= deadline:
                    return
                started = time.perf_counter()
                async with session.post(url, json=body(i)) as response:
                    await response.read()
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.statuses[response.status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result
