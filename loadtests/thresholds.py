"""Pass/fail goals of the benchmarks, read from `thresholds.toml`.

Top-level keys are `ferry bench serve`'s; `[text]` and `[score]` hold the others'.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

FILE = Path(__file__).with_name("thresholds.toml")


#: (goal, measured, limit, passed)
Check = tuple[str, float, float, bool]


def goals(section: str, path: Path = FILE) -> dict[str, float]:
    """The goals of one benchmark's table (`text`, `score`)."""
    table: dict[str, float] = tomllib.loads(path.read_text())[section]
    return table


def at_least(goal: str, measured: float, limit: float) -> Check:
    """A goal met when `measured` >= `limit`."""
    return (goal, measured, limit, measured >= limit)


def at_most(goal: str, measured: float, limit: float) -> Check:
    """A goal met when `measured` <= `limit`."""
    return (goal, measured, limit, measured <= limit)


def _level(server: dict[str, Any], clients: int) -> dict[str, Any] | None:
    return next((lv for lv in server["levels"] if lv["concurrency"] == clients), None)


def check(report: dict[str, Any], path: Path = FILE) -> list[tuple[str, float, float, bool]]:
    """(goal, measured, limit, passed) for one model's report."""
    goals = tomllib.loads(path.read_text())
    servers = {s["label"]: s for s in report["servers"]}
    ferry, peer, bento = (
        servers["ferry batched"],
        servers["fastapi + ort"],
        servers["bentoml unbatched"],
    )
    results = []
    for label in ("ferry batched", "ferry batched (V2)"):
        levels = servers[label]["levels"]
        errors = sum(lv["errors"] for lv in levels) / max(1, sum(lv["requests"] for lv in levels))
        results.append(
            (
                f"{label}: error rate",
                errors,
                goals["max_error_rate"],
                errors <= goals["max_error_rate"],
            )
        )
    at32 = [_level(s, 32) for s in (ferry, peer, bento)]
    if all(at32):
        ours, theirs, bentos = (lv["rps"] for lv in at32 if lv)
        goal = goals["ferry_vs_fastapi_rps_at_32"]
        results.append(("ferry / fastapi req/s at 32", ours / theirs, goal, ours / theirs >= goal))
        goal = goals["ferry_vs_bentoml_unbatched_rps_at_32"]
        results.append(
            ("ferry / bentoml unbatched req/s at 32", ours / bentos, goal, ours / bentos >= goal)
        )
    at1 = [_level(s, 1) for s in (ferry, peer)]
    if all(at1):
        gap = at1[0]["p50_ms"] - at1[1]["p50_ms"]  # type: ignore[index]
        goal = goals["p50_gap_ms_at_1"]
        results.append(("ferry p50 - fastapi p50 at 1 client (ms)", gap, goal, gap <= goal))
    return results
