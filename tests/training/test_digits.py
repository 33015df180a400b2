from __future__ import annotations

import inspect
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from export.drift import reference_of
from export.registry import PRODUCTION, Artifact, Registry
from training.checkpoint import build_module, load_checkpoint
from training.errors import DataError
from training.images import load_digits
from training.loop import TrainConfig, predict_proba
from training.models.digits import DigitsCNN, DigitsConfig, PixelScale
from training.pipeline import load_trained, save_trained, train_and_publish
from training.recipes import Trained, get_recipe, train_digits
from training.split import stratified_split

FAST = TrainConfig(epochs=3)


@pytest.fixture(scope="module")
def quick() -> Trained:
    return train_digits(None, None, FAST, progress=False)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Artifact, Path]:
    """`digits` through the same pipeline as `ferry train digits`, into a fresh registry."""
    root = tmp_path_factory.mktemp("digits")
    artifact = train_and_publish(
        "digits",
        Registry(root / "registry"),
        train_config=FAST,
        checkpoint_dir=root / "ck",
        progress=False,
    )
    return artifact, root / "ck" / "digits.pt"


def test_forward_takes_raw_images_and_returns_probabilities() -> None:
    assert list(inspect.signature(DigitsCNN.forward).parameters) == ["self", "images"]
    torch.manual_seed(0)
    model = DigitsCNN(DigitsConfig()).eval()
    with torch.no_grad():
        proba = model(torch.rand(5, 1, 8, 8) * 16)
    assert proba.shape == (5, 10)
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(5))


def test_pixel_scale_divides_by_pixel_max_then_standardises() -> None:
    layer = PixelScale(16.0).fit(np.array([[[[0.0, 16.0], [0.0, 16.0]]]]))
    assert layer.describe() == {"pixel_max": 16.0, "mean": 0.5, "std": 0.5}
    assert layer(torch.tensor([[[[8.0, 16.0]]]])).tolist() == [[[[0.0, 1.0]]]]
    assert set(dict(layer.named_buffers())) == {"scale", "mean", "std"}


def test_config_round_trips_through_plain_containers() -> None:
    config = DigitsConfig(channels=(8, 12), hidden=20, dropout=0.2)
    data = config.to_dict()
    assert data["channels"] == [8, 12]
    assert DigitsConfig.from_dict(data) == config
    assert DigitsConfig.from_dict({}) == DigitsConfig()


def test_quick_recipe_describes_what_it_trained(quick: Trained) -> None:
    assert get_recipe("digits").train is train_digits
    assert quick.signature.to_dict() == {
        "inputs": [{"name": "images", "dtype": "float32", "shape": [-1, 1, 8, 8]}],
        "outputs": [{"name": "probabilities", "dtype": "float32", "shape": [-1, 10]}],
    }
    samples = quick.sample_inputs["images"]
    assert samples.shape == (360, 1, 8, 8) and samples.dtype == np.float32
    assert samples.min() == 0 and samples.max() == 16  # raw pixels, scaled inside the graph
    assert quick.labels == [str(d) for d in range(10)]
    assert quick.features == []
    assert quick.task == "classification" and quick.kind == "digits"
    assert set(quick.metrics) == {"accuracy", "roc_auc", "log_loss"}
    assert quick.training["rows"] == {"train": 1077, "val": 360, "test": 360}
    assert quick.training["epochs_run"] == 3 and quick.training["source"] == "sklearn:digits"
    assert quick.preprocessing["in_graph"] is True
    assert quick.preprocessing["pixel_scale"]["pixel_max"] == 16.0
    assert quick.data_fingerprint.startswith("sha256:")
    assert not quick.module.training  # eval mode


def test_training_runs_on_one_thread_and_restores_the_setting() -> None:
    before = torch.get_num_threads()
    trained = train_digits(None, None, replace(FAST, epochs=1), progress=False)
    assert trained.training["threads"] == 1
    assert torch.get_num_threads() == before


def test_recipe_refuses_a_data_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="bundled digits only"):
        train_digits(tmp_path / "x.csv", "label", FAST, progress=False)


def test_checkpoint_round_trip_rebuilds_the_cnn(quick: Trained, tmp_path: Path) -> None:
    path = save_trained(tmp_path / "digits.pt", quick)
    raw = torch.load(path, weights_only=True)
    assert raw["model"] == {"kind": "digits", "config": quick.config}
    rebuilt = build_module(load_checkpoint(path))
    assert isinstance(rebuilt, DigitsCNN) and not rebuilt.training
    loaded = load_trained(path)
    images = quick.sample_inputs["images"]
    np.testing.assert_array_equal(
        predict_proba(rebuilt, images), predict_proba(quick.module, images)
    )
    np.testing.assert_array_equal(loaded.sample_inputs["images"], images)
    assert loaded.kind == "digits" and loaded.signature == quick.signature


@pytest.mark.parametrize("batch", [1, 300])
def test_published_onnx_takes_raw_pixels(published: tuple[Artifact, Path], batch: int) -> None:
    artifact, checkpoint = published
    manifest = artifact.manifest
    assert (manifest.name, manifest.version) == ("digits", "1")
    assert manifest.parity.passed and manifest.parity.max_abs_diff <= 1e-5
    assert manifest.labels == [str(d) for d in range(10)]
    assert manifest.training["recipe"] == "digits"
    session = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])
    (graph_input,) = session.get_inputs()
    assert graph_input.name == "images" and graph_input.shape[1:] == [1, 8, 8]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    raw = load_digits().X[-batch:]  # pixel values 0..16, exactly as sklearn ships them
    (got,) = session.run(None, {"images": raw})
    want = predict_proba(load_trained(checkpoint).module, raw)
    assert got.shape == (batch, 10)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_published_version_is_promoted(published: tuple[Artifact, Path]) -> None:
    artifact, _ = published
    registry = Registry(artifact.path.parent.parent)
    assert registry.aliases("digits") == {PRODUCTION: "1"}


def test_published_reference_watches_intensity_and_every_pixel(
    published: tuple[Artifact, Path],
) -> None:
    artifact, _ = published
    reference = reference_of(artifact.manifest)
    rows = artifact.manifest.training["rows"]
    assert reference.rows == {"inputs": rows["train"], "outputs": rows["test"]}
    names = reference.names()
    assert names[:2] == ["intensity_mean", "intensity_std"] and "pixel_7_7" in names
    assert names[-2:] == ["prediction", "confidence"] and len(names) == 2 + 64 + 2
    # the corner pixel is 0 in every training image: one bin holds it all
    assert reference.features[2].proportions == (1.0, 0.0)


@pytest.mark.slow
def test_full_default_training_is_accurate_and_reproducible() -> None:
    full = train_digits(None, None, TrainConfig(), progress=False)
    assert full.metrics["accuracy"] >= 0.97
    assert full.training["epochs_run"] < 200  # early stopping ended it
    # the same seed gives the same run, shown on the default settings' first epochs
    short = replace(TrainConfig(), epochs=6)
    first = train_digits(None, None, short, progress=False)
    second = train_digits(None, None, short, progress=False)
    assert second.metrics == first.metrics
    assert second.training == first.training
    other = train_digits(None, None, replace(short, seed=1), progress=False)
    assert other.metrics != first.metrics


def test_ten_classes_record_a_confusion_matrix_and_an_accuracy_curve(quick: Trained) -> None:
    splits = stratified_split(load_digits(), FAST.seed)
    predicted = predict_proba(quick.module, splits.X_test).argmax(axis=1)
    expected = np.zeros((10, 10), dtype=int)
    np.add.at(expected, (splits.y_test, predicted), 1)
    found = quick.evaluation
    assert found["confusion_matrix"] == {"labels": quick.labels, "matrix": expected.tolist()}
    assert np.trace(expected) / len(splits.y_test) == pytest.approx(quick.metrics["accuracy"])
    assert not {"roc", "precision_recall", "calibration"} & set(found)  # binary only
    curve = found["learning_curve"]
    assert curve["metric"] == "accuracy" and curve["epochs"] == [1, 2, 3]
    assert all(0.0 <= v <= 1.0 for v in curve["train_metric"] + curve["val_metric"])
