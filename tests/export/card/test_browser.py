"""Cards opened in a real headless Chromium: they load without errors, every chart is drawn
at its size and is not blank, and screenshots are kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from export.card import card_facts, render_card, render_compare
from export.registry import Registry
from export.variants import benchmark_entry, publish_variant
from loadtests import records
from tests.export.card.test_render import _report
from tests.support.chromium import Page, browser

pytestmark = pytest.mark.slow


def check_page(page: Page, url: str, kinds: list[str], shots: Path) -> Path:
    """Load `url`; assert no errors and that each expected chart renders; screenshot it all."""
    page.load(url)
    assert page.errors() == []
    boxes = page.boxes("svg[data-chart]")
    assert [b["kind"] for b in boxes] == kinds
    shots.mkdir(parents=True, exist_ok=True)
    for index, box in enumerate(boxes):
        # laid out at the size the SVG declares, nothing squeezed or hidden
        assert (box["width"], box["height"]) == (box["attr_width"], box["attr_height"]), box
        clip = {k: box[k] for k in ("x", "y", "width", "height")}
        shot = page.screenshot(shots / f"{index:02d}-{box['kind']}.png", clip)
        pixels = np.asarray(Image.open(shot).convert("RGB"))
        assert pixels.shape == (box["attr_height"], box["attr_width"], 3)
        inked = np.any(pixels < 235, axis=2).mean()  # share of pixels that are not near-white
        colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
        assert inked > 0.02 and colours > 8, (box["kind"], inked, colours)
    return page.screenshot(shots / "page.png")


def test_cards_render_in_chromium(
    second_version: Registry, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    registry = second_version
    run = {"machine": "test box", "command": "ferry bench serve", "models": [_report("1", 850)]}
    records.record(registry, records.serve_entries(run))
    variant = publish_variant(registry, "tabular:1", "int8", rounds=1).manifest
    registry.append_benchmark("tabular", benchmark_entry(variant))
    pages = {
        "card-v1.html": render_card(card_facts(registry, "tabular:1")),
        "card-int8.html": render_card(card_facts(registry, f"tabular:{variant.version}")),
        "compare.html": render_compare(
            card_facts(registry, "tabular:1"), card_facts(registry, "tabular:2")
        ),
    }
    assert "Variants made from it" in pages["card-v1.html"]
    for name, html in pages.items():
        (tmp_path / name).write_text(html)
    curves = ["learning_loss", "learning_metric", "roc", "precision_recall", "calibration"]
    expected = {
        "card-v1.html": [*curves, "confusion_matrix", "bench_serve"],
        "card-int8.html": [*curves, "confusion_matrix", "variant_speed"],
        "compare.html": [*curves, "confusion_matrix", "confusion_matrix"],
    }
    shots = tmp_path_factory.mktemp("card-screenshots")  # kept by pytest as the artifact
    with browser() as page:
        for name, kinds in expected.items():
            whole = check_page(page, (tmp_path / name).as_uri(), kinds, shots / name)
            assert Image.open(whole).size[1] > 1000  # the full page, not the first screen
    print(f"card screenshots: {shots}")


def test_the_browser_check_sees_a_broken_page(tmp_path: Path) -> None:
    """The harness itself: a missing image and a script error are reported."""
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!doctype html><html><body><img src="missing.png">'
        "<script>console.error('boom'); undefinedCall();</script></body></html>"
    )
    with browser() as page:
        page.load(broken.as_uri())
        errors = page.errors()
    assert any("missing.png" in e for e in errors), errors
    assert any("boom" in e for e in errors) and any("undefinedCall" in e for e in errors)
