"""A soak: every model kind, typed and V2, steady clients, an alias move every interval.

The service runs on a scratch copy of the registry (each model's production
version, plus a second version of the same files), so moving aliases back and
forth never touches the user's registry. Passes with zero failed requests, RSS
growth under 10% from the end of the warm-up (minute 2 of a 10-minute run) to the
end, and `/metrics` that stays the same size.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from export.manifest import Manifest
from export.registry import Registry
from export.transfer import copy_version
from loadtests.fuzz import rss_mb
from loadtests.servers import running_server

GROWTH_GOAL = 1.10  # RSS and /metrics size, end / end of warm-up


@dataclass
class Sample:
    at_s: float
    rss_mb: float | None
    metrics_bytes: int
    requests: int


@dataclass
class SoakReport:
    minutes: float
    clients: int
    models: list[str]
    requests: int = 0
    failures: int = 0
    failure_examples: list[str] = field(default_factory=list)
    moves: int = 0
    versions_seen: dict[str, list[str]] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    warmup_s: float = 0.0

    def _baseline(self) -> Sample | None:
        after = [s for s in self.samples if s.at_s >= self.warmup_s]
        return after[0] if after else None

    @property
    def rss_growth(self) -> float | None:
        base = self._baseline()
        if base is None or base.rss_mb is None or self.samples[-1].rss_mb is None:
            return None
        return self.samples[-1].rss_mb / base.rss_mb

    @property
    def metrics_growth(self) -> float | None:
        base = self._baseline()
        return None if base is None else self.samples[-1].metrics_bytes / base.metrics_bytes

    @property
    def passed(self) -> bool:
        rss, metrics = self.rss_growth, self.metrics_growth
        return (
            self.failures == 0
            and self.requests > 0
            and rss is not None
            and rss < GROWTH_GOAL
            and metrics is not None
            and metrics < GROWTH_GOAL
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rss_growth": self.rss_growth,
            "metrics_growth": self.metrics_growth,
            "passed": self.passed,
        }


def scratch_registry(source: Registry, root: Path, models: list[str]) -> Registry:
    """Each model's production version and a second version of the same files."""
    scratch = Registry(root)
    for name in models:
        artifact = copy_version(source, f"{name}@production", scratch, "production")
        with scratch.draft(name) as draft:
            for item in artifact.path.iterdir():
                if item.name != "manifest.json":
                    (draft.path / item.name).write_bytes(item.read_bytes())
            data = artifact.manifest.to_dict() | {"version": draft.version}
            Manifest.from_dict(data).write(draft.path)
    return scratch


def run(
    source: Registry,
    models: list[str],
    workdir: Path,
    minutes: float,
    clients: int = 16,
    move_every_s: float = 60.0,
    sample_every_s: float = 5.0,
) -> SoakReport:
    """Soak the service for `minutes` on a scratch copy of `models` from `source`."""
    workdir.mkdir(parents=True, exist_ok=True)
    scratch = scratch_registry(source, workdir / f"registry-{time.time_ns()}", models)
    report = SoakReport(minutes, clients, models, warmup_s=min(120.0, 2 * move_every_s))
    log = workdir / "service.log"
    with running_server(
        "bentoml", "service.app:Ferry", scratch.root, log, FERRY_REFRESH_INTERVAL_S="1"
    ) as started:
        asyncio.run(_soak(started.url, started.pid, scratch, report, move_every_s, sample_every_s))
    return report


async def _soak(
    url: str, pid: int, registry: Registry, report: SoakReport, move_s: float, sample_s: float
) -> None:
    bodies = _bodies(url, report.models)
    stop = asyncio.Event()
    end = time.monotonic() + report.minutes * 60
    started = time.monotonic()
    async with aiohttp.ClientSession(base_url=url) as session:
        rotated = [
            bodies[i % len(bodies) :] + bodies[: i % len(bodies)] for i in range(len(bodies))
        ]
        workers = [
            asyncio.ensure_future(_client(session, rotated[i % len(rotated)], report, stop))
            for i in range(report.clients)
        ]
        next_move, next_sample = started + move_s, started
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_sample:
                report.samples.append(await _sample(session, pid, now - started, report))
                next_sample += sample_s
            if now >= next_move:
                await asyncio.to_thread(_move_aliases, registry, report.models)
                report.moves += 1
                next_move += move_s
            await asyncio.sleep(min(0.2, max(0.0, end - time.monotonic())))
        stop.set()
        await asyncio.gather(*workers)
        report.samples.append(await _sample(session, pid, time.monotonic() - started, report))


async def _client(
    session: aiohttp.ClientSession,
    bodies: list[tuple[str, str, bytes]],
    report: SoakReport,
    stop: asyncio.Event,
) -> None:
    i = 0
    while not stop.is_set():
        model, path, body = bodies[i % len(bodies)]
        i += 1
        headers = {"Content-Type": "application/json"}
        try:
            async with session.post(path, data=body, headers=headers) as response:
                answer = await response.read()
                ok = response.status == 200
        except aiohttp.ClientError as err:
            ok, answer = False, repr(err).encode()
        report.requests += 1
        if ok:
            version = json.loads(answer).get("model_version", "?")
            seen = report.versions_seen.setdefault(model, [])
            if version not in seen:
                seen.append(version)
        else:
            report.failures += 1
            if len(report.failure_examples) < 20:
                report.failure_examples.append(f"{path}: {answer[:200]!r}")


async def _sample(
    session: aiohttp.ClientSession, pid: int, at_s: float, report: SoakReport
) -> Sample:
    async with session.get("/metrics") as response:
        size = len(await response.read())
    return Sample(round(at_s, 1), rss_mb(pid), size, report.requests)


def _move_aliases(registry: Registry, models: list[str]) -> None:
    """Each model's production alias to its other version."""
    for name in models:
        current = registry.aliases(name)["production"]
        other = next(v for v in registry.versions(name) if v != current)
        registry.promote(name, other, reason="soak")


def _bodies(url: str, models: list[str]) -> list[tuple[str, str, bytes]]:
    """A typed and a V2 request for each model, from its metadata: (model, path, body)."""
    found = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for name in models:
            meta = client.get(f"/v2/models/{name}").raise_for_status().json()
            spec = meta["inputs"][0]
            if spec["datatype"] == "BYTES":
                texts = ["where is my parcel", "the game ended in a draw"]
                typed: dict[str, Any] = {"model": name, "texts": texts}
                tensor = {"name": spec["name"], "shape": [2], "datatype": "BYTES", "data": texts}
            else:
                dims = [d if d > 0 else 1 for d in spec["shape"][1:]]
                count = 1
                for d in dims:
                    count *= d
                values = [round((i % 17) / 17, 3) for i in range(count)]
                nested: Any = values
                for d in reversed(dims[1:]):
                    nested = [nested[i : i + d] for i in range(0, len(nested), d)]
                typed = {"model": name, "inputs": {spec["name"]: [nested]}}
                tensor = {
                    "name": spec["name"],
                    "shape": [1, *dims],
                    "datatype": spec["datatype"],
                    "data": values,
                }
            found.append((name, "/predict", json.dumps(typed).encode()))
            found.append(
                (name, f"/v2/models/{name}/infer", json.dumps({"inputs": [tensor]}).encode())
            )
    return found
