"""The prediction log: what it writes, how it rotates, and that it never fails a request."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from export.registry import Registry
from service.serving.monitoring import DriftSettings, Monitoring, PredictionLogSettings
from service.serving.monitoring.gauges import DriftGauges
from service.serving.monitoring.predlog.files import LogFiles
from service.serving.monitoring.predlog.log import PredictionLog
from tests.service.serving.monitoring.conftest import model_set, reference_rows, serving
from tests.support.text_models import publish_text


def log_settings(folder: Path, **extra: object) -> PredictionLogSettings:
    return PredictionLogSettings(prediction_log_dir=folder, **extra)


def files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def test_requests_are_logged_with_their_ids_inputs_and_outputs(
    client: TestClient, tmp_path: Path
) -> None:
    rows = reference_rows(3, seed=5).astype(np.float32)
    typed = client.post(
        "/predict",
        json={"model": "tab", "inputs": {"features": rows.tolist()}},
        headers={"X-Request-ID": "order-17"},
    )
    assert typed.status_code == 200 and typed.headers["x-request-id"] == "order-17"
    v2 = {
        "id": "v2-1",
        "inputs": [
            {"name": "features", "shape": [1, 4], "datatype": "FP32", "data": rows[0].tolist()}
        ],
    }
    answer = client.post("/v2/models/tab/infer", json=v2)
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "v2-1"
    anonymous = client.post("/predict", json={"model": "tab", "inputs": {"features": [[0] * 4]}})
    generated = anonymous.headers["x-request-id"]
    second = anonymous_again(client)
    assert len(generated) == 24 and second != generated

    watched: Monitoring = client.app_state.models.monitoring
    assert watched.log is not None and watched.log.flush()
    [path] = files(tmp_path / "log")
    assert path.parent.relative_to(tmp_path / "log") == Path("tab/1")
    table = pq.read_table(path).to_pylist()
    assert [(r["request_id"], r["row"]) for r in table] == [
        ("order-17", 0),
        ("order-17", 1),
        ("order-17", 2),
        ("v2-1", 0),
        (generated, 0),
        (second, 0),
    ]
    assert [table[1][f"f{i}"] for i in range(4)] == rows[1].tolist()  # columns of a drop
    expected = typed.json()["outputs"]["probabilities"][2]
    assert table[2]["output.probabilities"] == pytest.approx(expected)
    assert {r["model"] for r in table} == {"tab"} and {r["version"] for r in table} == {"1"}
    assert table[0]["time"].tzinfo is not None
    assert watched.log.counts == {"written": 4}


def anonymous_again(client: TestClient) -> str:
    body = {"model": "tab", "inputs": {"features": [[0] * 4]}}
    return str(client.post("/predict", json=body).headers["x-request-id"])


def test_a_text_model_logs_its_texts(registry: Registry, tmp_path: Path) -> None:
    publish_text(registry, "tickets", classes=3)
    watched = Monitoring(DriftSettings(drift_monitoring=False), log_settings(tmp_path / "log"))
    try:
        with serving(model_set(registry, watched, models=["tickets"])) as client:
            body = {"model": "tickets", "texts": ["the game", "rain and sun"]}
            assert client.post("/predict", json=body).status_code == 200
            assert watched.log is not None and watched.log.flush()
    finally:
        watched.close()
    [path] = files(tmp_path / "log")
    table = pq.read_table(path)
    assert table.column("text").to_pylist() == ["the game", "rain and sun"]
    assert table.column("output.probabilities").type.list_size == 3


def test_files_rotate_by_rows_and_appear_only_whole(tmp_path: Path) -> None:
    log = PredictionLog(log_settings(tmp_path, prediction_log_file_rows=10))
    try:
        for i in range(25):
            log.offer(f"r{i}", "m", "1", {"x": np.array([[i, i]])}, {"y": np.array([float(i)])})
        assert log.flush()
    finally:
        log.close()
    written = files(tmp_path)
    assert [pq.read_metadata(p).num_rows for p in written] == [10, 10, 5]
    assert not list(tmp_path.rglob("*.tmp"))
    ids = [i for p in written for i in pq.read_table(p).column("request_id").to_pylist()]
    assert ids == [f"r{i}" for i in range(25)]
    assert log.counts == {"written": 25}


def test_sampling_logs_about_the_share_asked(tmp_path: Path) -> None:
    settings = log_settings(tmp_path, prediction_log_sample=0.25)
    watched = Monitoring(DriftSettings(drift_monitoring=False), settings)
    assert watched.log is not None
    taken = sum(watched.log.sampled() for _ in range(4000))
    watched.close()
    assert 800 < taken < 1200  # binomial(4000, 0.25): mean 1000, sd 27


def test_a_full_queue_drops_and_counts_without_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    original = LogFiles.write

    def slow(self: LogFiles, *args: object) -> int:
        release.wait(30)  # fault: the disk stalls
        return original(self, *args)

    monkeypatch.setattr(LogFiles, "write", slow)
    metrics = CollectorRegistry()
    gauges = DriftGauges.create(metrics)
    log = PredictionLog(log_settings(tmp_path, prediction_log_queue=5), on_count=gauges.logged)
    try:
        for i in range(200):  # returns at once every time
            log.offer(str(i), "m", "1", {"x": np.zeros((1, 2))}, {"y": np.zeros(1)})
        assert log.counts["dropped"] >= 190
        assert (
            metrics.get_sample_value("ferry_prediction_log_records_total", {"result": "dropped"})
            >= 190
        )
    finally:
        release.set()
        log.close()


def test_an_unwritable_folder_is_counted_and_recovers(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / "m").write_text("a file where the model's folder should be")
    log = PredictionLog(log_settings(folder))
    try:
        log.offer("a", "m", "1", {"x": np.zeros((2, 2))}, {"y": np.zeros(2)})
        assert log.flush()
        assert log.counts == {"failed": 1} and "cannot write the prediction log" in log.last_error
        (folder / "m").unlink()  # an operator fixes the folder
        log.offer("b", "m", "1", {"x": np.zeros((2, 2))}, {"y": np.zeros(2)})
        assert log.flush()
    finally:
        log.close()
    assert log.counts == {"failed": 1, "written": 1}
    [path] = files(folder)
    assert pq.read_table(path).column("request_id").to_pylist() == ["b", "b"]


def test_a_full_folder_drops_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "old.parquet").write_bytes(b"x" * 2000)  # what earlier runs left
    log = PredictionLog(log_settings(tmp_path, prediction_log_max_bytes=1000))
    try:
        log.offer("a", "m", "1", {"x": np.zeros((1, 2))}, {"y": np.zeros(1)})
        assert log.flush()
    finally:
        log.close()
    assert log.counts == {"dropped": 1}
    assert "FERRY_PREDICTION_LOG_MAX_BYTES=1,000" in log.last_error


def test_the_log_is_off_unless_a_folder_is_set(registry: Registry) -> None:
    quiet = Monitoring(DriftSettings(drift_monitoring=False), PredictionLogSettings())
    with serving(model_set(registry, quiet)) as client:
        answer = client.post("/predict", json={"model": "tab", "inputs": {"features": [[0] * 4]}})
    assert answer.status_code == 200 and "x-request-id" not in answer.headers
    assert quiet.log is None and quiet.request_id("x") is None


@pytest.mark.slow  # starts a gRPC server on 127.0.0.1
async def test_grpc_requests_are_logged_under_their_id(
    registry: Registry, monitoring: Monitoring, tmp_path: Path
) -> None:
    import tritonclient.grpc.aio as triton

    from tests.service.serving.test_grpc import serve

    served = await serve(model_set(registry, monitoring, models=["tab"]))
    try:
        given = triton.InferInput("features", [2, 4], "FP32")
        given.set_data_from_numpy(reference_rows(2, seed=9).astype(np.float32))
        await served.client.infer("tab", [given], request_id="grpc-1")
    finally:
        await served.client.close()
        await served.server.stop(0)
        await served.models.close()
    assert monitoring.log is not None and monitoring.log.flush()
    [path] = files(tmp_path / "log")
    table = pq.read_table(path)
    assert table.column("request_id").to_pylist() == ["grpc-1", "grpc-1"]
    assert table.column("row").to_pylist() == [0, 1]
