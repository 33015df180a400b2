"""`ferry bench serve`: ferry against what a user would otherwise run, side by side, one run.

For each model: raw ONNX Runtime in-process at batch sizes 1..256, then four
servers started here on 127.0.0.1 — ferry with adaptive batching, ferry with
batching off, a plain FastAPI + ONNX Runtime endpoint, BentoML's own unbatched
API — each at several concurrency levels for a bounded time.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from export.registry import Registry
from export.signature import Signature
from loadtests import payloads
from loadtests.load import run_load
from loadtests.raw import raw_rows_per_s
from loadtests.servers import FERRY, running_server

LEVELS = (1, 8, 32, 64)


@dataclass(frozen=True)
class Contender:
    label: str
    kind: str
    target: str
    env: dict[str, str] = field(default_factory=dict)
    v2: bool = False


def contenders(model: str) -> list[Contender]:
    peer = {"FERRY_PEER_MODEL": model}
    return [
        Contender("ferry batched", "bentoml", FERRY),
        Contender("ferry batched (V2)", "bentoml", FERRY, v2=True),
        Contender("ferry unbatched", "bentoml", FERRY, {"FERRY_MAX_BATCH_SIZE": "1"}),
        # the same service with the lean front off: inference through BentoML's stack
        Contender("ferry batched (bentoml stack)", "bentoml", FERRY, {"FERRY_LEAN_FRONT": "0"}),
        Contender("fastapi + ort", "uvicorn", "loadtests.peers.fastapi_peer:app", peer),
        Contender(
            "bentoml unbatched", "bentoml", "loadtests.peers.bentoml_unbatched:BentoUnbatched", peer
        ),
    ]


def bench_model(
    registry: Path, model: str, levels: tuple[int, ...], seconds: float
) -> dict[str, Any]:
    artifact = Registry(registry).get(f"{model}@production")
    signature = artifact.manifest.signature
    report: dict[str, Any] = {
        "model": model,
        "version": artifact.manifest.version,
        "raw_rows_per_s": raw_rows_per_s(artifact.model_path, signature),
        "servers": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for contender in contenders(model):
            log = Path(tmp) / f"{contender.label.replace(' ', '_')}.log"
            report["servers"].append(
                _bench_server(contender, registry, model, signature, levels, seconds, log)
            )
    return report


def _bench_server(
    c: Contender,
    registry: Path,
    model: str,
    signature: Signature,
    levels: tuple[int, ...],
    seconds: float,
    log: Path,
) -> dict[str, Any]:
    path = f"/v2/models/{model}/infer" if c.v2 else "/predict"
    body = payloads.v2(signature) if c.v2 else payloads.typed(model, signature)
    with running_server(c.kind, c.target, registry.resolve(), log, 90.0, **c.env) as started:
        url = started.url + path
        asyncio.run(run_load(url, body, 8, 1.0))  # warm-up
        tree = _tree(started.pid)
        result: dict[str, Any] = {
            "label": c.label,
            "cold_start_s": started.ready_s,
            "rss_mb": sum(p.memory_info().rss for p in tree) / 2**20,
            "levels": [],
        }
        for level in levels:
            cpu_before, batches_before = _cpu(tree), _batches(started.url, model)
            load = asyncio.run(run_load(url, body, level, seconds))
            summary: dict[str, Any] = dict(load.summary())
            cpu = (_cpu(tree) - cpu_before) / load.seconds
            rows, batches = (
                a - b for a, b in zip(_batches(started.url, model), batches_before, strict=True)
            )
            summary.update(
                rows_per_s=summary["rps"],
                cpu_cores=cpu,
                mean_batch_rows=rows / batches if batches else None,
                statuses={str(k): v for k, v in load.statuses.items()},
            )
            result["levels"].append(summary)
        return result


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _cpu(tree: list[psutil.Process]) -> float:
    total = 0.0
    for proc in tree:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _batches(base: str, model: str) -> tuple[float, float]:
    """(rows, batches) so far from ferry's histogram; (0, 0) for servers without it."""
    import httpx

    try:
        text = httpx.get(f"{base}/metrics", timeout=5).text
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
) -> int:
    """Benchmark `models`, write the report under `out`, print it; 1 when a goal is missed."""
    import os
    import platform

    from loadtests import report, thresholds

    reports = []
    for model in models:
        one = bench_model(registry, model, levels, seconds)
        one["checks"] = thresholds.check(one)
        reports.append(one)
    cpu = platform.processor() or platform.machine()
    machine = f"{cpu}, {os.cpu_count()} cores, {platform.platform()}"
    written = report.write({"machine": machine, "command": command, "models": reports}, out)
    print((out / "results.md").read_text())
    print("written:", ", ".join(str(p) for p in written))
    return 0 if all(ok for r in reports for *_, ok in r["checks"]) else 1
