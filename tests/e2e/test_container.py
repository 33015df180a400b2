"""The serving image, built and run for real by scripts/container_smoke.sh (`make container-check`).

Deselected from `make test` (pyproject's `-m 'not container'`): the check builds an image
(minutes from a cold cache) and needs docker, or root for podman. CI runs it right after
`make test`; like every test here it fails, never skips, where it cannot run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.container, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(1800)
def test_the_image_serves_a_trained_model_as_onnx_runtime_computes_it() -> None:
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "container_smoke.sh")],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=1700,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    # each check the script makes, seen passing (not merely an exit status of 0)
    assert "16 predictions equal ONNX Runtime's" in output, output[-4000:]
    assert "no torch, health check passes" in output, output[-4000:]
