"""Statistical behaviour with the default window: a +1 sigma shift of one feature is flagged
within one window and no other input feature is; windows drawn from the training
distribution almost never raise an alarm; a change of topic in a text stream is flagged.

Every model here is real ONNX run by ONNX Runtime, and every draw is seeded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from tokenizers import Tokenizer

from export.drift import Monitor, Reference, WindowSettings, build_reference, reference_of
from export.registry import Artifact, Registry
from export.signature import Signature, TensorSpec
from tests.support.onnx_models import linear_softmax
from tests.support.text_models import WORDS, encode_texts, publish_text
from training.data import load_breast_cancer
from training.text.data import BUNDLED

WINDOWS = 100
BATCH = 20  # rows a request; the window fills batch by batch, as in the service
Arrays = dict[str, np.ndarray]
Predict = Callable[[np.ndarray], Arrays]
Score = Callable[[list[str]], tuple[Arrays, Arrays]]


def run(session: ort.InferenceSession, name: str, rows: np.ndarray) -> Arrays:
    outputs = session.run(None, {name: rows.astype(np.float32)})
    return {session.get_outputs()[0].name: outputs[0]}


def fill(monitor: Monitor, rows: np.ndarray, predict: Predict) -> None:
    """Feed `rows` to the monitor in requests of BATCH rows."""
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        monitor.observe({"features": batch}, predict(batch))


def alarms(monitor: Monitor, windows: Iterator[np.ndarray], predict: Predict) -> int:
    """How many windows raise any alarm; the window starts empty for each."""
    raised = 0
    for rows in windows:
        monitor.window.clear()
        fill(monitor, rows, predict)
        report = monitor.report()
        assert report.enough
        raised += report.drifted
    return raised


def drifted_inputs(monitor: Monitor) -> set[str]:
    report = monitor.report()
    assert report.enough
    return {f.name for f in report.features if f.drifted and f.source == "input"}


# --- a synthetic table: correlated Gaussian features, a linear model ----------------------
FEATURES = [f"x{i}" for i in range(8)]
SIGNATURE = Signature(
    (TensorSpec("features", "float32", (-1, 8)),),
    (TensorSpec("probabilities", "float32", (-1, 3)),),
)


@dataclass(frozen=True)
class Gaussian:
    reference: Reference
    draw: Callable[[int, int], np.ndarray]  # (rows, seed) -> rows from the training distribution
    predict: Predict


@pytest.fixture(scope="module")
def gaussian(tmp_path_factory: pytest.TempPathFactory) -> Gaussian:
    import onnx

    model, _, _ = linear_softmax(8, 3, seed=0)
    path = tmp_path_factory.mktemp("linear") / "model.onnx"
    onnx.save(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(8, 8)) / 3 + np.eye(8)
    scale = np.array([1, 10, 100, 0.1, 1, 5, 2, 0.5])

    def draw(rows: int, seed: int) -> np.ndarray:
        z = np.random.default_rng(seed).normal(size=(rows, 8)) @ mixing
        return (z * scale + 3).astype(np.float32)

    def predict(rows: np.ndarray) -> Arrays:
        return run(session, "features", rows)

    reference = build_reference(
        SIGNATURE,
        {"features": draw(5000, 1)},
        predict(draw(1000, 2)),
        features=FEATURES,
        labels=["a", "b", "c"],
    )
    return Gaussian(reference, draw, predict)


def test_gaussian_windows_from_the_training_distribution_rarely_alarm(gaussian: Gaussian) -> None:
    monitor = Monitor(gaussian.reference)  # the default window: 1,000 rows, judged from 500
    size = monitor.window.settings.max_rows
    windows = (gaussian.draw(size, 100 + i) for i in range(WINDOWS))
    assert alarms(monitor, windows, gaussian.predict) <= WINDOWS * 0.05


@pytest.mark.parametrize("shifted", range(8))
def test_a_one_sigma_shift_of_one_feature_is_flagged_alone(
    gaussian: Gaussian, shifted: int
) -> None:
    monitor = Monitor(gaussian.reference)
    fill(monitor, gaussian.draw(1000, 7), gaussian.predict)
    assert drifted_inputs(monitor) == set()
    rows = gaussian.draw(monitor.window.settings.max_rows, 8 + shifted)
    rows[:, shifted] += gaussian.draw(5000, 1)[:, shifted].std()  # +1 sigma of the training data
    fill(monitor, rows, gaussian.predict)  # one window of shifted rows
    assert drifted_inputs(monitor) == {FEATURES[shifted]}


# --- the real tabular model: breast cancer, reference from `publish` -----------------------
@pytest.fixture(scope="module")
def cancer(tabular_registry: tuple[Registry, Artifact]) -> tuple[Artifact, Predict]:
    _, artifact = tabular_registry
    session = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])
    return artifact, lambda rows: run(session, "features", rows)


@pytest.mark.slow
def test_the_published_reference_is_from_the_training_rows(
    cancer: tuple[Artifact, Predict],
) -> None:
    manifest = cancer[0].manifest
    reference = reference_of(manifest)
    rows = manifest.training["rows"]
    assert reference.rows == {"inputs": rows["train"], "outputs": rows["test"]}
    assert reference.names() == [*manifest.features, "prediction", "confidence"]


@pytest.mark.slow
def test_cancer_windows_resampled_from_the_data_rarely_alarm(
    cancer: tuple[Artifact, Predict],
) -> None:
    artifact, predict = cancer
    monitor = Monitor.for_manifest(artifact.manifest)
    X = load_breast_cancer().X
    rng = np.random.default_rng(0)
    size = monitor.window.settings.max_rows
    windows = (X[rng.integers(0, len(X), size)] for _ in range(WINDOWS))
    assert alarms(monitor, windows, predict) <= WINDOWS * 0.05


@pytest.mark.slow
@pytest.mark.parametrize("feature", ["mean radius", "worst texture", "mean symmetry"])
def test_a_one_sigma_shift_of_a_cancer_feature_is_flagged_alone(
    cancer: tuple[Artifact, Predict], feature: str
) -> None:
    artifact, predict = cancer
    monitor = Monitor.for_manifest(artifact.manifest)
    table = load_breast_cancer()
    column = table.feature_names.index(feature)
    rows = table.X[np.random.default_rng(1).integers(0, table.rows, 500)].copy()
    rows[:, column] += table.X[:, column].std()
    fill(monitor, rows, predict)  # 500 rows: as soon as the window judges at all
    assert drifted_inputs(monitor) == {feature}


# --- text-classify: support tickets, then unrelated sentences ------------------------------
@pytest.fixture(scope="module")
def tickets_model(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Monitor, Score, list[str]]:
    """The tiny text classifier with the support tickets as its reference."""
    tickets = pd.read_csv(BUNDLED)["text"].astype(str).tolist()
    registry = Registry(tmp_path_factory.mktemp("text") / "registry")
    artifact = publish_text(registry, "text-classify", classes=3, drift_texts=tickets)
    tokenizer = Tokenizer.from_file(str(Path(artifact.path) / "tokenizer.json"))
    session = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])

    def score(texts: list[str]) -> tuple[Arrays, Arrays]:
        inputs = encode_texts(tokenizer, texts)
        return inputs, {"probabilities": session.run(None, inputs)[0]}

    settings = WindowSettings(max_rows=500, min_rows=500)
    return Monitor.for_manifest(artifact.manifest, settings), score, tickets


def feed_texts(monitor: Monitor, score: Score, texts: list[str]) -> None:
    monitor.window.clear()
    for start in range(0, len(texts), 8):
        monitor.observe(*score(texts[start : start + 8]))


def test_a_change_of_topic_is_flagged_for_text_classify(
    tickets_model: tuple[Monitor, Score, list[str]],
) -> None:
    monitor, score, tickets = tickets_model
    rng = np.random.default_rng(0)
    for window in range(5):  # more tickets, drawn again: no alarm
        feed_texts(monitor, score, [tickets[i] for i in rng.integers(0, len(tickets), 500)])
        assert not monitor.report().drifted, window
    unrelated = [" ".join(rng.choice(WORDS, size=rng.integers(4, 12))) for _ in range(500)]
    feed_texts(monitor, score, unrelated)  # sport, weather and news: not support tickets
    report = monitor.report()
    assert report.drifted
    flagged = {f.name for f in report.features if f.drifted}
    assert "tokens.length" in flagged and any(n.startswith("tokens.proj_") for n in flagged)
