"""`ferry bench serve` for real, tiny: every contender starts, answers and is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.registry import Registry
from loadtests import records
from loadtests.bench_serve import bench_model
from tests.support.onnx_models import publish_linear

pytestmark = pytest.mark.slow


def test_every_server_is_measured_in_turns(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    publish_linear(registry)
    report = bench_model(registry.root, "tabular", (1, 4), seconds=0.6, rounds=2)
    labels = [s["label"] for s in report["servers"]]
    assert labels[0] == "ferry batched" and "fastapi + ort" in labels
    assert report["raw_providers"] == ["CPUExecutionProvider"]
    for server in report["servers"]:
        assert [lv["concurrency"] for lv in server["levels"]] == [1, 4]
        for level in server["levels"]:
            assert level["requests"] > 0 and level["errors"] == 0, (server["label"], level)
    ferry = report["servers"][0]
    assert ferry["providers"] == ["CPUExecutionProvider"]
    assert ferry["levels"][1]["mean_batch_rows"] >= 1.0

    # kept beside the measured version, for its model card
    run = {"machine": "m", "command": "ferry bench serve", "models": [{**report, "checks": []}]}
    assert records.record(registry, records.serve_entries(run)) == 1
    [entry] = registry.benchmarks("tabular")
    assert (entry["kind"], entry["version"]) == ("serve", report["version"])
    kept = {s["label"]: [lv["rps"] for lv in s["levels"]] for s in entry["servers"]}
    assert kept == {
        s["label"]: [round(lv["rps"], 2) for lv in s["levels"]] for s in report["servers"]
    }
