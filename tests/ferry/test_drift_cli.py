"""`ferry drift MODEL --data FILE`: the table, the verdict, the PNGs, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from export.registry import Registry
from ferry.cli import app
from tests.support.onnx_models import publish_linear
from tests.support.text_models import WORDS, publish_text
from training.text.data import BUNDLED

PNG = b"\x89PNG\r\n\x1a\n"


def rows(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, 4)) * [1, 10, 100, 0.5]


def frame(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(values, columns=[f"f{i}" for i in range(values.shape[1])])


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    registry = Registry(tmp_path_factory.mktemp("drift-cli") / "registry")
    publish_linear(registry, "tab", n_features=4, drift_rows=rows(2000, 0))
    publish_linear(registry, "old", n_features=4)  # before reference statistics
    tickets = pd.read_csv(BUNDLED)["text"].astype(str).tolist()
    publish_text(registry, "tickets", classes=3, drift_texts=tickets)
    return registry


def drift(registry: Registry, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["drift", *args, "--registry", str(registry.root)], env={"COLUMNS": "200"}
    )
    return result.exit_code, result.output


def test_rows_like_the_training_data_show_no_drift(registry: Registry, tmp_path: Path) -> None:
    frame(rows(800, 1)).to_parquet(tmp_path / "same.parquet")
    code, output = drift(registry, "tab", "--data", str(tmp_path / "same.parquet"),
                         "--plots", str(tmp_path / "plots"))  # fmt: skip
    assert code == 0, output
    assert "800 rows; PSI threshold 0.2: no drift" in output
    assert not (tmp_path / "plots").exists()


def test_a_shifted_feature_is_named_and_plotted(registry: Registry, tmp_path: Path) -> None:
    values = rows(800, 2)
    values[:, 2] += 100.0  # +1 sigma of f2
    data = frame(values)
    data.loc[5, "f1"] = None  # a row that cannot be scored is counted, not fatal
    data["label"] = "x"  # other columns are ignored
    data.to_csv(tmp_path / "shifted.csv", index=False)
    plots = tmp_path / "plots"
    args = ["tab:1", "--data", str(tmp_path / "shifted.csv"), "--plots", str(plots)]
    code, output = drift(registry, *args)
    assert code == 0, output
    assert "799 rows; 1 rows could not be scored and are left out" in output
    assert "drifted: f2" in output.replace("\n", " ")
    # f2 dominates this linear model: its predictions moved with it
    outputs = {"prediction.png", "confidence.png"}
    assert "f2.png" in {p.name for p in plots.iterdir()} <= {"f2.png", *outputs}
    assert all(p.read_bytes().startswith(PNG) for p in plots.iterdir())

    code, output = drift(registry, *args, "--json")
    report = json.loads(output.strip().splitlines()[-1])  # after the line on stderr
    assert (report["model"], report["version"], report["skipped_rows"]) == ("tab", "1", 1)
    assert report["drifted_features"][0] == "f2" and report["rows"] == 799
    inputs = [f["name"] for f in report["features"] if f["drifted"] and f["source"] == "input"]
    assert inputs == ["f2"]
    f2 = next(f for f in report["features"] if f["name"] == "f2")
    assert f2["psi"] > 0.5 and 0.3 < f2["ks"] < 0.5 and 0.8 < f2["wasserstein"] < 1.2


def test_a_text_model_reads_a_column_of_texts(registry: Registry, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    unrelated = [" ".join(rng.choice(WORDS, size=8)) for _ in range(300)]
    pd.DataFrame({"body": unrelated}).to_csv(tmp_path / "texts.csv", index=False)
    args = ["tickets", "--data", str(tmp_path / "texts.csv"), "--plots", str(tmp_path / "p")]
    code, output = drift(registry, *args)
    assert code == 1 and "no text column 'text'" in output and "--text-col" in output
    code, output = drift(registry, *args, "--text-col", "body")
    assert code == 0, output
    assert "drifted:" in output and "tokens.length" in output
    assert (tmp_path / "p" / "tokens.length.png").is_file()


def test_a_version_without_reference_statistics_is_refused(
    registry: Registry, tmp_path: Path
) -> None:
    frame(rows(10, 3)).to_csv(tmp_path / "x.csv", index=False)
    code, output = drift(registry, "old", "--data", str(tmp_path / "x.csv"))
    assert code == 1
    assert "old:1 has no reference statistics" in output.replace("\n", " ")
    code, output = drift(registry, "tab", "--data", str(tmp_path / "missing.csv"))
    assert code == 1 and "missing.csv" in output


@pytest.mark.parametrize("where", ["folder", "s3"])
def test_the_prediction_log_is_read_per_version(
    registry: Registry, tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    from service.serving.monitoring import PredictionLogSettings
    from service.serving.monitoring.predlog.log import PredictionLog

    location = str(tmp_path / "log")
    if where == "s3":
        location = request.getfixturevalue("s3_server").url()
    log = PredictionLog(PredictionLogSettings(prediction_log_dir=location))
    values = rows(600, 4).astype(np.float32)
    values[:, 0] += 1.0  # +1 sigma of f0
    features = ("f0", "f1", "f2", "f3")
    for i in range(0, 600, 20):
        batch = values[i : i + 20]
        log.offer(f"r{i}", "tab", "1", {"features": batch}, {"probabilities": batch[:, :2]},
                  features)  # fmt: skip
    log.close()
    code, output = drift(registry, "tab", "--log", location, "--plots",
                         str(tmp_path / "p"))  # fmt: skip
    assert code == 0, output
    assert "drift of the prediction log against tab:1" in output
    assert "600 rows" in output and "drifted: f0" in output.replace("\n", " ")
    code, output = drift(registry, "tab:1", "--log", str(tmp_path / "nothing"))
    assert code == 2 and "holds no requests of tab:1" in output
