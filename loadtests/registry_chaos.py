"""kill -9 of publishes at random points: a version is visible whole or not at all.

python -m loadtests.registry_chaos URL MODEL MB    publish MB-sized versions until killed
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from export.manifest import MODEL_FILE, Manifest, Parity, sha256_file
from export.registry import Registry
from export.signature import Signature, TensorSpec

ROOT = Path(__file__).resolve().parents[1]


def publish_forever(url: str, model: str, megabytes: float) -> None:
    """Publish versions of `model` with a file of `megabytes` until killed."""
    registry = Registry(url)
    registry.models()  # the store's client is made (a second of CPU) before "ready"
    payload = os.urandom(int(megabytes * 1_000_000))
    print("ready", flush=True)
    while True:
        with registry.draft(model) as draft:
            (draft.path / MODEL_FILE).write_bytes(payload)
            sha = sha256_file(draft.path / MODEL_FILE)
            tiny_manifest(model, draft.version, sha).write(draft.path)
        print(draft.version, flush=True)


def tiny_manifest(model: str, version: str, sha256: str) -> Manifest:
    """A manifest for a one-file version (its bytes need not be a real graph here)."""
    spec = TensorSpec("x", "float32", (-1, 1))
    return Manifest(
        name=model,
        version=version,
        signature=Signature((spec,), (spec,)),
        labels=[],
        files={MODEL_FILE: sha256},
        parity=Parity(0.0, 1e-5, 0, True),
        created_at=datetime.now(UTC).isoformat(),
        opset=18,
    )


def kill_a_publish(url: str, seconds: float, model: str = "m", megabytes: float = 2.0) -> None:
    """Start a process publishing in a loop and SIGKILL it `seconds` after it is ready."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "loadtests.registry_chaos", url, model, str(megabytes)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert worker.stdout is not None
    if worker.stdout.readline().strip() != "ready":
        worker.kill()
        raise RuntimeError(f"the publishing process did not start (exit {worker.wait()})")
    time.sleep(seconds)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


def broken_versions(registry: Registry, model: str = "m") -> list[str]:
    """Visible versions that do not open whole (sha256 of every file): must be none."""
    broken = []
    for version in registry.versions(model):
        try:
            registry.get(f"{model}:{version}")
        except Exception:
            broken.append(version)
    return broken


def chaos(registry: Registry, kills: int, seed: int = 7, longest_s: float = 0.5) -> dict[str, int]:
    """`kills` publishes killed at random moments; what is visible, broken and orphaned."""
    rng = random.Random(seed)
    for _ in range(kills):
        kill_a_publish(registry.url, rng.uniform(0.0, longest_s))
    broken = broken_versions(registry)
    orphans = len(registry.gc(0.0))
    return {
        "kills": kills,
        "visible": len(registry.versions("m")),
        "broken": len(broken),
        "orphans_removed": orphans,
    }


if __name__ == "__main__":
    publish_forever(sys.argv[1], sys.argv[2], float(sys.argv[3]))
