"""text-classify: a head on the frozen encoder or fine-tuned, on a user's CSV, published with its
tokenizer; bad CSVs are refused before any model is loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

from export.drift import reference_of
from export.probe import text_batches
from export.registry import Registry
from export.tokenizer import TokenizerSpec
from training.errors import DataError
from training.loop import TrainConfig
from training.pipeline import publish_trained, train_and_publish
from training.recipes import get_recipe
from training.text.embed import run_module
from training.text.tokenizer import published_tokenizer
from training.text.weights import package_dir

pytestmark = pytest.mark.slow
METRICS = {"accuracy", "macro_f1", "log_loss", "roc_auc"}


def test_frozen_head_trains_on_a_csv_and_publishes(tickets_csv: Path, tmp_path: Path) -> None:
    trained = get_recipe("text-classify").run(
        tickets_csv, "topic", TrainConfig(epochs=30), progress=False, text_col="body"
    )
    assert trained.labels == ["login", "money", "parcel"]
    assert set(trained.metrics) == METRICS and trained.metrics["accuracy"] >= 2 / 3
    assert trained.training["mode"] == "frozen" and trained.training["rows"]["test"] == 5
    assert (trained.training["text_col"], trained.training["label_col"]) == ("body", "topic")
    assert trained.training["train_seconds"] > 0
    curve = trained.evaluation["learning_curve"]
    assert curve["metric"] == "accuracy" and len(curve["epochs"]) == trained.training["epochs_run"]
    matrix = trained.evaluation["confusion_matrix"]["matrix"]
    assert len(matrix) == 3 and sum(map(sum, matrix)) == 5

    artifact = publish_trained(trained, Registry(tmp_path / "reg"), "tickets", promote=False)

    m = artifact.manifest
    assert m.task == "classification" and m.labels == trained.labels
    assert m.signature.outputs[0].to_dict() == {
        "name": "probabilities",
        "dtype": "float32",
        "shape": [-1, 3],
    }
    assert set(m.files) == {"model.onnx", "tokenizer.json"}
    assert m.preprocessing["tokenizer"]["file"] == "tokenizer.json"
    assert m.parity.passed and m.parity.rows == 5 + 16
    reference = reference_of(m)  # token counts and bags of the training texts
    assert reference.rows == {"inputs": trained.training["rows"]["train"], "outputs": 5}
    assert reference.names()[0] == "tokens.length" and reference.names()[-1] == "confidence"
    texts = ["my parcel never came", "I cannot log in", "you charged me twice", "x" * 900]
    session = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])
    batches = text_batches(
        artifact.path, TokenizerSpec.parse(m.preprocessing["tokenizer"]), texts, 4
    )
    proba = session.run(None, batches[0])[0]
    expected = run_module(trained.module, published_tokenizer(package_dir()), texts)
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_fine_tuning_trains_the_encoder_too(tickets_csv: Path) -> None:
    trained = get_recipe("text-classify").run(
        tickets_csv, "topic", TrainConfig(epochs=1), progress=False, text_col="body", finetune=True
    )
    assert trained.training["mode"] == "finetune" and trained.training["epochs_run"] == 1
    assert trained.training["encoder_lr"] < trained.training["head_lr"]
    curve = trained.evaluation["learning_curve"]
    assert curve["epochs"] == [1] and curve["train_loss"][0] > 0  # mean batch loss
    assert curve["train_metric"] == [None] and curve["val_metric"][0] is not None
    assert set(trained.metrics) == METRICS


def test_bad_csvs_and_options_are_refused(tickets_csv: Path, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    with pytest.raises(DataError, match=r"no text column 'text' \(columns: body, topic\)"):
        train_and_publish("text-classify", registry, tickets_csv, "topic", progress=False)
    with pytest.raises(DataError, match="recipe 'tabular' takes no option text_col"):
        train_and_publish("tabular", registry, progress=False, options={"text_col": "body"})
    with pytest.raises(DataError, match="text-embed publishes the pretrained encoder"):
        train_and_publish("text-embed", registry, tickets_csv, "topic", progress=False)
    assert registry.models() == []


def test_cli_names_the_missing_column(tickets_csv: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(tickets_csv).rename(columns={"topic": "category"})
    frame.to_csv(tmp_path / "renamed.csv", index=False)
    done = subprocess.run(
        [
            sys.executable, "-m", "ferry", "train", "text-classify",
            "--data", str(tmp_path / "renamed.csv"), "--label-col", "topic", "--text-col", "body",
            "--registry", str(tmp_path / "reg"), "--checkpoints", str(tmp_path / "ckpt"),
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert "no label column 'topic' (columns: body, category)" in " ".join(done.stderr.split())
    assert not (tmp_path / "reg").exists()
