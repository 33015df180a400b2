"""The locust scenarios run headless against the real service without a failure."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_locust_scenarios_cover_every_model_without_failures(
    service_url: str, tmp_path: Path
) -> None:
    prefix = tmp_path / "locust"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "loadtests" / "locustfile.py"),
            "--host",
            service_url,
            "--headless",
            "--users",
            "4",
            "--spawn-rate",
            "4",
            "--run-time",
            "4s",
            "--only-summary",
            "--csv",
            str(prefix),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(f"{prefix}_stats.csv") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    total = rows.pop("Aggregated")
    assert int(total["Request Count"]) > 20 and int(total["Failure Count"]) == 0
    # both models, typed and V2, were exercised
    assert {name.split()[0] for name in rows} >= {"/predict", "/v2/models/tabular/infer"}
    assert any("digits" in name for name in rows)
