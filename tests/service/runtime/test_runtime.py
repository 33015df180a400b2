from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from export.registry import Artifact, Registry
from service.runtime import ModelRuntime
from service.runtime.errors import ModelLoadError, ProviderUnavailable
from service.runtime.settings import RuntimeSettings
from tests.support.onnx_models import linear_softmax, reference


def test_runs_the_artifact_and_matches_the_reference(artifact: Artifact) -> None:
    runtime = ModelRuntime.load(artifact, RuntimeSettings(providers=["CPUExecutionProvider"]))
    x = np.random.default_rng(1).normal(size=(5, 30)).astype(np.float32)
    _, w, b = linear_softmax(30, 2, 0)
    out = runtime.run({"features": x})["probabilities"]
    np.testing.assert_allclose(out, reference(x, w, b), rtol=1e-5, atol=1e-6)
    assert runtime.version == artifact.manifest.version


def test_reports_the_providers_that_really_run(artifact: Artifact) -> None:
    runtime = ModelRuntime.load(
        artifact, RuntimeSettings(providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    )
    assert runtime.providers == list(runtime.session.get_providers())
    assert "CPUExecutionProvider" in runtime.providers


def _gpu_really_runs(artifact: Artifact) -> bool:
    session = ort.InferenceSession(str(artifact.model_path), providers=["CUDAExecutionProvider"])
    return "CUDAExecutionProvider" in session.get_providers()


def test_require_gpu_fails_loudly_without_a_gpu(artifact: Artifact) -> None:
    if _gpu_really_runs(artifact):
        pytest.skip("a GPU is present here")
    with pytest.raises(ProviderUnavailable, match="require_gpu is set but ONNX Runtime runs on"):
        ModelRuntime.load(artifact, RuntimeSettings(require_gpu=True))


def test_a_modified_artifact_is_refused(registry: Registry, artifact: Artifact) -> None:
    data = bytearray(artifact.model_path.read_bytes())
    data[-5] ^= 0xFF
    artifact.model_path.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=r"sha256 of 'model\.onnx'"):
        ModelRuntime.load(registry.get("tabular", verify=False))
