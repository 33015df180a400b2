"""scripts/gpu_check.sh fails loudly, naming the reason, where no GPU runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from export.registry import Registry
from tests.support.onnx_models import publish_linear

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "out")],
        env={**os.environ, "PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_driver_is_a_failure_not_a_skip(tmp_path: Path) -> None:
    result = run(tmp_path, PATH="/usr/bin:/bin")
    assert result.returncode == 2
    assert "nvidia-smi not found" in result.stderr


def test_onnx_runtime_falling_back_to_the_cpu_is_a_failure(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    publish_linear(registry)
    fake = tmp_path / "bin"
    fake.mkdir()
    # a driver that answers, to reach the ONNX Runtime probe on a machine without a GPU
    (fake / "nvidia-smi").write_text("#!/bin/sh\necho 'Fake GPU, 0.0, 1 MiB'\n")
    (fake / "nvidia-smi").chmod(0o755)
    result = run(
        tmp_path,
        PATH=f"{fake}:{os.environ['PATH']}",
        FERRY_REGISTRY=str(registry.root),
        FERRY_GPU_TENSORRT="0",
        # no device visible to CUDA: ONNX Runtime falls back to the CPU on any machine,
        # with or without a GPU, so the script must fail everywhere
        CUDA_VISIBLE_DEVICES="",
    )
    assert result.returncode == 2, result.stderr
    assert "asked CUDAExecutionProvider: runs on ['CPUExecutionProvider']" in result.stderr
    assert "ONNX Runtime does not run on CUDA here" in result.stderr
    assert not (tmp_path / "out").exists()
