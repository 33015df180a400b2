"""Side by side, one run: ferry's batcher against BentoML's `batchable=True`.

    python -m loadtests.batching --registry registry

Same model, same machine, same load generator; prints requests/s, latency
percentiles and error counts (503 = shed by BentoML's dispatcher, 429 = over
ferry's queue bound) at each concurrency.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from export.registry import Registry
from loadtests.load import run_load
from loadtests.servers import FERRY, running_service

PEER = "loadtests.peers.bentoml_batched:BentoBatched"


def main(
    registry: Annotated[Path, typer.Option(envvar="FERRY_REGISTRY")] = Path("registry"),
    model: str = "tabular",
    seconds: float = 8.0,
    concurrency: Annotated[list[int] | None, typer.Option()] = None,
) -> None:
    levels = concurrency or [1, 16, 64]
    width = Registry(registry).get(f"{model}@production").manifest.signature.inputs[0].shape[1]
    rows = np.random.default_rng(0).normal(size=(1024, width)).round(4).tolist()
    contenders: dict[str, tuple[str, str, Any]] = {
        "ferry (our batcher)": (
            FERRY,
            "/predict",
            lambda i: {"model": model, "inputs": {"features": [rows[i % 1024]]}},
        ),
        "ferry V2 infer": (
            FERRY,
            f"/v2/models/{model}/infer",
            lambda i: {
                "inputs": [
                    {
                        "name": "features",
                        "shape": [1, width],
                        "datatype": "FP32",
                        "data": rows[i % 1024],
                    }
                ]
            },
        ),
        "bentoml batchable=True": (PEER, "/predict", lambda i: {"features": [rows[i % 1024]]}),
    }
    report = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, (target, path, body) in contenders.items():
            log = Path(tmp) / f"{label.split()[0]}.log"
            with running_service(
                registry.resolve(), log, target=target, FERRY_PEER_MODEL=model
            ) as url:
                asyncio.run(run_load(url + path, body, 16, 3.0))  # warm-up
                for level in levels:
                    result = asyncio.run(run_load(url + path, body, level, seconds))
                    summary = {
                        "server": label,
                        **result.summary(),
                        "statuses": dict(result.statuses),
                    }
                    report.append(summary)
                    print(json.dumps(summary), flush=True)
    _table(report)


def _table(report: list[dict[str, Any]]) -> None:
    print("\n| server | clients | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    for r in report:
        print(
            f"| {r['server']} | {r['concurrency']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} {r['statuses']} |"
        )


if __name__ == "__main__":
    typer.run(main)
