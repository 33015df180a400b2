"""`ferry score` and the HTTP service give the same predictions for the same rows."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_breast_cancer
from typer.testing import CliRunner

from export.registry import Artifact, Registry
from ferry.cli import app

pytestmark = pytest.mark.slow


def test_batch_scores_equal_http_answers(
    service_url: str, trained_registry: tuple[Registry, Artifact], tmp_path: Path
) -> None:
    registry, artifact = trained_registry
    features = artifact.manifest.features
    rows = load_breast_cancer().data[::-1][:300]
    columns = {name: rows[:, j] for j, name in reversed(list(enumerate(features)))}
    pq.write_table(pa.table({"case": np.arange(300), **columns}), tmp_path / "cases.parquet")

    result = CliRunner().invoke(
        app,
        [
            *["score", "tabular", "-i", str(tmp_path / "cases.parquet")],
            *["-o", str(tmp_path / "s.csv"), "--registry", str(registry.root)],
            *["--id-col", "case", "--batch-rows", "128"],
        ],
    )
    assert result.exit_code == 0, result.output
    scored = pacsv.read_csv(tmp_path / "s.csv")
    batch = np.stack([scored["probabilities_0"], scored["probabilities_1"]], axis=1)

    answers: list[list[float]] = []
    labels: list[str] = []
    with httpx.Client(base_url=service_url, timeout=30) as client:
        for start in range(0, 300, 50):
            inputs = {"features": rows[start : start + 50].tolist()}
            response = client.post("/predict", json={"model": "tabular", "inputs": inputs})
            assert response.status_code == 200, response.text
            answers += response.json()["outputs"]["probabilities"]
            labels += response.json()["predictions"]
            assert response.json()["model_version"] == artifact.manifest.version
    np.testing.assert_array_equal(batch.astype(np.float32), np.float32(answers))
    assert scored["prediction"].to_pylist() == labels
    assert scored["case"].to_pylist() == list(range(300))
    assert {str(v) for v in scored["model_version"].to_pylist()} == {artifact.manifest.version}
