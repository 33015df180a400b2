"""Registry writers run as separate processes by the tests (races, kills).

python -m tests.support.registry_workers move URL ALIAS N VERSION...   N moves, JSON out
python -m tests.support.registry_workers publish URL MODEL MB           publish forever
"""

from __future__ import annotations

import json
import os
import random
import sys

from export.errors import Conflict
from export.registry import Registry


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


if __name__ == "__main__":
    move(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:])
