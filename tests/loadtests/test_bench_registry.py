"""`ferry bench registry` with small settings: every figure is measured and printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferry.cli import app


@pytest.mark.slow
def test_bench_registry_prints_every_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("FERRY_PROVIDERS", "CPUExecutionProvider")
    args = ["bench", "registry", "--rounds", "1", "--polls", "3", "--kills", "0"]
    result = CliRunner().invoke(app, [*args, "--json", str(tmp_path / "figures.json")])
    assert "publish + promote, S3" in result.output and "second load" in result.output
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["models_polled"] == 2 and figures["polls"] == 3
    assert figures["requests_per_model_per_poll"] == 1.0
    assert figures["poll_kinds"] == {"GET aliases.json 304": 6}
    # a cached load asks the store nothing; its time ratio is a figure, never asserted
    assert figures["cached_load_requests"] == 0 and figures["cached_load_s"] > 0
    assert figures["chaos"] == {}  # kills: the registry's own tests
    assert result.exit_code in (0, 1), result.output
