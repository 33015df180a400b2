"""`ferry bench registry`: the registry on S3 beside a local folder, measured in one run.

A moto server on 127.0.0.1 stands in for S3 and counts every request it answers.

- publish + promote of the tabular model (the same trained module: ONNX export, parity,
  storing, the alias move) on S3 against a local folder; median of `rounds` turns
  (goal: at most 2x);
- loading a version from S3 into an empty cache, then again from the cache (a restart,
  or a second replica on the node); median of `rounds` (goal: the second at most 5% of
  the first);
- a real `ferry serve` on the S3 registry, refreshed `polls` times while nothing moves:
  requests to the store per model per poll, counted at the server (goal: 1);
- `kills` publishes killed with SIGKILL at random moments: versions visible but not
  whole (goal: 0); `ferry models gc` removes what they left.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from export.registry import Artifact, Registry
from export.transfer import copy_version
from loadtests.registry_chaos import chaos
from loadtests.s3server import S3Server, moto_server
from loadtests.servers import running_service

PUBLISH_GOAL = 2.0
CACHE_GOAL = 0.05
POLL_GOAL = 1.0
TOKEN = "bench-registry"


@dataclass
class RegistryReport:
    """Every figure of one run, with the goal each is held to."""

    local_publish_s: float = 0.0
    s3_publish_s: float = 0.0
    first_load_s: float = 0.0
    cached_load_s: float = 0.0
    cached_load_requests: int = 0
    model_bytes: int = 0
    models_polled: int = 0
    polls: int = 0
    poll_requests: int = 0
    poll_kinds: dict[str, int] = field(default_factory=dict)
    chaos: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def publish_ratio(self) -> float:
        return self.s3_publish_s / max(self.local_publish_s, 1e-9)

    @property
    def cache_ratio(self) -> float:
        return self.cached_load_s / max(self.first_load_s, 1e-9)

    @property
    def requests_per_model_per_poll(self) -> float:
        return self.poll_requests / max(self.models_polled * self.polls, 1)

    def goals(self) -> dict[str, bool]:
        return {
            "publish + promote on S3 / local folder <= 2": self.publish_ratio <= PUBLISH_GOAL,
            "cached load / first load from S3 <= 0.05": self.cache_ratio <= CACHE_GOAL,
            "idle requests per model per poll = 1": self.requests_per_model_per_poll == POLL_GOAL,
            "visible partial versions after kills = 0": self.chaos.get("broken", 0) == 0,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "local_publish_s": self.local_publish_s,
            "s3_publish_s": self.s3_publish_s,
            "publish_ratio": self.publish_ratio,
            "first_load_s": self.first_load_s,
            "cached_load_s": self.cached_load_s,
            "cache_ratio": self.cache_ratio,
            "cached_load_requests": self.cached_load_requests,
            "model_bytes": self.model_bytes,
            "models_polled": self.models_polled,
            "polls": self.polls,
            "poll_requests": self.poll_requests,
            "requests_per_model_per_poll": self.requests_per_model_per_poll,
            "poll_kinds": self.poll_kinds,
            "chaos": self.chaos,
            "goals": self.goals(),
            "notes": self.notes,
        }


def run(rounds: int = 3, polls: int = 20, kills: int = 20, epochs: int = 5) -> RegistryReport:
    """The whole benchmark in a scratch folder, on a moto server of its own."""
    report = RegistryReport()
    with tempfile.TemporaryDirectory(prefix="ferry-bench-registry-") as tmp:
        scratch = Path(tmp)
        with moto_server(scratch / "moto.log") as s3, _aws_env(s3):
            _publish_figures(report, s3, scratch, rounds, epochs)
            _load_figures(report, s3, scratch, rounds)
            _poll_figures(report, s3, scratch, polls)
            if kills:
                report.chaos = chaos(Registry(s3.url("chaos"), cache_dir=scratch / "k"), kills)
    return report


def _publish_figures(
    report: RegistryReport, s3: S3Server, scratch: Path, rounds: int, epochs: int
) -> None:
    from training.loop import TrainConfig
    from training.pipeline import publish_trained
    from training.recipes import train_tabular

    trained = train_tabular(None, None, TrainConfig(epochs=epochs), progress=False)
    Registry(s3.url("warm-up")).models()  # the S3 client is made once per process, not timed
    local: list[float] = []
    remote: list[float] = []
    for turn in range(rounds):  # the two take turns, so a busy moment hits both
        for times, registry in (
            (local, Registry(scratch / f"local-{turn}")),
            (remote, Registry(s3.url(f"publish-{turn}"), cache_dir=scratch / f"pc-{turn}")),
        ):
            started = time.perf_counter()
            publish_trained(trained, registry, "tabular", promote=True)
            times.append(time.perf_counter() - started)
    report.local_publish_s = statistics.median(local)
    report.s3_publish_s = statistics.median(remote)


def _load_figures(report: RegistryReport, s3: S3Server, scratch: Path, rounds: int) -> None:
    url = s3.url("publish-0")
    published = Registry(url, cache_dir=scratch / "pc-0").get("tabular:1")
    report.model_bytes = published.model_path.stat().st_size
    first, again = [], []
    requests = 0
    for turn in range(rounds):
        cache = scratch / f"load-{turn}"
        started = time.perf_counter()
        Registry(url, cache_dir=cache).get("tabular:1")
        first.append(time.perf_counter() - started)
        s3.requests_since(s3.mark())  # the first load's log lines are all written
        mark = s3.mark()
        started = time.perf_counter()
        Registry(url, cache_dir=cache).get("tabular:1")  # a fresh process's registry
        again.append(time.perf_counter() - started)
        requests += len(s3.requests_since(mark))
    report.cached_load_requests = requests  # a version never changes: the store is not asked
    report.first_load_s = statistics.median(first)
    report.cached_load_s = statistics.median(again)


def _poll_figures(report: RegistryReport, s3: S3Server, scratch: Path, polls: int) -> None:
    url = s3.url("serve")
    source = Registry(s3.url("publish-0"), cache_dir=scratch / "pc-0")
    target = Registry(url, cache_dir=scratch / "sc")
    copy_version(source, "tabular:1", target)
    _renamed(source.get("tabular:1"), target, "tabular-b")  # a second model to poll
    report.models_polled = len(target.models())
    with running_service(
        url,
        scratch / "serve.log",
        FERRY_REFRESH_INTERVAL_S="0",
        FERRY_ADMIN_TOKEN=TOKEN,
        FERRY_CACHE_DIR=str(scratch / "serve-cache"),
    ) as base:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        httpx.post(f"{base}/admin/refresh", headers=headers, timeout=60)  # first: reads whole
        mark = s3.mark()
        for _ in range(polls):
            answer = httpx.post(f"{base}/admin/refresh", headers=headers, timeout=60)
            answer.raise_for_status()
        seen = [r for r in s3.requests_since(mark) if url.removeprefix("s3://") in r.path]
    report.polls = polls
    report.poll_requests = len(seen)
    kinds: dict[str, int] = {}
    for request in seen:
        kind = f"{request.method} {request.path.rsplit('/', 1)[-1].split('?')[0]} {request.status}"
        kinds[kind] = kinds.get(kind, 0) + 1
    report.poll_kinds = kinds
    report.notes.append(
        "without FERRY_MODELS the service also lists the registry's root once per "
        "FERRY_DISCOVERY_INTERVAL_S (60 s) to find new models"
    )


def _renamed(artifact: Artifact, registry: Registry, name: str) -> None:
    """Publish `artifact`'s graph as another model."""
    with registry.draft(name) as draft:
        for file_name in artifact.manifest.files:
            shutil.copyfile(artifact.path / file_name, draft.path / file_name)
        manifest = dataclasses.replace(artifact.manifest, name=name, version=draft.version)
        manifest.write(draft.path)
        version = draft.version
    registry.promote(name, version)


@contextlib.contextmanager
def _aws_env(s3: S3Server) -> Iterator[None]:
    """The standard AWS variables pointing at `s3` for the run, restored afterwards."""
    saved = {key: os.environ.get(key) for key in s3.env()}
    os.environ.update(s3.env())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
