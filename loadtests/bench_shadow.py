"""`ferry bench shadow`: what mirroring every request to a shadow costs the callers.

One service on a scratch registry holding the model's production version (and the
shadow version, when another is named; by default the version shadows itself, which
costs what a challenger of the same architecture costs). The shadow is switched on
and off between turns through the registry, as `ferry models shadow` does, and
followed at once through the admin endpoint, and loaded unmeasured for `SETTLE_S`
(the first requests after a swap pay for the swap, not for the shadow). The turns
alternate (the order flipping each round) at one concurrency. The figure that matters
is the primary's p99 with the shadow on against off, judged as the median over rounds
of the two turns' ratio (`paired_median`): on a shared machine whose speed drifts by
±20% within a minute, a ratio of p99s merged over the whole run mostly measures which
setup the slow minutes fell on. The merged ratio is reported beside it.

A control run (`control=True`, `ferry bench shadow --control`) takes the same turns
with the shadow off in both: the ratio it reads is this machine's noise floor for the
figure, what the bench reads when nothing differs.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from export.registry import Registry
from export.transfer import copy_version
from loadtests import payloads
from loadtests.load import LoadResult, merge, paired_median, run_load
from loadtests.servers import FERRY, running_server

OFF, ON = "shadow off", "shadow on"
#: p99 with the shadow on against off, at most
P99_GOAL = 1.05
TOKEN = "bench-shadow"
#: unmeasured load after each switch, seconds
SETTLE_S = 0.5


def run(
    registry: Path | str,
    model: str,
    clients: int,
    seconds: float,
    rounds: int,
    fraction: float = 1.0,
    shadow: str | None = None,
    control: bool = False,
) -> dict[str, Any]:
    """Measure both setups for `seconds` each (split in `rounds` turns); the report."""
    env = {
        "FERRY_PROVIDERS": "CPUExecutionProvider",
        "FERRY_MODELS": model,
        "FERRY_REFRESH_INTERVAL_S": "0",  # moves are followed through the admin call
        "FERRY_ADMIN_TOKEN": TOKEN,
    }
    loads: dict[str, list[LoadResult]] = {OFF: [], ON: []}
    with tempfile.TemporaryDirectory(prefix="ferry-bench-shadow-") as tmp:
        source, scratch = Registry(registry), Registry(Path(tmp) / "registry")
        primary = copy_version(source, f"{model}@production", scratch)
        version = primary.manifest.version
        if shadow is not None and shadow != version:
            copy_version(source, f"{model}:{shadow}", scratch, alias=None)
        shadow = shadow or version
        body = payloads.typed(model, primary.manifest.signature)
        log = Path(tmp) / "service.log"
        with running_server("bentoml", FERRY, scratch.url, log, 90.0, **env) as started:
            url = started.url
            asyncio.run(run_load(url + "/predict", body, 8, 1.0))  # warm-up
            for turn in range(rounds):
                for label in (OFF, ON) if turn % 2 == 0 else (ON, OFF):
                    on = label == ON and not control
                    _switch(scratch, url, model, shadow if on else None, fraction)
                    asyncio.run(run_load(url + "/predict", body, clients, SETTLE_S))
                    load = run_load(url + "/predict", body, clients, seconds / rounds)
                    loads[label].append(asyncio.run(load))
            shadowing = httpx.get(f"{url}/status", timeout=30).json().get("shadow", {})
    report = _report(model, version, shadow, fraction, clients, seconds, rounds, loads, shadowing)
    return {**report, "control": control}


def _switch(registry: Registry, url: str, model: str, shadow: str | None, fraction: float) -> None:
    """Turn the shadow on (or off) in the registry and wait until the service follows."""
    current = registry.rollout(model).shadow
    if shadow != current:
        registry.shadow(model, shadow, fraction, reason="ferry bench shadow")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    httpx.post(f"{url}/admin/refresh", headers=headers, timeout=60).raise_for_status()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        about = httpx.get(f"{url}/status", timeout=30).json()["models"][model]
        loaded = (about.get("rollout") or {}).get("shadow_loaded", False)
        if loaded == (shadow is not None):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the service did not follow the shadow {'on' if shadow else 'off'}")


def _report(
    model: str,
    version: str,
    shadow: str,
    fraction: float,
    clients: int,
    seconds: float,
    rounds: int,
    loads: dict[str, list[LoadResult]],
    shadowing: dict[str, Any],
) -> dict[str, Any]:
    off, on = merge(loads[OFF]).summary(), merge(loads[ON]).summary()
    merged = on["p99_ms"] / off["p99_ms"] if off["p99_ms"] else 0.0
    turns = {label: [part.summary()["p99_ms"] for part in loads[label]] for label in (OFF, ON)}
    ratio = paired_median(turns[ON], turns[OFF])
    return {
        "model": model,
        "version": version,
        "shadow": shadow,
        "fraction": fraction,
        "clients": clients,
        "seconds": seconds,
        "rounds": rounds,
        "setups": [{"setup": OFF, **off}, {"setup": ON, **on}],
        "p99_ratio": ratio,
        "p99_ratio_merged": merged,
        "p99_by_turn": turns,
        "goal": P99_GOAL,
        "met": ratio <= P99_GOAL,
        "shadow_status": {k: shadowing.get(k) for k in ("compared", "failed", "dropped")},
    }
