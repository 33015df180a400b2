from __future__ import annotations

import inspect
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from export.registry import PRODUCTION, Registry
from training.checkpoint import build_module, load_checkpoint, save_checkpoint
from training.errors import TrainingError, UnknownRecipe
from training.loop import TrainConfig, predict_proba
from training.metrics import classification_metrics
from training.models.tabular import MIN_STD, Standardize, TabularConfig, TabularMLP
from training.pipeline import load_trained, save_trained, train_and_publish
from training.recipes import RECIPES, Trained, get_recipe, train_tabular

FAST = TrainConfig(epochs=4)


@pytest.fixture(scope="module")
def quick() -> Trained:
    return train_tabular(None, None, FAST, progress=False)


def test_forward_takes_raw_features_and_returns_probabilities() -> None:
    assert list(inspect.signature(TabularMLP.forward).parameters) == ["self", "features"]
    torch.manual_seed(0)
    model = TabularMLP(TabularConfig(in_features=3, hidden=(8,), n_classes=4)).eval()
    model.standardize.fit(np.array([[0.0, 10.0, 5.0], [2.0, 30.0, 5.0]]))
    with torch.no_grad():
        proba = model(torch.tensor([[1.0, 20.0, 5.0], [1e3, -1e3, 7.0]]))
    assert proba.shape == (2, 4)
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(2))


def test_standardize_uses_given_statistics_and_clamps_zero_std() -> None:
    layer = Standardize(3).fit(np.array([[1.0, 2.0, 7.0], [3.0, 6.0, 7.0]]))
    assert layer.mean.tolist() == [2.0, 4.0, 7.0]
    assert layer.std[:2].tolist() == [1.0, 2.0] and layer.std[2].item() == pytest.approx(MIN_STD)
    out = layer(torch.tensor([[2.0, 8.0, 7.0]]))
    assert out.tolist() == [[0.0, 2.0, 0.0]]
    assert set(dict(layer.named_buffers())) == {"mean", "std"}
    with pytest.raises(ValueError, match="expects"):
        Standardize(3, mean=[0.0, 1.0], std=[1.0, 1.0])


def test_config_round_trips_through_plain_containers() -> None:
    config = TabularConfig(in_features=5, hidden=(16, 8, 4), n_classes=3, dropout=0.2)
    data = config.to_dict()
    assert data["hidden"] == [16, 8, 4]
    assert TabularConfig.from_dict(data) == config


def test_quick_recipe_describes_what_it_trained(quick: Trained) -> None:
    assert quick.signature.to_dict() == {
        "inputs": [{"name": "features", "dtype": "float32", "shape": [-1, 30]}],
        "outputs": [{"name": "probabilities", "dtype": "float32", "shape": [-1, 2]}],
    }
    assert quick.sample_inputs["features"].shape == (114, 30)
    assert quick.task == "binary-classification"
    assert quick.labels == ["malignant", "benign"]
    assert set(quick.metrics) == {"accuracy", "roc_auc", "log_loss"}
    assert quick.training["rows"] == {"train": 341, "val": 114, "test": 114}
    assert quick.training["epochs_run"] == 4 and quick.training["seed"] == 0
    assert quick.preprocessing["in_graph"] is True
    assert len(quick.preprocessing["standardize"]["mean"]) == 30
    assert not quick.module.training  # eval mode


def test_same_seed_same_metrics_bit_for_bit(quick: Trained) -> None:
    again = train_tabular(None, None, FAST, progress=False)
    assert again.metrics == quick.metrics
    for key, value in quick.module.state_dict().items():
        assert torch.equal(value, again.module.state_dict()[key]), key
    other = train_tabular(None, None, replace(FAST, seed=1), progress=False)
    assert other.metrics != quick.metrics


def test_user_csv_with_three_classes(three_class_csv: Path) -> None:
    trained = train_tabular(three_class_csv, "kind", TrainConfig(epochs=60), progress=False)
    assert trained.labels == ["3", "7", "9"]
    assert trained.features == ["a", "b", "c"]
    assert trained.task == "classification"
    assert trained.signature.outputs[0].shape == (-1, 3)
    assert trained.metrics["accuracy"] >= 0.9  # standardisation copes with 1e4 scale spread


def test_checkpoint_round_trip_with_weights_only(quick: Trained, tmp_path: Path) -> None:
    path = save_trained(tmp_path / "ck" / "tabular.pt", quick)
    raw = torch.load(path, weights_only=True)  # plain containers and tensors only
    assert raw["model"] == {"kind": "tabular", "config": quick.config}
    assert raw["data_fingerprint"] == quick.data_fingerprint
    assert raw["labels"] == quick.labels and raw["feature_names"] == quick.features
    assert {"state_dict", "metrics", "created_at"} <= set(raw)
    loaded = load_trained(path)
    rows = quick.sample_inputs["features"]
    np.testing.assert_array_equal(
        predict_proba(loaded.module, rows), predict_proba(quick.module, rows)
    )
    np.testing.assert_array_equal(loaded.sample_inputs["features"], rows)
    assert loaded.signature == quick.signature and loaded.metrics == quick.metrics
    assert loaded.evaluation == quick.evaluation and "roc" in loaded.evaluation  # republishable
    assert [p.name for p in path.parent.iterdir()] == ["tabular.pt"]  # no temporary left


def test_checkpoint_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    model = TabularMLP(TabularConfig(in_features=2))
    path = save_checkpoint(tmp_path / "m.pt", model, TabularConfig(2).to_dict(), {}, "sha256:x")
    content = torch.load(path, weights_only=True)
    content["extra"] = pickle.loads  # a callable: only a full unpickler could restore it
    torch.save(content, path)
    with pytest.raises(TrainingError, match="cannot be loaded safely"):
        load_checkpoint(path)


def test_checkpoint_rebuilds_its_module(tmp_path: Path) -> None:
    torch.manual_seed(3)
    config = TabularConfig(in_features=4, hidden=(5,), n_classes=3)
    model = TabularMLP(config).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, config.to_dict(), {"accuracy": 1}, "sha256:x")
    rebuilt = build_module(load_checkpoint(path))
    x = torch.randn(7, 4)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model(x))
    with pytest.raises(TrainingError, match="not found"):
        load_checkpoint(tmp_path / "absent.pt")


def test_multiclass_metrics() -> None:
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.5, 0.4, 0.1]])
    metrics = classification_metrics(np.array([0, 1, 2, 1]), proba)
    assert metrics["accuracy"] == 0.75
    assert 0 < metrics["log_loss"] < 1 and 0.5 < metrics["roc_auc"] <= 1


def test_unknown_recipe_lists_the_known_ones() -> None:
    assert "tabular" in RECIPES
    assert get_recipe("tabular").name == "tabular"
    known = r"\(known: digits, tabular, text-classify, text-embed\)"
    with pytest.raises(UnknownRecipe, match=rf"unknown recipe 'cnn' {known}"):
        get_recipe("cnn")


def test_train_and_publish_promotes_and_checkpoints(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    first = train_and_publish(
        "tabular", registry, train_config=FAST, checkpoint_dir=tmp_path / "ck", progress=False
    )
    assert (first.manifest.name, first.manifest.version) == ("tabular", "1")
    assert registry.aliases("tabular") == {PRODUCTION: "1"}
    assert load_checkpoint(tmp_path / "ck" / "tabular.pt")["metrics"] == first.manifest.metrics
    second = train_and_publish(
        "tabular", registry, train_config=FAST, name="cells", promote=False, progress=False
    )
    assert (second.manifest.name, second.manifest.version) == ("cells", "1")
    assert registry.aliases("cells") == {}


@pytest.mark.slow
def test_full_default_training_is_accurate_and_reproducible() -> None:
    first = train_tabular(None, None, TrainConfig(), progress=False)
    assert first.metrics["accuracy"] >= 0.95
    assert first.metrics["roc_auc"] >= 0.98
    assert first.training["epochs_run"] < 200  # early stopping ended it
    second = train_tabular(None, None, TrainConfig(), progress=False)
    assert second.metrics == first.metrics
    assert second.training == first.training
