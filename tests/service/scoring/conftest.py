from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from export.registry import Artifact, Registry
from tests.support.onnx_models import publish_linear

N_FEATURES = 4


@pytest.fixture(autouse=True)
def _cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRY_PROVIDERS", "CPUExecutionProvider")


@pytest.fixture
def linear(tmp_path: Path) -> Artifact:
    """A 4-feature linear classifier (features f0..f3, labels negative/positive)."""
    return publish_linear(Registry(tmp_path / "registry"), "lin", n_features=N_FEATURES)


def table(rows: int, seed: int = 0, order: tuple[int, ...] = (2, 0, 3, 1)) -> pa.Table:
    """An `id` column and the features in another order than the model's."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, N_FEATURES))
    columns = {"id": pa.array(np.arange(rows) + 1000)}
    columns |= {f"f{j}": pa.array(values[:, j]) for j in order}
    return pa.table(columns)
