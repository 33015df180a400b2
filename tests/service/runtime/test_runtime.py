from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from export.registry import Artifact, Registry
from service.runtime import ModelRuntime
from service.runtime.errors import ModelLoadError
from service.runtime.settings import RuntimeSettings
from tests.support.onnx_models import linear_softmax, reference
from tests.support.providers import CPU, CUDA, really_runs


def test_runs_the_artifact_and_matches_the_reference(artifact: Artifact) -> None:
    runtime = ModelRuntime.load(artifact, RuntimeSettings(providers=["CPUExecutionProvider"]))
    x = np.random.default_rng(1).normal(size=(5, 30)).astype(np.float32)
    _, w, b = linear_softmax(30, 2, 0)
    out = runtime.run({"features": x})["probabilities"]
    np.testing.assert_allclose(out, reference(x, w, b), rtol=1e-5, atol=1e-6)
    assert runtime.version == artifact.manifest.version


def test_reports_the_providers_that_really_run(artifact: Artifact) -> None:
    runtime = ModelRuntime.load(artifact, RuntimeSettings(providers=[CUDA, CPU]))
    assert runtime.providers == list(runtime.session.get_providers())
    # what a raw ONNX Runtime session reports on this machine: the CPU here, CUDA on a GPU host
    assert runtime.providers == really_runs(artifact.model_path, [CUDA, CPU])


REQUIRE_GPU = """
import sys
from export.registry import Registry
from service.runtime import ModelRuntime
from service.runtime.errors import ProviderUnavailable
from service.runtime.settings import RuntimeSettings

try:
    ModelRuntime.load(Registry(sys.argv[1]).get("tabular"), RuntimeSettings(require_gpu=True))
except ProviderUnavailable as err:
    print(err)
    sys.exit(3)
"""


def test_require_gpu_fails_loudly_without_a_gpu(registry: Registry, artifact: Artifact) -> None:
    # CUDA sees no device in the child, on a machine with a GPU or without one
    hidden = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-c", REQUIRE_GPU, str(registry.root)],
        capture_output=True,
        text=True,
        timeout=120,
        env=hidden,
    )
    assert done.returncode == 3, done.stdout + done.stderr[-2000:]
    assert "require_gpu is set but ONNX Runtime runs on ['CPUExecutionProvider']" in done.stdout


@pytest.mark.gpu
def test_on_a_gpu_the_model_runs_on_cuda_and_matches_the_reference(artifact: Artifact) -> None:
    runtime = ModelRuntime.load(artifact, RuntimeSettings(providers=[CUDA, CPU], require_gpu=True))
    assert runtime.providers[0] == CUDA
    x = np.random.default_rng(2).normal(size=(64, 30)).astype(np.float32)
    _, w, b = linear_softmax(30, 2, 0)
    out = runtime.run({"features": x})["probabilities"]
    np.testing.assert_allclose(out, reference(x, w, b), rtol=1e-4, atol=1e-5)


def test_a_modified_artifact_is_refused(registry: Registry, artifact: Artifact) -> None:
    data = bytearray(artifact.model_path.read_bytes())
    data[-5] ^= 0xFF
    artifact.model_path.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=r"sha256 of 'model\.onnx'"):
        ModelRuntime.load(registry.get("tabular", verify=False))
