"""`GET /v2/models/{name}[/versions/{v}]/card`: the served version's card, with the registry's
aliases and benchmark figures as they are at request time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving.models import ModelSet
from service.serving.routes import build_app
from service.serving.settings import RegistrySettings
from tests.support.onnx_models import publish_linear


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    publish_linear(registry, "tabular", seed=0)  # version 1
    publish_linear(registry, "tabular", seed=1)  # version 2 (production)
    models = ModelSet(
        RegistrySettings(registry=registry.root, versions="latest:2"),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
    )
    models.load_all()
    app = build_app()
    app.state.models = models
    with TestClient(app) as client:
        yield client


def test_the_served_versions_card_is_an_html_page(client: TestClient) -> None:
    answer = client.get("/v2/models/tabular/card")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["X-Model-Version"] == "2"
    html = answer.text
    assert html.startswith("<!doctype html>") and "<script" not in html
    assert 'tabular <span class="version">v2</span><span class="alias">production</span>' in html
    # these manifests predate the evaluation records: the card says so instead of failing
    assert "holds no evaluation record" in html and '<section id="signature">' in html


def test_every_version_has_its_card_and_registry_changes_show_at_once(
    client: TestClient, registry: Registry
) -> None:
    first = client.get("/v2/models/tabular/versions/1/card")
    assert first.status_code == 200 and first.headers["X-Model-Version"] == "1"
    assert 'class="alias"' not in first.text.split("</h1>")[0]
    registry.promote("tabular", "1", "staging")
    registry.append_benchmark(
        "tabular", {"kind": "serve", "version": "1", "servers": [{"label": "ferry batched",
                    "levels": [{"clients": 8, "rps": 4321.0, "p95_ms": 3.1}]}]},
    )  # fmt: skip
    again = client.get("/v2/models/tabular/versions/1/card").text
    assert '<span class="alias">staging</span>' in again.split("</h1>")[0]
    assert "4,321 req/s" in again


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v2/models/nope/card", "model 'nope' is not served here"),
        ("/v2/models/tabular/versions/9/card", "version '9' of model 'tabular' is not served"),
    ],
)
def test_unknown_models_and_versions_get_the_usual_404(
    client: TestClient, path: str, message: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == 404 and message in answer.json()["error"]
