"""`ferry bench protocols`: the service's protocols against each other, in one run.

One service on 127.0.0.1 (gRPC on a free port), three figures:

1. a 32-row digits batch, one client sending back to back, REST V2 with the binary
   tensor extension against gRPC `raw_input_contents`, in alternating rounds: p50 of
   each (goal: gRPC ≤ REST), answers checked byte for byte; beside it the same calls
   against the protocols' floor (`loadtests.peers.protocol_floor`: the same answers
   with no model and no ferry behind either protocol), what grpcio's round trip costs
   against uvicorn's before ferry does anything;
2. one `/v1/embeddings` answer for the same texts as base64 and as float JSON:
   bytes of each (goal: base64 ≤ 40% of float);
3. closed-loop load on digits from the lean generator (`loadtests.wire` on uvloop: the
   client's own Python work would otherwise be most of the gap), then `histogram_quantile(0.99)`
   of `ferry_request_end_to_end_seconds` over the run, computed from the scraped bucket
   counts as Prometheus does, against the p99 the load generator measured
   (goal: within ±15%).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import httpx
import numpy as np
import uvloop
from tritonclient.grpc import service_pb2, service_pb2_grpc

from loadtests.servers import FERRY, free_port, running_server, wait_listening
from loadtests.wire import run_wire_load

END_TO_END = "ferry_request_end_to_end_seconds_bucket"
TEXTS = [
    "where is my parcel?",
    "reset my password please",
    "my card was charged twice this month",
    "the app crashes when I open the settings page",
    "how do I change the delivery address on an order that has already shipped?",
    "I would like a refund for the broken headphones",
    "can I upgrade my plan without losing my saved files",
    "the invoice shows the wrong company name",
]


@dataclass(frozen=True)
class Body:
    """A V2 binary request: the JSON header and the raw tensor after it."""

    content: bytes
    header_length: int


def binary_body(name: str, x: np.ndarray) -> Body:
    raw = x.astype("<f4").tobytes()
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": name,
                    "shape": list(x.shape),
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    return Body(header + raw, len(header))


def grpc_request(model: str, name: str, x: np.ndarray) -> Any:
    request = service_pb2.ModelInferRequest(model_name=model)
    request.inputs.add(name=name, datatype="FP32", shape=list(x.shape))
    request.raw_input_contents.append(x.astype("<f4").tobytes())
    return request


def rest_output(content: bytes, header_length: int) -> bytes:
    """The raw output tensor of a one-output binary V2 answer."""
    return content[header_length:]


def batch(url: str, model: str, rows: int) -> tuple[str, np.ndarray]:
    """The name of `model`'s input and a `rows`-row batch of it."""
    meta = httpx.get(f"{url}/v2/models/{model}").json()
    name, shape = meta["inputs"][0]["name"], meta["inputs"][0]["shape"]
    return name, np.random.default_rng(0).uniform(0, 16, size=(rows, *shape[1:])).astype("f4")


async def protocol_p50(
    url: str, grpc_address: str, model: str, name: str, x: np.ndarray, requests: int, rounds: int
) -> dict[str, Any]:
    """p50 of REST binary and gRPC for one batch, alternating rounds."""
    rest_ms, grpc_ms, same = await alternate(url, grpc_address, model, name, x, requests, rounds)
    rest_p50, grpc_p50 = float(np.median(rest_ms)), float(np.median(grpc_ms))
    return {
        "model": model,
        "rows": len(x),
        "requests_each": len(rest_ms),
        "rest_binary_p50_ms": round(rest_p50, 3),
        "grpc_p50_ms": round(grpc_p50, 3),
        "grpc_over_rest": round(grpc_p50 / rest_p50, 3),
        "bit_identical": same,
        "goal_met": grpc_p50 <= rest_p50,
    }


async def alternate(
    url: str, grpc_address: str, model: str, name: str, x: np.ndarray, requests: int, rounds: int
) -> tuple[list[float], list[float], bool]:
    """Milliseconds of each REST binary and each gRPC call for `x`, `requests` of one
    then of the other, `rounds` times; and whether the answers' bytes were the same."""
    body, request = binary_body(name, x), grpc_request(model, name, x)
    headers = {"Inference-Header-Content-Length": str(body.header_length)}
    rest_ms: list[float] = []
    grpc_ms: list[float] = []
    same = True
    async with (
        aiohttp.ClientSession() as session,
        grpc.aio.insecure_channel(grpc_address) as channel,
    ):
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        for _ in range(rounds):
            for _ in range(requests):
                started = time.perf_counter()
                async with session.post(
                    f"{url}/v2/models/{model}/infer", data=body.content, headers=headers
                ) as response:
                    content = await response.read()
                    length = int(response.headers["Inference-Header-Content-Length"])
                rest_ms.append((time.perf_counter() - started) * 1000)
            for _ in range(requests):
                started = time.perf_counter()
                answer = await stub.ModelInfer(request)
                grpc_ms.append((time.perf_counter() - started) * 1000)
            same = same and answer.raw_output_contents[0] == rest_output(content, length)
    return rest_ms, grpc_ms, same


def protocol_floor(
    model: str, name: str, x: np.ndarray, requests: int, rounds: int, log: Path
) -> dict[str, Any]:
    """The same calls against the protocols' floor (`loadtests.peers.protocol_floor`):
    both round trips with no model and nothing of ferry's behind them."""
    rest_port, grpc_port = free_port(), free_port()
    command = [sys.executable, "-m", "loadtests.peers.protocol_floor", str(rest_port),
               str(grpc_port)]  # fmt: skip
    with log.open("w") as out:
        floor = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{rest_port}"
        wait_listening(rest_port, floor, log)
        wait_listening(grpc_port, floor, log)
        rest_ms, grpc_ms, same = asyncio.run(
            alternate(url, f"127.0.0.1:{grpc_port}", model, name, x, requests, rounds)
        )
    finally:
        floor.terminate()
        floor.wait(10)
    rest_p50, grpc_p50 = float(np.median(rest_ms)), float(np.median(grpc_ms))
    return {
        "rest_binary_p50_ms": round(rest_p50, 3),
        "grpc_p50_ms": round(grpc_p50, 3),
        "grpc_minus_rest_ms": round(grpc_p50 - rest_p50, 3),
        "bit_identical": same,
    }


def embedding_sizes(url: str, model: str) -> dict[str, Any]:
    """Bytes of one embeddings answer as base64 and as float JSON, same texts."""
    sizes, vectors = {}, {}
    for fmt in ("base64", "float"):
        response = httpx.post(
            f"{url}/v1/embeddings",
            json={"model": model, "input": TEXTS, "encoding_format": fmt},
            timeout=60,
        )
        response.raise_for_status()
        sizes[fmt] = len(response.content)
        vectors[fmt] = response.json()["data"]
    dims = len(vectors["float"][0]["embedding"])
    ratio = sizes["base64"] / sizes["float"]
    return {
        "model": model,
        "texts": len(TEXTS),
        "dimensions": dims,
        "base64_bytes": sizes["base64"],
        "float_bytes": sizes["float"],
        "base64_over_float": round(ratio, 3),
        "goal_met": ratio <= 0.40,
    }


def buckets(metrics: str, model: str) -> dict[float, float]:
    """Cumulative counts by upper bound of the end-to-end histogram of `model`."""
    found: dict[float, float] = {}
    pattern = rf'^{END_TO_END}{{le="([^"]+)",model="{re.escape(model)}",version="[^"]+"}} (\S+)$'
    for le, count in re.findall(pattern, metrics, re.M):
        bound = float("inf") if le == "+Inf" else float(le)
        found[bound] = found.get(bound, 0.0) + float(count)
    return found


def histogram_quantile(q: float, cumulative: dict[float, float]) -> float:
    """Prometheus' `histogram_quantile`: linear interpolation inside the bucket of rank q."""
    bounds = sorted(cumulative)
    total = cumulative[bounds[-1]]
    if total == 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def quantile_check(url: str, model: str, clients: int, seconds: float) -> dict[str, Any]:
    """Load on `model` and the p99 two ways: the client's, and the server's histogram's."""
    meta = httpx.get(f"{url}/v2/models/{model}").json()
    name, shape = meta["inputs"][0]["name"], meta["inputs"][0]["shape"]
    x = np.random.default_rng(1).uniform(0, 16, size=(1, *shape[1:])).astype(np.float32)
    body = {
        "inputs": [
            {"name": name, "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}
        ]
    }
    before = buckets(httpx.get(f"{url}/metrics").text, model)
    result = uvloop.run(  # uvloop, as the server's: less of the client's time in its p99
        run_wire_load(f"{url}/v2/models/{model}/infer", json.dumps(body).encode(), clients, seconds)
    )
    for _ in range(50):  # the service writes its histograms out every second
        after = buckets(httpx.get(f"{url}/metrics").text, model)
        delta = {le: after[le] - before.get(le, 0.0) for le in after}
        if delta.get(float("inf"), 0.0) >= result.requests - result.errors:
            break
        time.sleep(0.1)
    server_p99 = histogram_quantile(0.99, delta) * 1000
    client_p99 = result.summary()["p99_ms"]
    error = server_p99 / client_p99 - 1
    return {
        "model": model,
        "clients": clients,
        "requests": result.requests,
        "errors": result.errors,
        "server_requests": delta.get(float("inf"), 0.0),
        "client_p99_ms": round(client_p99, 3),
        "histogram_p99_ms": round(server_p99, 3),
        "relative_error": round(error, 3),
        "goal_met": abs(error) <= 0.15,
    }


def run(
    registry: Path,
    digits: str,
    embed: str,
    rows: int = 32,
    requests: int = 200,
    rounds: int = 3,
    clients: int = 8,
    seconds: float = 10.0,
    log_dir: Path = Path("results/bench-protocols"),
) -> dict[str, Any]:
    """Start the service once and measure all three; the report as a dict."""
    log_dir.mkdir(parents=True, exist_ok=True)
    grpc_port = free_port()
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "note": "one run; the load generator shares the machine with the server",
    }
    with running_server(
        "bentoml", FERRY, registry, log_dir / "service.log", FERRY_GRPC_PORT=str(grpc_port)
    ) as started:
        address = f"127.0.0.1:{grpc_port}"
        name, x = batch(started.url, digits, rows)
        report["grpc_vs_rest"] = asyncio.run(
            protocol_p50(started.url, address, digits, name, x, requests, rounds)
        )
        report["grpc_vs_rest"]["floor"] = protocol_floor(
            digits, name, x, requests, rounds, log_dir / "floor.log"
        )
        report["embeddings"] = embedding_sizes(started.url, embed)
        report["end_to_end_p99"] = quantile_check(started.url, digits, clients, seconds)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--registry", type=Path, default=Path(os.environ.get("FERRY_REGISTRY", "registry"))
    )
    parser.add_argument("--digits", default="digits", help="image model for the batch and the load")
    parser.add_argument("--embed", default="text-embed", help="embedding model")
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--requests", type=int, default=200, help="per protocol per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=Path("results/bench-protocols/results.json"))
    args = parser.parse_args(argv)
    report = run(
        args.registry.resolve(),
        args.digits,
        args.embed,
        args.rows,
        args.requests,
        args.rounds,
        args.clients,
        args.seconds,
        args.json.parent,
    )
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    goals = [report[k]["goal_met"] for k in ("grpc_vs_rest", "embeddings", "end_to_end_p99")]
    return 0 if all(goals) else 1


if __name__ == "__main__":
    raise SystemExit(main())
