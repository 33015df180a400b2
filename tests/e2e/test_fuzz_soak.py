"""The real service under a fuzzer and a short soak (the benchmarks' long runs: `ferry
bench fuzz`, `ferry bench soak`), on small models of every kind."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from export.registry import Registry
from loadtests import fuzz, soak
from loadtests.servers import FERRY, running_server
from tests.support.onnx_models import publish_image, publish_linear
from tests.support.text_models import publish_text

pytestmark = pytest.mark.slow
MODELS = ["digits", "tabular", "text-classify"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A tabular, an image and a text model, as the recipes publish them."""
    registry = Registry(tmp_path_factory.mktemp("kinds") / "registry")
    publish_linear(registry, "tabular")
    publish_image(registry, "digits")
    publish_text(registry, "text-classify", classes=3)
    return registry


def test_a_few_hundred_fuzzed_requests_get_no_5xx_and_the_service_lives(
    registry: Registry, tmp_path: Path
) -> None:
    with running_server("bentoml", FERRY, registry.root, tmp_path / "service.log") as started:
        schema = httpx.get(f"{started.url}/openapi.json").json()
        for path in ("/predict", "/v2/models/{name}/infer", "/status", "/admin/refresh"):
            assert path in schema["paths"], f"{path} is not in the OpenAPI document"
        body = schema["paths"]["/v2/models/{name}/infer"]["post"]["requestBody"]
        assert "application/json" in body["content"]
        report = fuzz.run(started.url, 300, started.pid, seed=0)
    assert report.cases >= 300
    assert set(report.by_kind) >= {"openapi", "v2-json", "v2-binary", "typed", "garbage"}
    assert report.server_errors == 0, report.failures
    assert report.alive
    assert report.statuses[200] > 0 and report.statuses[400] > 0


def test_a_short_soak_fails_nothing_and_grows_nothing(registry: Registry, tmp_path: Path) -> None:
    report = soak.run(registry, MODELS, tmp_path, minutes=0.75, clients=16, move_every_s=10)
    assert report.failures == 0, report.failure_examples
    assert report.moves >= 3
    assert all(len(report.versions_seen[m]) == 2 for m in MODELS), report.versions_seen
    assert report.rss_growth is not None and report.rss_growth < soak.GROWTH_GOAL
    assert report.metrics_growth is not None and report.metrics_growth < soak.GROWTH_GOAL
