"""`ferry export` as a user runs it: a real process, its output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from export.registry import Registry
from tests.support.text_models import publish_text

pytestmark = pytest.mark.slow


def ferry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ferry", *args], capture_output=True, text=True, timeout=300
    )


def test_export_publishes_a_variant_and_prints_its_figures(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    publish_text(registry, "tiny-text", classes=3)
    reg = ["--registry", str(registry.root)]

    done = ferry("export", "tiny-text@production", "--precision", "fp16", "--rounds", "1", *reg)

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "2"
    assert "fp16 of tiny-text:1" in done.stdout and "cosine min" in done.stdout
    shown = json.loads(ferry("models", "show", "tiny-text:2", *reg).stdout)
    assert shown["variant"]["precision"] == "fp16"
    assert registry.aliases("tiny-text") == {"production": "1"}  # promotion stays a choice
    [entry] = registry.benchmarks("tiny-text")  # the figures, kept for the model cards
    speed = shown["variant"]["speed"]
    assert (entry["kind"], entry["version"], entry["source_version"]) == ("variant", "2", "1")
    assert (entry["rows_per_s"], entry["source_rows_per_s"]) == (
        speed["rows_per_s"],
        speed["source_rows_per_s"],
    )

    unrecorded = ferry("export", "tiny-text:1", "--precision", "int8", "--rounds", "1",
                       "--no-record", *reg)  # fmt: skip
    assert unrecorded.returncode == 0, unrecorded.stderr[-3000:]
    assert len(registry.benchmarks("tiny-text")) == 1


def test_export_errors_are_one_line(tmp_path: Path) -> None:
    missing = ferry("export", "nope", "--precision", "int8", "--registry", str(tmp_path))
    assert missing.returncode == 5 and "model 'nope' not found" in missing.stderr  # unknown model
    bad = ferry("export", "nope", "--precision", "int4", "--registry", str(tmp_path))
    assert bad.returncode == 2 and "int4" in bad.stderr
