"""scripts/gpu_check.sh fails loudly, naming the reason, where no GPU runs."""

from __future__ import annotations

import json
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


def test_batches_in_flight_are_measured_on_each_provider_set(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    publish_linear(registry)
    publish_linear(registry, "other", n_features=4)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text("#!/bin/sh\necho 'Fake GPU, 0.0, 1 MiB'\n")
    (fake / "nvidia-smi").chmod(0o755)
    # the probe is skipped: the script's steps run on the provider set given, here the CPU
    result = run(
        tmp_path,
        PATH=f"{fake}:{os.environ['PATH']}",
        FERRY_REGISTRY=str(registry.root),
        FERRY_GPU_PROVIDERS="CPUExecutionProvider",
        FERRY_GPU_STEPS="instances",
        FERRY_GPU_SECONDS="0.3",
        FERRY_GPU_BATCH="8",
    )
    assert result.returncode == 0, result.stderr
    assert "batches in flight on CPUExecutionProvider: instances 1,2" in result.stderr
    figures = json.loads((tmp_path / "out" / "cpu" / "instances.json").read_text())
    assert sorted(f["model"] for f in figures) == ["other", "tabular"]
    for one in figures:
        assert one["providers"] == ["CPUExecutionProvider"] and one["batch"] == 8
        assert set(one["rows_per_s"]) == {"1", "2"} and min(one["rows_per_s"].values()) > 0
        assert one["vs_one"]["1"] == 1.0
    assert "2 instance(s) in flight" in result.stdout
