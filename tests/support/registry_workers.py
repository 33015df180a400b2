"""Registry writers run as separate processes by the tests (races, kills).

python -m tests.support.registry_workers move URL ALIAS N VERSION...   N moves, JSON out
python -m tests.support.registry_workers publish URL MODEL MB           publish forever
"""

from __future__ import annotations

import json
import os
import random
import sys
from datetime import UTC, datetime

from export.errors import Conflict
from export.manifest import MODEL_FILE, Manifest, Parity, sha256_file
from export.registry import Registry
from export.signature import Signature, TensorSpec


def move(url: str, alias: str, count: int, versions: list[str]) -> None:
    """Try `count` moves of `alias` to random versions; print what won and what lost."""
    registry = Registry(url)
    print("ready", flush=True)
    sys.stdin.readline()  # all workers start together
    won, lost = [], 0
    rng = random.Random(os.getpid())
    for _ in range(count):
        version = rng.choice(versions)
        try:
            previous = registry.promote("m", version, alias, reason=f"pid {os.getpid()}")
            won.append([previous, version])
        except Conflict:
            lost += 1
    print(json.dumps({"won": won, "lost": lost}), flush=True)


def publish(url: str, model: str, megabytes: float) -> None:
    """Publish versions of `model` with a file of `megabytes` until killed."""
    registry = Registry(url)
    payload = os.urandom(int(megabytes * 1_000_000))
    print("ready", flush=True)
    while True:
        with registry.draft(model) as draft:
            (draft.path / MODEL_FILE).write_bytes(payload)
            tiny_manifest(model, draft.version, sha256_file(draft.path / MODEL_FILE)).write(
                draft.path
            )
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


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "move":
        move(args[0], args[1], int(args[2]), args[3:])
    else:
        publish(args[0], args[1], float(args[2]))
