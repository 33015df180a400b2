from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.data import load_breast_cancer


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
