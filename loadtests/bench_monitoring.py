"""`ferry bench monitoring`: what watching the traffic costs, measured side by side.

The same service three times on one registry: drift monitoring off, monitoring on
(the default), and monitoring on with the prediction log writing every request.
Each round starts the three afresh (one at a time), then loads each for one turn
(the order rotating each round) at one concurrency, so a load spike on a shared
machine hits them alike and no setup keeps a process that happened to run slower.
Each figure is requests/s against the service with monitoring off, judged as the
median over rounds of the ratio of the two turns (`paired_median`): on a shared
machine whose speed drifts by ±20% within a minute, totals over the run mostly
measure which setup the slow minutes fell on. The ratio of the totals is reported
beside it.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from export.registry import Registry
from loadtests import payloads
from loadtests.load import Body, LoadResult, merge, paired_median, run_load
from loadtests.servers import FERRY, cpu_seconds, process_tree, running_server

OFF, DRIFT, LOGGED = "monitoring off", "drift monitoring", "drift + prediction log (100%)"
#: requests/s of each against monitoring off, at least
GOALS = {DRIFT: 0.97, LOGGED: 0.90}


@dataclass(frozen=True)
class Setup:
    label: str
    env: dict[str, str]


def setups(log_dir: Path) -> list[Setup]:
    return [
        Setup(OFF, {"FERRY_DRIFT_MONITORING": "false"}),
        Setup(DRIFT, {"FERRY_DRIFT_MONITORING": "true"}),
        Setup(
            LOGGED,
            {
                "FERRY_DRIFT_MONITORING": "true",
                "FERRY_PREDICTION_LOG_DIR": str(log_dir),
                "FERRY_PREDICTION_LOG_SAMPLE": "1",
            },
        ),
    ]


def run(registry: Path, model: str, clients: int, seconds: float, rounds: int) -> dict[str, Any]:
    """Measure every setup for `seconds` in all (split in `rounds` turns, each round on
    services started afresh); the report."""
    artifact = Registry(registry).get(f"{model}@production")
    body = payloads.typed(model, artifact.manifest.signature)
    loads: dict[str, list[LoadResult]] = {}
    cpu_s: defaultdict[str, float] = defaultdict(float)
    watched: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for turn in range(rounds):  # what the last round's services watched is reported
            watched = _round(Path(tmp), Path(registry).resolve(), model, body, clients,
                             seconds / rounds, turn, loads, cpu_s)  # fmt: skip
    for label, parts in loads.items():  # CPU the service's processes spent a request
        watched[label]["cpu_ms_per_request"] = 1000 * cpu_s[label] / merge(parts).requests
    return _report(model, artifact.manifest.version, clients, seconds, rounds, loads, watched)


def _round(
    tmp: Path,
    registry: Path,
    model: str,
    body: Body,
    clients: int,
    seconds: float,
    turn: int,
    loads: dict[str, list[LoadResult]],
    cpu_s: defaultdict[str, float],
) -> dict[str, dict[str, Any]]:
    """One turn of each setup, on services started for this round alone: two processes
    of the same code differ by up to 10% in CPU per request for as long as they live
    (measured with three identical services), so each round draws new ones."""
    common = {"FERRY_PROVIDERS": "CPUExecutionProvider", "FERRY_MODELS": model}
    with ExitStack() as stack:
        urls: dict[str, str] = {}
        trees: dict[str, list[psutil.Process]] = {}
        for setup in setups(tmp / "log"):  # one at a time: cold starts do not overlap
            log = tmp / f"{setup.label.split()[0]}-{turn}-{len(urls)}.log"
            env = {**common, **setup.env}
            started = stack.enter_context(
                running_server("bentoml", FERRY, registry, log, 90.0, **env)
            )
            urls[setup.label] = started.url
            trees[setup.label] = process_tree(started.pid)
            asyncio.run(run_load(started.url + "/predict", body, 8, 1.0))  # warm-up
        labels = list(urls)
        for label in labels[turn % len(labels) :] + labels[: turn % len(labels)]:
            before = cpu_seconds(trees[label])
            load = asyncio.run(run_load(urls[label] + "/predict", body, clients, seconds))
            cpu_s[label] += cpu_seconds(trees[label]) - before
            loads.setdefault(label, []).append(load)
        return {label: _watched(url, model) for label, url in urls.items()}


def _report(
    model: str,
    version: str,
    clients: int,
    seconds: float,
    rounds: int,
    loads: dict[str, list[LoadResult]],
    watched: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    base = merge(loads[OFF]).summary()["rps"]
    base_turns = [part.summary()["rps"] for part in loads[OFF]]
    rows = []
    for label, parts in loads.items():
        summary = merge(parts).summary()
        ratio = paired_median([part.summary()["rps"] for part in parts], base_turns)
        goal = GOALS.get(label)
        rows.append(
            {
                "setup": label,
                **summary,
                "ratio": ratio,
                "ratio_of_totals": summary["rps"] / base if base else 0.0,
                "goal": goal,
                "met": goal is None or ratio >= goal,
                **watched[label],
            }
        )
    return {
        "model": model,
        "version": version,
        "clients": clients,
        "seconds": seconds,
        "rounds": rounds,
        "setups": rows,
    }


def _watched(url: str, model: str) -> dict[str, Any]:
    """What monitoring saw: rows in the drift window, rows dropped, log records."""
    about: dict[str, Any] = {}
    try:
        drift = httpx.get(f"{url}/v2/models/{model}/drift", timeout=30)
        if drift.status_code == 200:
            window = drift.json()["window"]
            about.update(window_rows=window["rows"], dropped_rows=window["dropped_rows"])
        status = httpx.get(f"{url}/status", timeout=30).json()
        logged = (status.get("monitoring") or {}).get("prediction_log")
        if logged:
            counts = logged["records"]
            about["log_records"] = counts.get("written", 0) + logged["in_open_files"]
            about["log_dropped"] = counts.get("dropped", 0) + counts.get("failed", 0)
    except (httpx.HTTPError, ValueError, KeyError):
        pass
    return about
