"""The real service with broken models and a failing registry: it never hangs, says what
is wrong, keeps serving what it can, and keeps its metrics bounded."""

from __future__ import annotations

import random
import re
import shutil
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from export.registry import Registry
from loadtests.servers import running_service
from tests.support.onnx_models import publish_broken, publish_linear

pytestmark = pytest.mark.slow
TOKEN = "faults-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
ROW = [0.1] * 30


@dataclass
class Server:
    url: str
    registry: Registry
    home: Path  # BENTOML_HOME, shared with any other BentoML process of the test


def until(check: object, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A service whose registry holds a good model and two that ONNX Runtime refuses."""
    root = tmp_path_factory.mktemp("faults")
    registry = Registry(root / "registry")
    publish_linear(registry, "good")
    publish_broken(registry, "warm", "warm")
    publish_broken(registry, "load", "load")
    home = root / "bentoml-home"
    with running_service(
        registry.root,
        root / "service.log",
        wait_for="/livez",  # it is never ready: two wanted models do not load
        BENTOML_HOME=str(home),
        FERRY_ADMIN_TOKEN=TOKEN,
        FERRY_REFRESH_INTERVAL_S="0.5",
    ) as url:
        until(lambda: not httpx.get(f"{url}/status").json()["loading"], "the first load")
        yield Server(url, registry, home)


def predict(url: str, model: str) -> httpx.Response:
    return httpx.post(f"{url}/predict", json={"model": model, "inputs": {"features": [ROW]}})


def test_broken_models_are_reported_while_the_others_start_and_follow_their_alias(
    broken: Server,
) -> None:
    url = broken.url
    assert httpx.get(f"{url}/livez", timeout=5).status_code == 200
    assert httpx.get(f"{url}/readyz").status_code == 503  # not every wanted model loaded
    assert httpx.get(f"{url}/v2/health/ready").status_code == 503
    assert httpx.get(f"{url}/v2/models/good/ready").json() == {"name": "good", "ready": True}
    for bad, why in (("warm", "warm-up"), ("load", "cannot load")):
        answer = httpx.get(f"{url}/v2/models/{bad}/ready")
        assert answer.status_code == 503 and why in answer.json()["reason"]
        refused = predict(url, bad)
        assert refused.status_code == 503 and why in refused.json()["error"]
    status = httpx.get(f"{url}/status").json()
    assert status["ready"] is False and set(status["errors"]) == {"warm", "load"}
    assert list(status["models"]) == ["good"]
    metrics = httpx.get(f"{url}/metrics").text
    for model, ready in (("good", 1), ("warm", 0), ("load", 0)):
        assert f'ferry_model_ready{{model="{model}"}} {ready}.0' in metrics
    assert predict(url, "good").json()["model_version"] == "1"

    publish_linear(broken.registry, "good", seed=1)  # the good model's alias moves
    until(lambda: predict(url, "good").json()["model_version"] == "2", "the poll to follow")
    refreshed = httpx.post(f"{url}/admin/refresh", headers=ADMIN)
    assert refreshed.status_code == 200, refreshed.text
    assert {r["model"] for r in refreshed.json()["results"]} == {"warm", "load"}


def test_request_metrics_are_labelled_by_route_not_by_path(broken: Server) -> None:
    url = broken.url
    names = ["".join(random.choices(string.ascii_lowercase, k=16)) for _ in range(300)]
    with httpx.Client(base_url=url) as client:
        for name in names[:20]:  # every label combination once
            client.get(f"/v2/models/{name}/ready")
            client.get(f"/no/such/{name}")
        before = len(client.get("/metrics").text)
        for name in names[20:]:
            client.get(f"/v2/models/{name}/ready")
            client.get(f"/no/such/{name}")
        metrics = client.get("/metrics").text
    assert len(metrics) - before < 2048, "new series per path: labels are not bounded"
    assert not any(name in metrics for name in names)
    endpoints = set(re.findall(r'endpoint="([^"]*)"', metrics))
    assert {"/v2/models/{name}/ready", "other"} <= endpoints


def test_another_bentoml_server_on_the_host_does_not_wipe_ferrys_metrics(
    broken: Server, tmp_path: Path
) -> None:
    url = broken.url
    for _ in range(5):
        assert predict(url, "good").status_code == 200

    def served() -> float:
        metrics = httpx.get(f"{url}/metrics").text
        found = re.search(
            r'ferry_request_seconds_count\{code="200",endpoint="/predict"\} (\S+)', metrics
        )
        return float(found.group(1)) if found else 0.0

    count = served()
    assert count >= 5
    other = Registry(tmp_path / "other")
    publish_linear(other, "other")
    # BentoML empties $BENTOML_HOME/prometheus_multiproc_dir whenever a server starts
    with running_service(other.root, tmp_path / "other.log", BENTOML_HOME=str(broken.home)):
        assert served() >= count


def test_an_unreadable_registry_leaves_the_loaded_versions_serving_and_says_so(
    broken: Server, tmp_path: Path
) -> None:
    url, root = broken.url, broken.registry.root
    version = predict(url, "good").json()["model_version"]
    shutil.move(root, tmp_path / "away")  # the volume is gone
    try:
        refreshed = httpx.post(f"{url}/admin/refresh", headers=ADMIN)
        assert refreshed.status_code == 503, refreshed.text
        assert str(root) in refreshed.json()["error"]
        registry = httpx.get(f"{url}/status").json()["refresh"]["registry"]
        assert registry["ok"] is False and "keep serving" in registry["error"]
        answer = predict(url, "good")
        assert answer.status_code == 200 and answer.json()["model_version"] == version
        assert httpx.get(f"{url}/v2/models/good/ready").status_code == 200
    finally:
        shutil.move(tmp_path / "away", root)
    assert httpx.post(f"{url}/admin/refresh", headers=ADMIN).status_code == 200
    assert httpx.get(f"{url}/status").json()["refresh"]["registry"]["ok"] is True


def test_tritonclients_timeout_is_the_requests_deadline(broken: Server) -> None:
    import numpy as np
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    client = triton.InferenceServerClient(broken.url.removeprefix("http://"))
    tensor = triton.InferInput("features", [1, 30], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 30), dtype=np.float32))
    answered = client.infer("good", [tensor], timeout=10_000_000)  # 10 s, in microseconds
    assert answered.as_numpy("probabilities").shape == (1, 2)
    with pytest.raises(InferenceServerException) as late:
        client.infer("good", [tensor], timeout=1)  # 1 us: past before the model could run
    message = str(late.value)  # refused at the queue, or cut off by its timer: a 504
    assert "deadline passed before the model ran" in message or "within 0.001 ms" in message
