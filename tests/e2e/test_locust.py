"""The locust scenarios run headless against the real service without a failure.

Locust runs until its stats show every model and both endpoints exercised (bounded),
not for a fixed time: how many requests a few seconds hold depends on the machine.
"""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
ENOUGH = 40  # requests, all succeeded, before locust is stopped


def stats(prefix: Path) -> dict[str, dict[str, str]]:
    """Locust's stats file by request name (rewritten every second while it runs)."""
    try:
        with open(f"{prefix}_stats.csv") as handle:
            return {row["Name"]: row for row in csv.DictReader(handle)}
    except (OSError, csv.Error, KeyError):
        return {}


def covered(rows: dict[str, dict[str, str]]) -> bool:
    """Both models, typed and V2, and enough requests in all."""
    names = set(rows) - {"Aggregated"}
    total = rows.get("Aggregated", {}).get("Request Count", "0")
    return (
        int(total) >= ENOUGH
        and {name.split()[0] for name in names} >= {"/predict", "/v2/models/tabular/infer"}
        and any("digits" in name for name in names)
    )


def test_locust_scenarios_cover_every_model_without_failures(
    service_url: str, tmp_path: Path
) -> None:
    prefix = tmp_path / "locust"
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py")]
    command += ["--host", service_url, "--headless", "--users", "4", "--spawn-rate", "4"]
    command += ["--run-time", "300s", "--only-summary", "--csv", str(prefix)]
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 240
        while not covered(stats(prefix)):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, f"not covered in 240 s: {stats(prefix)}"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)  # locust stops, writes its final stats, exits
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    rows = stats(prefix)
    assert covered(rows) and int(rows["Aggregated"]["Failure Count"]) == 0, rows["Aggregated"]
