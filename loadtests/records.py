"""Benchmark figures kept in the registry beside the version they measured.

`ferry bench serve` and `ferry bench text` append one compact entry per measured
version to `registry.append_benchmark`; the version's model card shows the latest.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from export.registry import Registry


def serve_entries(run: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(model, entry) for each model of a `ferry bench serve` run."""
    return [(report["model"], _serve(run, report)) for report in run["models"]]


def text_entry(report: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(model, entry) of a `ferry bench text` run: every goal with its measured figure."""
    fixed = report.get("fixed") or [{}]
    entry = {
        "kind": "text",
        "version": report["version"],
        "machine": report.get("machine"),
        "command": report.get("command"),
        "providers": report.get("providers"),
        "clients": report.get("clients"),
        "placement": report.get("placement"),
        "service_sentences_per_s": _r((fixed[0].get("service") or {}).get("sentences_per_s")),
        "raw_sentences_per_s": _r(fixed[0].get("raw_sentences_per_s")),
        "checks": [
            {"goal": goal, "measured": _r(measured, 3), "limit": limit, "met": bool(ok)}
            for goal, measured, limit, ok in report.get("checks", [])
        ],
        "goals_met": all(ok for *_, ok in report.get("checks", [])),
    }
    return report["model"], entry


def record(registry: Path | Registry, entries: Iterable[tuple[str, dict[str, Any]]]) -> int:
    """Append each entry to its model's benchmark records; the number written."""
    reg = registry if isinstance(registry, Registry) else Registry(registry)
    count = 0
    for model, entry in entries:
        reg.append_benchmark(model, entry)
        count += 1
    return count


def _serve(run: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "serve",
        "version": report["version"],
        "machine": run.get("machine"),
        "command": run.get("command"),
        "providers": report.get("raw_providers"),
        "raw_rows_per_s": {str(k): _r(v) for k, v in report.get("raw_rows_per_s", {}).items()},
        "servers": [
            {
                "label": server["label"],
                "providers": server.get("providers"),
                "cold_start_s": _r(server.get("cold_start_s")),
                "rss_mb": _r(server.get("rss_mb")),
                "levels": [_level(level) for level in server.get("levels", [])],
            }
            for server in report.get("servers", [])
        ],
        "goals_met": all(ok for *_, ok in report.get("checks", [])),
    }


def _level(level: dict[str, Any]) -> dict[str, Any]:
    keys = ("rps", "rows_per_s", "p50_ms", "p95_ms", "p99_ms", "cpu_cores", "mean_batch_rows")
    return {
        "clients": level["concurrency"],
        **{k: _r(level.get(k)) for k in keys},
        "errors": int(level.get("errors") or 0),
    }


def _r(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)
