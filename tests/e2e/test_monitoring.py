"""Drift and the prediction log in a real server, then the commands that read them.

One server watches the e2e models with a window of 500 rows: calm traffic (rows of
the training data), then a +1 sigma shift of one feature; the drift endpoint, the
gauges, the log files, `ferry drift --log` and `ferry retrain --from-log --drift-from`
are checked against what was sent.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import Result
from typer.testing import CliRunner

from export.registry import Artifact, Registry
from loadtests.servers import running_service
from training.data import load_breast_cancer

pytestmark = pytest.mark.slow
SHIFTED = "worst texture"
WINDOW = "500"


@pytest.fixture(scope="module")
def watched(
    trained_registry: tuple[Registry, Artifact], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    registry, _ = trained_registry
    root = tmp_path_factory.mktemp("watched")
    env = {
        "FERRY_DRIFT_WINDOW_ROWS": WINDOW,
        "FERRY_DRIFT_MIN_ROWS": WINDOW,
        "FERRY_DRIFT_REPORT_S": "0.2",
        "FERRY_PREDICTION_LOG_DIR": str(root / "log"),
        "FERRY_PREDICTION_LOG_FILE_S": "0.5",  # files close (and show) while it runs
    }
    with running_service(registry.root, root / "service.log", **env) as url:
        yield url, root / "log"


def send(url: str, rows: np.ndarray, prefix: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        for i, start in enumerate(range(0, len(rows), 10)):
            body = {"model": "tabular", "inputs": {"features": rows[start : start + 10].tolist()}}
            answer = client.post("/predict", json=body, headers={"X-Request-ID": f"{prefix}-{i}"})
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-request-id"] == f"{prefix}-{i}"


def until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while (value := check()) is None or value is False:
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)
    return value


def drift(url: str, path: str = "/v2/models/tabular/drift") -> dict[str, Any]:
    answer = httpx.get(url + path, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def report_when(url: str, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    report = drift(url)
    return report if wanted(report) else None


def ferry(*args: str) -> Result:
    """The command in this process: torch and the models are imported already."""
    from ferry.cli import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_drift_gauges_log_and_the_commands_that_read_them(
    watched: tuple[str, Path], trained_registry: tuple[Registry, Artifact], tmp_path: Path
) -> None:
    url, log = watched
    table = load_breast_cancer()
    rng = np.random.default_rng(0)
    calm_rows = rng.integers(0, table.rows, 500)
    send(url, table.X[calm_rows], "calm")
    calm = until(lambda: report_when(url, lambda r: r["rows"] == 500))
    assert calm["enough_rows"] and not calm["drifted"], calm["drifted_features"]
    assert calm["window"]["max_rows"] == 500 and calm["window"]["dropped_rows"] == 0
    labels = 'model="tabular",version="1"'
    until(lambda: f"ferry_drift_window_rows{{{labels}}} 500.0" in metrics(url))

    shifted_rows = rng.integers(0, table.rows, 500)
    shifted = table.X[shifted_rows].copy()
    column = table.feature_names.index(SHIFTED)
    shifted[:, column] += table.X[:, column].std()
    send(url, shifted, "shift")
    report = until(lambda: report_when(url, lambda r: r["drifted"]))
    inputs = [f["name"] for f in report["features"] if f["drifted"] and f["source"] == "input"]
    assert inputs == [SHIFTED]
    until(lambda: f"ferry_drift_drifted{{{labels}}} 1.0" in metrics(url))
    digits = drift(url, "/v2/models/digits/versions/1/drift")  # watched too, no traffic yet
    assert digits["rows"] == 0 and digits["features"][0]["name"] == "intensity_mean"

    logged = until(lambda: _logged(log / "tabular" / "1", 1000))
    assert logged.groupby("request_id").size().eq(10).all()
    np.testing.assert_allclose(
        logged[logged.request_id == "shift-3"][SHIFTED].to_numpy(), shifted[30:40, column]
    )
    registry, _ = trained_registry
    read = ferry("drift", "tabular", "--log", str(log), "--registry", str(registry.root),
                 "--json", "--plots", str(tmp_path / "plots"))  # fmt: skip
    assert read.exit_code == 0, read.output
    assert SHIFTED in json.loads(read.stdout.strip().splitlines()[-1])["drifted_features"]

    # retrain a copy of the registry on the logged rows with their labels, because the
    # service says the served rows drifted
    copy = tmp_path / "registry"
    shutil.copytree(registry.root, copy)
    truth = np.concatenate([table.y[calm_rows], table.y[shifted_rows]])
    ids = [f"{p}-{i // 10}" for p in ("calm", "shift") for i in range(500)]
    pd.DataFrame(
        {
            "request_id": ids,
            "row": [i % 10 for i in range(1000)],
            "target": np.array(table.labels)[truth],
        }
    ).to_csv(tmp_path / "labels.csv", index=False)
    run = ferry("retrain", "tabular", "--from-log", str(log), "--labels",
                str(tmp_path / "labels.csv"), "--drift-from", url, "--registry", str(copy),
                "--json")  # fmt: skip
    assert run.exit_code == 0, run.output
    decision = json.loads(run.stdout.strip().splitlines()[-1])
    assert decision["decision"] in ("promoted", "kept-as-staging")
    assert decision["drift"]["observed"] and SHIFTED in decision["drift"]["drifted"]
    assert decision["drift"]["source"].startswith(f"{url}/v2/models/tabular/drift")
    assert decision["rows"]["fresh"] == 1000
    assert "1000 logged rows with labels" in run.output


def metrics(url: str) -> str:
    return httpx.get(url + "/metrics", timeout=30).text


def _logged(folder: Path, rows: int) -> pd.DataFrame | None:
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        return None
    frame = pd.concat([pq.read_table(p).to_pandas() for p in files], ignore_index=True)
    return frame if len(frame) >= rows else None
