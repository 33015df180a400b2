from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from export.registry import Artifact, Registry
from training.data import load_breast_cancer
from training.trained import Trained


@pytest.fixture(scope="session")
def breast_cancer_frame() -> pd.DataFrame:
    """The bundled table as a user file would hold it: features plus a text `diagnosis`."""
    table = load_breast_cancer()
    frame = pd.DataFrame(table.X, columns=table.feature_names)
    frame["diagnosis"] = np.array(table.labels)[table.y]
    return frame


@pytest.fixture
def three_class_csv(tmp_path: Path) -> Path:
    """A small, separable three-class CSV with integer class values."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, 0.0], [0.0, 4.0, 4.0]])
    y = np.repeat([3, 7, 9], 60)
    X = centres[np.repeat([0, 1, 2], 60)] + rng.normal(0, 0.5, size=(180, 3))
    frame = pd.DataFrame(X * [1.0, 100.0, 0.01], columns=["a", "b", "c"])
    frame["kind"] = y
    path = tmp_path / "three.csv"
    frame.sample(frac=1.0, random_state=0).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def text_embed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Trained, Artifact]:
    """The text-embed recipe, published once (a ~90 MB graph): every encoder test shares it."""
    from training.pipeline import publish_trained
    from training.recipes import get_recipe

    trained = get_recipe("text-embed").run(None, None, progress=False)
    registry = Registry(tmp_path_factory.mktemp("text-embed") / "registry")
    return trained, publish_trained(trained, registry, "text-embed", promote=False)


@pytest.fixture
def tickets_csv(tmp_path: Path) -> Path:
    """A tiny three-topic CSV with its own column names (body, topic), 8 texts a topic."""
    topics = {
        "money": ["refund my payment", "charged twice", "invoice is wrong", "price went up"],
        "parcel": ["parcel is late", "box arrived broken", "wrong address", "where is my order"],
        "login": ["forgot my password", "account locked", "cannot sign in", "reset link expired"],
    }
    rows = [
        (f"{text}{suffix}", topic)
        for topic, texts in topics.items()
        for text in texts
        for suffix in ("", " please help")
    ]
    frame = pd.DataFrame(rows, columns=["body", "topic"]).sample(frac=1.0, random_state=0)
    path = tmp_path / "tickets.csv"
    frame.to_csv(path, index=False)
    return path
