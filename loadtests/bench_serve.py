"""`ferry bench serve`: ferry against what a user would otherwise run, side by side, one run.

For each model: raw ONNX Runtime in-process at batch sizes 1..256, then the
servers started here on 127.0.0.1 — ferry with adaptive batching (its typed route
and its V2 route, one process), ferry with batching off, ferry through BentoML's
own stack, a plain FastAPI + ONNX Runtime endpoint, BentoML's own unbatched API —
each at several concurrency levels for a bounded time.
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from export.registry import Registry
from export.signature import Signature
from loadtests import payloads, records
from loadtests.load import LoadResult, merge, run_load
from loadtests.raw import CPU, raw_bench
from loadtests.servers import FERRY, Started, cpu_seconds, process_tree, running_server
from service.runtime import GPU_PROVIDERS

LEVELS = (1, 8, 32, 64)


@dataclass(frozen=True)
class Contender:
    label: str
    kind: str
    target: str
    env: dict[str, str] = field(default_factory=dict)
    v2: bool = False


def contenders(model: str, providers: tuple[str, ...] = CPU) -> list[Contender]:
    """Every server of one run, each on the same execution providers."""
    # each server loads the measured model only: others would add to its start-up and RSS
    common = {"FERRY_PROVIDERS": ",".join(providers), "FERRY_MODELS": model}
    if GPU_PROVIDERS.intersection(providers):
        common["FERRY_REQUIRE_GPU"] = "1"  # a GPU run that fell back to the CPU fails
    peer = {**common, "FERRY_PEER_MODEL": model}
    return [
        Contender("ferry batched", "bentoml", FERRY, common),
        Contender("ferry batched (V2)", "bentoml", FERRY, common, v2=True),
        Contender("ferry unbatched", "bentoml", FERRY, {**common, "FERRY_MAX_BATCH_SIZE": "1"}),
        # the same service with the lean front off: inference through BentoML's stack
        Contender(
            "ferry batched (bentoml stack)", "bentoml", FERRY, {**common, "FERRY_LEAN_FRONT": "0"}
        ),
        Contender("fastapi + ort", "uvicorn", "loadtests.peers.fastapi_peer:app", peer),
        Contender(
            "bentoml unbatched", "bentoml", "loadtests.peers.bentoml_unbatched:BentoUnbatched", peer
        ),
    ]


def bench_model(
    registry: Path,
    model: str,
    levels: tuple[int, ...],
    seconds: float,
    providers: tuple[str, ...] = CPU,
    io_binding: bool = False,
    rounds: int = 3,
) -> dict[str, Any]:
    """Every contender started at once, then each level measured in `rounds` slices per
    server, taking turns, so a load spike on a shared machine hits all of them alike."""
    artifact = Registry(registry).get(f"{model}@production")
    signature = artifact.manifest.signature
    raw = raw_bench(artifact.model_path, signature, providers=providers, io_binding=io_binding)
    report: dict[str, Any] = {
        "model": model,
        "version": artifact.manifest.version,
        "raw_rows_per_s": raw.rows_per_s,
        "raw_providers": raw.providers,
        "raw_io_binding": raw.io_binding,
        "rounds": rounds,
        "servers": [],
    }
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        live = []
        servers: dict[tuple[str, str, tuple[tuple[str, str], ...]], Started] = {}
        for c in contenders(model, providers):  # one at a time: cold starts do not overlap
            key = (c.kind, c.target, tuple(sorted(c.env.items())))
            if key not in servers:  # contenders that differ only in their path share one
                log = Path(tmp) / f"{c.label.replace(' ', '_')}.log"
                servers[key] = stack.enter_context(
                    running_server(c.kind, c.target, registry.resolve(), log, 90.0, **c.env)
                )
            live.append(_Live.start(c, servers[key], model, signature))
        for level in levels:
            for _ in range(rounds):
                for server in live:
                    server.measure(level, seconds / rounds)
        report["servers"] = [server.report(levels) for server in live]
    return report


@dataclass
class _Live:
    """A running contender and what has been measured on it so far."""

    contender: Contender
    url: str
    base: str
    model: str
    body: payloads.Body
    tree: list[psutil.Process]
    about: dict[str, Any]
    loads: dict[int, list[LoadResult]] = field(default_factory=dict)
    cpu_s: dict[int, float] = field(default_factory=dict)
    batches: dict[int, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def start(cls, c: Contender, started: Started, model: str, signature: Signature) -> _Live:
        path = f"/v2/models/{model}/infer" if c.v2 else "/predict"
        body = payloads.v2(signature) if c.v2 else payloads.typed(model, signature)
        url = started.url + path
        asyncio.run(run_load(url, body, 8, 1.0))  # warm-up
        tree = process_tree(started.pid)
        about = {
            "label": c.label,
            "cold_start_s": started.ready_s,
            "providers": _providers(started.url, model),
            "rss_mb": sum(p.memory_info().rss for p in tree) / 2**20,
        }
        return cls(c, url, started.url, model, body, tree, about)

    def measure(self, level: int, seconds: float) -> None:
        cpu_before, batches_before = cpu_seconds(self.tree), _batches(self.base, self.model)
        self.loads.setdefault(level, []).append(
            asyncio.run(run_load(self.url, self.body, level, seconds))
        )
        self.cpu_s[level] = self.cpu_s.get(level, 0.0) + cpu_seconds(self.tree) - cpu_before
        now = _batches(self.base, self.model)
        rows, batches = self.batches.get(level, (0.0, 0.0))
        self.batches[level] = (
            rows + now[0] - batches_before[0],
            batches + now[1] - batches_before[1],
        )

    def report(self, levels: tuple[int, ...]) -> dict[str, Any]:
        result = {**self.about, "levels": []}
        for level in levels:
            load = merge(self.loads[level])
            summary: dict[str, Any] = dict(load.summary())
            rows, batches = self.batches[level]
            summary.update(
                rows_per_s=summary["rps"],
                cpu_cores=self.cpu_s[level] / load.seconds,
                mean_batch_rows=rows / batches if batches else None,
                statuses={str(k): v for k, v in load.statuses.items()},
            )
            result["levels"].append(summary)
        return result


def _providers(base: str, model: str) -> list[str] | None:
    """What the server reports running on: ferry's /status, the peer's /readyz."""
    import httpx

    for path in ("/status", "/readyz"):
        try:
            body = httpx.get(base + path, timeout=5).json()
        except (httpx.HTTPError, ValueError):
            continue
        found = body.get("models", {}).get(model, body) if isinstance(body, dict) else {}
        if isinstance(found, dict) and "providers" in found:
            return list(found["providers"])
    return None


def _batches(base: str, model: str) -> tuple[float, float]:
    """(rows, batches) so far from ferry's histogram; (0, 0) for servers without it."""
    import httpx

    try:
        text = httpx.get(f"{base}/metrics", timeout=30).text
    except httpx.HTTPError:
        return 0.0, 0.0
    prefix = f'model="{model}"'
    total = {"_sum": 0.0, "_count": 0.0}
    for line in text.splitlines():
        for suffix in total:
            if line.startswith(f"ferry_batch_rows{suffix}{{") and prefix in line:
                total[suffix] += float(line.rsplit(" ", 1)[1])
    return total["_sum"], total["_count"]


def run(
    registry: Path,
    models: list[str],
    levels: tuple[int, ...],
    seconds: float,
    out: Path,
    command: str,
    providers: tuple[str, ...] = CPU,
    io_binding: bool = False,
    rounds: int = 3,
    record: bool = False,
) -> int:
    """Benchmark `models`, write the report under `out`, print it; 1 when a goal is missed.

    With `record`, each measured version's figures are also kept in the registry
    (`registry.append_benchmark`), where its model card shows them."""
    import os
    import platform

    from loadtests import report, thresholds

    reports = []
    for model in models:
        one = bench_model(registry, model, levels, seconds, providers, io_binding, rounds)
        one["checks"] = thresholds.check(one)
        reports.append(one)
    cpu = platform.processor() or platform.machine()
    machine = f"{cpu}, {os.cpu_count()} cores, {platform.platform()}"
    figures = {"machine": machine, "command": command, "models": reports}
    written = report.write(figures, out)
    print((out / "results.md").read_text())
    print("written:", ", ".join(str(p) for p in written))
    if record:
        count = records.record(registry, records.serve_entries(figures))
        print(f"recorded in {registry}: the figures of {count} version(s)")
    return 0 if all(ok for r in reports for *_, ok in r["checks"]) else 1
