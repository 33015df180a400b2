"""`--every DURATION`: run a job at a fixed rate, missed ticks skipped, optionally bounded."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from training.errors import RetrainError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: str) -> float:
    """Seconds in `45s`, `30m`, `6h`, `1d` or a sum such as `1h30m`."""
    spec = text.strip().lower()
    parts = _PART.findall(spec)
    if not parts or "".join(n + u for n, u in parts) != spec:
        raise RetrainError(
            f"invalid duration {text!r}: use a number with s, m, h or d, e.g. 45s, 30m, 6h, 1h30m"
        )
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise RetrainError(f"invalid duration {text!r}: must be longer than zero")
    return seconds


def run_every(
    run: Callable[[], object],
    interval: float,
    *,
    max_runs: int | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Call `run` now and then every `interval` seconds (start to start) until `max_runs`
    calls; a run longer than the interval is followed at once. Returns the runs made."""
    runs = 0
    due = clock()
    while max_runs is None or runs < max_runs:
        run()
        runs += 1
        if max_runs is not None and runs >= max_runs:
            break
        due = max(due + interval, clock())
        sleep(max(0.0, due - clock()))
    return runs
