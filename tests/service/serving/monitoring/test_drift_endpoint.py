"""Drift in the service: fed off the request path, reported per version, gauged, bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from export.drift import Monitor
from export.registry import Registry
from service.serving.monitoring import DriftSettings, Monitoring, PredictionLogSettings
from service.serving.monitoring.gauges import DriftGauges
from tests.service.serving.monitoring.conftest import WINDOW, model_set, reference_rows, serving


def send(client: TestClient, model: str, rows: np.ndarray, per_request: int = 20) -> None:
    for start in range(0, len(rows), per_request):
        batch = rows[start : start + per_request].tolist()
        answer = client.post("/predict", json={"model": model, "inputs": {"features": batch}})
        assert answer.status_code == 200, answer.text


def drift_of(client: TestClient, path: str = "/v2/models/tab/drift") -> dict:
    watched = client.app_state.models.monitoring
    assert watched.drift.flush()
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def test_served_rows_fill_the_window_and_a_shift_is_reported(
    client: TestClient, metrics: CollectorRegistry
) -> None:
    empty = drift_of(client)
    assert empty["rows"] == 0 and not empty["enough_rows"] and not empty["drifted"]
    assert empty["window"] == {
        "max_rows": 400,
        "max_age_s": 3600.0,
        "min_rows": 100,
        "dropped_rows": 0,
        "rows": 0,
        "age_s": 0.0,
    }
    send(client, "tab", reference_rows(200, seed=1))
    calm = drift_of(client)
    assert (calm["model_name"], calm["model_version"], calm["rows"]) == ("tab", "1", 200)
    assert calm["enough_rows"] and not calm["drifted"] and calm["window"]["age_s"] >= 0
    names = [f["name"] for f in calm["features"]]
    assert names == ["f0", "f1", "f2", "f3", "prediction", "confidence"]

    shifted = reference_rows(400, seed=2)
    shifted[:, 1] += 10.0  # +1 sigma of f1
    send(client, "tab", shifted)
    report = drift_of(client, "/v2/models/tab/versions/1/drift")
    assert report["rows"] == 400  # the window's bound: the oldest 200 rows left
    inputs = [f["name"] for f in report["features"] if f["drifted"] and f["source"] == "input"]
    assert report["drifted"] and inputs == ["f1"]
    f1 = next(f for f in report["features"] if f["name"] == "f1")
    assert f1["psi"] >= 0.2 and f1["ks"] > 0.2 and 0.5 < f1["wasserstein"] < 1.5

    # the gauges follow within drift_report_s of the last rows
    labels = {"model": "tab", "version": "1"}
    assert wait_for(lambda: metrics.get_sample_value("ferry_drift_window_rows", labels) == 400)
    psi = {**labels, "feature": "f1"}
    assert wait_for(lambda: metrics.get_sample_value("ferry_drift_psi", psi) == f1["psi"])
    assert metrics.get_sample_value("ferry_drift_drifted", labels) == 1
    ks = metrics.get_sample_value("ferry_drift_ks", psi)
    assert ks == pytest.approx(f1["ks"])
    prediction = {**labels, "feature": "prediction"}  # categorical: PSI only
    assert metrics.get_sample_value("ferry_drift_ks", prediction) is None


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_version_without_reference_statistics_gets_a_409(client: TestClient) -> None:
    send(client, "old", reference_rows(20))  # it serves as before
    response = client.get("/v2/models/old/drift")
    assert response.status_code == 409
    assert "old:1 has no reference statistics" in response.json()["error"]
    assert client.get("/v2/models/nope/drift").status_code == 404
    assert client.get("/v2/models/tab/versions/9/drift").status_code == 404


def test_monitoring_off_says_so(registry: Registry, tmp_path: Path) -> None:
    off = Monitoring(DriftSettings(drift_monitoring=False), PredictionLogSettings())
    with serving(model_set(registry, off)) as client:
        send(client, "tab", reference_rows(20))
        response = client.get("/v2/models/tab/drift")
    assert response.status_code == 404 and "monitoring is off" in response.json()["error"]
    assert off.drift is None and off.log is None


def test_a_stuck_monitor_drops_batches_and_never_holds_a_request(
    registry: Registry,
    gauges: DriftGauges,
    metrics: CollectorRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    entered = threading.Event()
    original = Monitor.observe

    def stuck(self: Monitor, inputs: dict, outputs: dict, now: float | None = None) -> int:
        entered.set()
        release.wait(30)  # fault: the monitoring thread hangs
        return original(self, inputs, outputs, now)

    monkeypatch.setattr(Monitor, "observe", stuck)
    settings = DriftSettings(**{**WINDOW, "drift_queue_batches": 2})
    watched = Monitoring(settings, PredictionLogSettings(), gauges)
    try:
        with serving(model_set(registry, watched)) as client:
            send(client, "tab", reference_rows(20), per_request=1)
            assert entered.wait(10)
            started = time.perf_counter()
            send(client, "tab", reference_rows(50, seed=3), per_request=1)  # all answered
            assert time.perf_counter() - started < 20
            assert watched.drift is not None
            assert watched.drift.dropped[("tab", "1")] >= 40  # queue of 2 batches: the rest
            labels = {"model": "tab", "version": "1"}
            assert metrics.get_sample_value("ferry_drift_dropped_rows_total", labels) >= 40
            assert client.get("/v2/models/tab/drift").json()["window"]["dropped_rows"] >= 40
    finally:
        release.set()
        watched.close()


def test_a_failing_feature_computation_is_counted_not_raised(
    registry: Registry, gauges: DriftGauges, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Monitor, inputs: dict, outputs: dict, now: float | None = None) -> int:
        raise ValueError("injected")

    monkeypatch.setattr(Monitor, "observe", broken)
    watched = Monitoring(DriftSettings(**WINDOW), PredictionLogSettings(), gauges)
    try:
        with serving(model_set(registry, watched)) as client:
            send(client, "tab", reference_rows(60))
            assert watched.drift is not None and watched.drift.flush()
            assert watched.drift.dropped[("tab", "1")] == 60
    finally:
        watched.close()


async def test_a_retired_version_is_forgotten(
    registry: Registry, gauges: DriftGauges, metrics: CollectorRegistry
) -> None:
    from tests.support.onnx_models import publish_linear

    watched = Monitoring(DriftSettings(**WINDOW), PredictionLogSettings(), gauges)
    models = model_set(registry, watched, models=["tab"])
    try:
        served = models.get("tab")
        await served.infer({"features": reference_rows(150).astype(np.float32)})
        assert watched.drift is not None and watched.drift.flush()
        assert watched.drift.report("tab", "1").rows == 150
        publish_linear(registry, "tab", n_features=4, seed=1, drift_rows=reference_rows())
        await models.update("tab", models.target("tab"))
        assert watched.drift.report("tab", "2").rows == 0
        with pytest.raises(Exception, match="tab:1 is not watched"):
            watched.drift.report("tab", "1")
        labels = {"model": "tab", "version": "1"}
        assert metrics.get_sample_value("ferry_drift_window_rows", labels) is None
    finally:
        await models.close()
        watched.close()
