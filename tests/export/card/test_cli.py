"""`ferry models card` and `ferry models compare` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from export.registry import Registry
from ferry.cli import app
from tests.export.card.conftest import strip_evaluation


def test_card_writes_one_html_file(card_registry: Registry, tmp_path: Path) -> None:
    out = tmp_path / "cards" / "tabular.html"
    args = ["models", "card", "tabular@production", "--registry", str(card_registry.root)]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"card of tabular:1 written to {out}" in result.output
    html = out.read_text()
    assert html.startswith("<!doctype html>") and 'data-chart="roc"' in html
    assert [p.name for p in out.parent.iterdir()] == ["tabular.html"]  # no temporary left


def test_card_defaults_to_a_file_named_after_the_version(
    card_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    strip_evaluation(card_registry, "tabular:1")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["models", "card", "tabular", "--registry", str(card_registry.root)]
    )
    assert result.exit_code == 0, result.output
    assert "holds no evaluation record" in (tmp_path / "tabular-v1-card.html").read_text()


def test_unknown_references_are_one_line_errors(card_registry: Registry, tmp_path: Path) -> None:
    reg = ["--registry", str(card_registry.root)]
    for args, message in (
        (["card", "tabular:9"], "version '9' of model 'tabular' not found (versions: 1)"),
        (["card", "nope"], "model 'nope' not found"),
        (["compare", "tabular:1", "tabular@canary"], "alias 'canary' of model 'tabular' not"),
    ):
        result = CliRunner().invoke(app, ["models", *args, *reg, "--out", str(tmp_path / "x")])
        assert result.exit_code == 5 and message in result.output, result.output  # unknown
        assert "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_compare_writes_both_versions(second_version: Registry, tmp_path: Path) -> None:
    out = tmp_path / "cmp.html"
    args = ["models", "compare", "tabular:1", "tabular:2", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--registry", str(second_version.root)])
    assert result.exit_code == 0, result.output
    assert "tabular:1 vs tabular:2 written to" in result.output
    assert "<h1>v1 vs v2</h1>" in out.read_text()
