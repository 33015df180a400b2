"""Model cards from the real server, opened in a real headless Chromium over HTTP."""

from __future__ import annotations

import httpx
import pytest

from export.registry import Artifact, Registry
from tests.export.card.test_browser import check_page
from tests.support.chromium import browser

pytestmark = pytest.mark.slow
CURVES = ["learning_loss", "learning_metric"]


def test_served_cards_render_in_chromium(
    service_url: str,
    trained_registry: tuple[Registry, Artifact],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    _, artifact = trained_registry
    version = artifact.manifest.version
    pages = {
        "/v2/models/tabular/card": [
            *CURVES, "roc", "precision_recall", "calibration", "confusion_matrix"
        ],
        f"/v2/models/tabular/versions/{version}/card": [
            *CURVES, "roc", "precision_recall", "calibration", "confusion_matrix"
        ],
        "/v2/models/digits/card": [*CURVES, "confusion_matrix"],  # ten classes: no binary curves
    }  # fmt: skip
    for path in pages:
        answer = httpx.get(service_url + path, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/html")
        assert "<script" not in answer.text
    assert answer.headers["X-Model-Version"] == "1"
    shots = tmp_path_factory.mktemp("served-cards")
    with browser() as page:
        for index, (path, kinds) in enumerate(pages.items()):
            check_page(page, service_url + path, kinds, shots / f"card-{index}")
    print(f"served card screenshots: {shots}")


def test_unknown_model_or_version_gets_a_json_404(service_url: str) -> None:
    for path, message in (
        ("/v2/models/nope/card", "model 'nope' is not served here"),
        ("/v2/models/tabular/versions/99/card", "version '99' of model 'tabular' is not served"),
    ):
        answer = httpx.get(service_url + path, timeout=30)
        assert answer.status_code == 404 and message in answer.json()["error"], answer.text
    assert httpx.get(service_url + "/v2/health/ready", timeout=30).json() == {"ready": True}
