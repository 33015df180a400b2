"""`bentoml build` makes a Bento of the serving code, without training or torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_bentoml_build(tmp_path: Path) -> None:
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "--output", "tag"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Each Bento is a folder named by its version; `latest` beside them is a file.
    [bento] = [p for p in (tmp_path / "bentoml" / "bentos" / "ferry").iterdir() if p.is_dir()]
    src = bento / "src"
    assert (src / "service" / "app.py").is_file() and (
        src / "export" / "registry" / "registry.py"
    ).is_file()
    assert not (src / "training").exists() and not (src / "tests").exists()
    requirements = (bento / "env" / "python" / "requirements.txt").read_text()
    assert "onnxruntime" in requirements and "torch" not in requirements
    assert "service.app:Ferry" in (bento / "bento.yaml").read_text()
