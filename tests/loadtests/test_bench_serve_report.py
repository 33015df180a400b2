"""The serving benchmark's goals and report, on a report shaped like a real run's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadtests import report, thresholds


def level(clients: int, rps: float, p50: float, errors: int = 0) -> dict[str, Any]:
    return {
        "concurrency": clients,
        "requests": 1000,
        "rps": rps,
        "rows_per_s": rps,
        "p50_ms": p50,
        "p95_ms": p50 * 2,
        "p99_ms": p50 * 3,
        "errors": errors,
        "mean_batch_rows": 4.0,
        "cpu_cores": 1.0,
        "statuses": {"200": 1000 - errors},
    }


def server(label: str, rps32: float, p50_1: float, errors: int = 0) -> dict[str, Any]:
    return {
        "label": label,
        "cold_start_s": 2.0,
        "rss_mb": 200.0,
        "levels": [level(1, 500, p50_1), level(32, rps32, 20, errors)],
    }


def model_report(ferry_rps: float, ferry_errors: int = 0) -> dict[str, Any]:
    return {
        "model": "tabular",
        "version": "1",
        "raw_rows_per_s": {1: 1e5, 64: 1e6},
        "servers": [
            server("ferry batched", ferry_rps, 1.5, ferry_errors),
            server("ferry batched (V2)", ferry_rps, 1.5),
            server("ferry unbatched", 300, 2.0),
            server("fastapi + ort", 1000, 1.0),
            server("bentoml unbatched", 100, 5.0),
        ],
    }


def test_goals_pass_and_fail_on_the_measured_ratios() -> None:
    good = {goal: ok for goal, _, _, ok in thresholds.check(model_report(1100))}
    assert all(good.values()), good
    bad = {goal: (measured, ok) for goal, measured, _, ok in thresholds.check(model_report(500, 3))}
    assert bad["ferry / fastapi req/s at 32"] == (0.5, False)
    assert bad["ferry / bentoml unbatched req/s at 32"] == (5.0, True)
    assert bad["ferry batched: error rate"][1] is False


def test_report_files(tmp_path: Path) -> None:
    one = model_report(500)
    one["checks"] = thresholds.check(one)
    written = report.write(
        {"machine": "test", "command": "ferry bench serve", "models": [one]}, tmp_path
    )
    assert {p.name for p in written} == {
        "results.json",
        "results.md",
        "tabular-rps.png",
        "tabular-p50_ms.png",
        "tabular-p99_ms.png",
        "tabular-p95_ms.png",
    }
    table = (tmp_path / "results.md").read_text()
    assert "| fastapi + ort | 32 | 1,000 |" in table and "**no**" in table
    assert json.loads((tmp_path / "results.json").read_text())["models"][0]["model"] == "tabular"
    assert (tmp_path / "tabular-rps.png").read_bytes()[:4] == b"\x89PNG"
