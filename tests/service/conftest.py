from __future__ import annotations

from pathlib import Path

import pytest

from export.registry import Artifact, Registry
from tests.support.onnx_models import publish_linear


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry")


@pytest.fixture
def artifact(registry: Registry) -> Artifact:
    return publish_linear(registry)
