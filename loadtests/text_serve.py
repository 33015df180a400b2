"""The service side of the text benchmark: texts per request, measured in slices.

On a shared machine the CPU left to a benchmark drifts by tens of percent
within a minute, so the service and raw ONNX Runtime are measured in
alternating slices and each side's slices summed: both see the same drift.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import psutil

from loadtests.load import LoadResult, run_load


@dataclass
class Served:
    """Load results and batch totals summed over the slices of one workload."""

    clients: int
    texts_per_request: int = 1
    loads: list[LoadResult] = field(default_factory=list)
    rows: float = 0.0  # rows the service batched (from its /metrics; 0 for a peer)
    batches: float = 0.0
    cpu_s: float = 0.0  # CPU seconds the server's processes spent in the slices

    @property
    def mean_batch(self) -> float | None:
        return self.rows / self.batches if self.batches else None

    def summary(self) -> dict[str, Any]:
        merged = LoadResult(self.clients, sum(load.seconds for load in self.loads))
        for load in self.loads:
            merged.latencies_ms += load.latencies_ms
            merged.statuses += load.statuses
        figures = merged.summary()
        answered = merged.statuses[200] * self.texts_per_request
        return {
            "sentences_per_s": answered / max(merged.seconds, 1e-9),
            # steadier than sentences/s on a machine shared with other work
            "cpu_ms_per_sentence": 1000 * self.cpu_s / answered if answered else None,
            # cores' worth of CPU the server got: on a shared machine, its share of it
            "cpu_cores": self.cpu_s / max(merged.seconds, 1e-9),
            "texts_per_request": self.texts_per_request,
            "requests": int(figures["requests"]),
            "p50_ms": figures["p50_ms"],
            "p95_ms": figures["p95_ms"],
            "p99_ms": figures["p99_ms"],
            "errors": int(figures["errors"]),
            "statuses": {str(k): v for k, v in merged.statuses.items()},
            "mean_batch": self.mean_batch,
        }


@dataclass(frozen=True)
class Client:
    """Sends texts to one model of a running service, `texts_per_request` per request."""

    url: str
    model: str
    clients: int
    texts_per_request: int = 1
    pid: int | None = None  # the server's process: its CPU time is counted per slice

    def with_texts(self, count: int) -> Client:
        """The same client sending `count` texts per request."""
        return replace(self, texts_per_request=count)

    def served(self) -> Served:
        """An empty tally for this client's load."""
        return Served(self.clients, self.texts_per_request)

    def warm(self, texts: list[str], seconds: float = 2.0) -> None:
        """A short load first, so the measured slices see warm connections and shapes."""
        asyncio.run(run_load(f"{self.url}/predict", self._body(texts), self.clients, seconds))

    def slice(self, texts: list[str], seconds: float, served: Served) -> Served:
        """Add `seconds` of closed-loop load and the batches it caused to `served`."""
        rows, count = self.batch_totals()
        cpu = self.cpu_seconds()
        load = asyncio.run(
            run_load(f"{self.url}/predict", self._body(texts), self.clients, seconds)
        )
        served.cpu_s += self.cpu_seconds() - cpu
        rows_after, count_after = self.batch_totals()
        served.loads.append(load)
        served.rows += rows_after - rows
        served.batches += count_after - count
        return served

    def cpu_seconds(self) -> float:
        """User and system CPU seconds of the server's process tree so far (0 unknown)."""
        if self.pid is None:
            return 0.0
        root = psutil.Process(self.pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def batch_totals(self) -> tuple[float, float]:
        """(rows, batches) the service has run for the model so far, from its /metrics
        ((0, 0) for a server without ferry's batch histogram)."""
        totals = {"_sum": 0.0, "_count": 0.0}
        try:
            text = httpx.get(f"{self.url}/metrics", timeout=10).text
        except httpx.HTTPError:
            return 0.0, 0.0
        for line in text.splitlines():
            for suffix in totals:
                if (
                    line.startswith(f"ferry_batch_rows{suffix}{{")
                    and f'model="{self.model}"' in line
                ):
                    totals[suffix] += float(line.rsplit(" ", 1)[1])
        return totals["_sum"], totals["_count"]

    def _body(self, texts: list[str]) -> Any:
        model, n = self.model, self.texts_per_request
        return lambda i: {
            "model": model,
            "inputs": {"text": [texts[(i * n + j) % len(texts)] for j in range(n)]},
        }
