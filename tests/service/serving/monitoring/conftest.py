from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving.front import InferenceFront
from service.serving.models import ModelSet
from service.serving.monitoring import DriftSettings, Monitoring, PredictionLogSettings
from service.serving.monitoring.gauges import DriftGauges
from service.serving.routes import build_app
from service.serving.settings import BatchSettings, RegistrySettings
from tests.support.onnx_models import publish_linear

#: A small window, judged from 100 rows, reported at once: tests wait on `flush`, not time.
WINDOW = {"drift_window_rows": 400, "drift_min_rows": 100, "drift_report_s": 0.05}


def reference_rows(count: int = 2000, seed: int = 0) -> np.ndarray:
    """What the watched model `tab` was "trained" on: 4 features of different scales."""
    return np.random.default_rng(seed).normal(size=(count, 4)) * [1, 10, 100, 0.5]


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    registry = Registry(tmp_path / "registry")
    publish_linear(registry, "tab", n_features=4, drift_rows=reference_rows())
    publish_linear(registry, "old", n_features=4)  # published before reference statistics
    return registry


def model_set(
    registry: Registry,
    monitoring: Monitoring | None,
    **registry_settings: object,
) -> ModelSet:
    models = ModelSet(
        RegistrySettings(registry=registry.root, **registry_settings),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
        BatchSettings(max_rows_per_request=1000),
        monitoring=monitoring,
    )
    models.load_all()
    return models


@pytest.fixture
def metrics() -> CollectorRegistry:
    """A Prometheus registry of the test's own."""
    return CollectorRegistry()


@pytest.fixture
def gauges(metrics: CollectorRegistry) -> DriftGauges:
    return DriftGauges.create(metrics)


@pytest.fixture
def monitoring(gauges: DriftGauges, tmp_path: Path) -> Iterator[Monitoring]:
    watched = Monitoring(
        DriftSettings(**WINDOW),
        PredictionLogSettings(prediction_log_dir=tmp_path / "log", prediction_log_file_s=3600),
        gauges,
    )
    yield watched
    watched.close()


def serving(models: ModelSet) -> TestClient:
    """The routes behind the lean front, as the service stacks them (no BentoML)."""
    app = build_app()
    app.state.models = models
    front = InferenceFront(app, app.state, timeout_s=30.0, max_body_bytes=1 << 24)
    client = TestClient(front)
    client.app_state = app.state
    return client


@pytest.fixture
def client(registry: Registry, monitoring: Monitoring) -> Iterator[TestClient]:
    with serving(model_set(registry, monitoring)) as client:
        yield client
