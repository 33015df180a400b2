"""The `ferry` command as a user runs it: a real process, real exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.datasets import load_breast_cancer

from export.registry import Registry

pytestmark = pytest.mark.slow


def ferry(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ferry", *args], capture_output=True, text=True, timeout=300
    )
    if ok:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def user_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "diagnosis"})
    path = tmp_path_factory.mktemp("data") / "cells.csv"
    frame.to_csv(path, index=False)
    return path


def test_train_on_a_users_csv_then_manage_aliases(tmp_path: Path, user_csv: Path) -> None:
    reg = str(tmp_path / "reg")
    common = [
        "--data",
        str(user_csv),
        "--target",
        "diagnosis",
        "--epochs",
        "5",
        "--registry",
        reg,
        "--checkpoints",
        str(tmp_path / "ckpt"),
    ]
    first = ferry("train", "tabular", "--name", "cells", *common)
    assert first.stdout.strip().splitlines()[-1] == "1"
    assert "parity max" in first.stdout
    ferry("train", "tabular", "--name", "cells", "--seed", "1", *common)
    assert (tmp_path / "ckpt" / "cells.pt").is_file()

    listed = ferry("models", "list", "--registry", reg).stdout
    assert "cells" in listed and "production→2" in listed
    manifest = json.loads(ferry("models", "show", "cells@production", "--registry", reg).stdout)
    assert manifest["version"] == "2" and manifest["features"][0] == "mean radius"
    assert manifest["labels"] == ["0", "1"]

    ferry("models", "rollback", "cells", "--registry", reg)
    assert "production→1" in ferry("models", "list", "--registry", reg).stdout
    ferry("models", "promote", "cells", "2", "--alias", "staging", "--registry", reg)
    history = ferry("models", "history", "cells", "--registry", reg).stdout
    assert "rollback" in history and "staging" in history

    baked = tmp_path / "baked"
    ferry("models", "copy", "cells@staging", "--to", str(baked), "--registry", reg)
    assert Registry(baked).aliases("cells") == {"production": "2"}


def test_clear_errors_and_exit_codes(tmp_path: Path, user_csv: Path) -> None:
    reg = str(tmp_path / "reg")
    missing = ferry(
        "train",
        "tabular",
        "--data",
        str(user_csv),
        "--target",
        "label",
        "--registry",
        reg,
        ok=False,
    )
    assert missing.returncode == 1
    assert "'label'" in missing.stderr and "diagnosis" in missing.stderr
    assert "Traceback" not in missing.stderr

    unknown = ferry("models", "show", "nope", "--registry", reg, ok=False)
    assert unknown.returncode == 5 and "model 'nope' not found" in unknown.stderr

    usage = ferry("train", "tabular", "--data", str(user_csv), ok=False)
    assert usage.returncode == 2 and "--data and --target go together" in usage.stderr

    recipe = ferry("train", "nope", "--registry", reg, ok=False)
    assert recipe.returncode == 2 and "unknown recipe 'nope'" in recipe.stderr


def test_parquet_input(tmp_path: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    path = tmp_path / "cells.parquet"
    frame.to_parquet(path)
    reg = str(tmp_path / "reg")
    ferry(
        "train",
        "tabular",
        "--data",
        str(path),
        "--target",
        "target",
        "--epochs",
        "3",
        "--registry",
        reg,
        "--checkpoints",
        str(tmp_path / "ckpt"),
    )
    assert "tabular" in ferry("models", "list", "--registry", reg).stdout
    artifact = Registry(tmp_path / "reg").get("tabular@production")
    assert artifact.manifest.features == list(frame.columns[:-1])
    assert artifact.manifest.labels == ["0", "1"]
    # it learned from the Parquet rows: its graph, run here, classifies them
    session = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])
    x = frame.drop(columns="target").to_numpy(np.float32)
    accuracy = (session.run(None, {"features": x})[0].argmax(axis=1) == frame["target"]).mean()
    assert accuracy > 0.85, accuracy
