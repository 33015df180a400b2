from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from export.errors import ExportError, ParityError
from export.manifest import MODEL_FILE, Manifest, Parity, sha256_file
from export.metadata import read_metadata
from export.onnx import export_onnx
from export.publish import publish
from export.registry import Artifact, Registry
from export.signature import Signature, TensorSpec
from export.verify import check_parity, require_parity
from training.recipes import Trained


class ExportsDifferently(nn.Module):
    """Fault injection: adds `offset` to the output only while being exported to ONNX."""

    def __init__(self, inner: nn.Module, offset: float) -> None:
        super().__init__()
        self.inner = inner
        self.offset = offset

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out = self.inner(features)
        return out + self.offset if torch.onnx.is_in_onnx_export() else out


def _publish(registry: Registry, trained: Trained, module: nn.Module | None = None) -> Artifact:
    return publish(
        registry,
        "tabular",
        module if module is not None else trained.module,
        trained.signature,
        trained.sample_inputs,
        labels=trained.labels,
        features=trained.features,
        metrics=trained.metrics,
        data_fingerprint=trained.data_fingerprint,
        task=trained.task,
        preprocessing=trained.preprocessing,
        training=trained.training,
    )


def _session(artifact: Artifact) -> ort.InferenceSession:
    return ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])


def test_manifest_describes_the_artifact(
    tabular_registry: tuple[Registry, Artifact], tabular_trained: Trained
) -> None:
    registry, artifact = tabular_registry
    manifest = Manifest.read(artifact.path)
    assert manifest == artifact.manifest
    assert (manifest.name, manifest.version) == ("tabular", "1")
    assert manifest.signature == tabular_trained.signature
    assert manifest.labels == ["malignant", "benign"]
    assert manifest.features == tabular_trained.features
    assert manifest.task == "binary-classification"
    assert manifest.metrics == tabular_trained.metrics
    assert manifest.data_fingerprint.startswith("sha256:")
    assert manifest.preprocessing["in_graph"] is True
    assert manifest.training["epochs_run"] == 5
    assert manifest.opset == 18
    assert manifest.code_revision  # a commit hash, or "unknown" outside git
    assert manifest.created_at.endswith("+00:00")
    assert sorted(p.name for p in artifact.path.iterdir() if p.name[0] != ".") == [
        "manifest.json",
        MODEL_FILE,
    ]  # and the version's claim, `.claim`
    assert manifest.files == {MODEL_FILE: sha256_file(artifact.model_path)}
    assert registry.versions("tabular") == ["1"]


def test_parity_is_recorded_and_within_tolerance(
    tabular_registry: tuple[Registry, Artifact],
) -> None:
    parity = tabular_registry[1].manifest.parity
    assert parity.passed and parity.tolerance == 1e-5
    assert parity.max_abs_diff <= 1e-5
    assert parity.rows == 114 + 1000  # held-out test rows plus random rows


def test_onnx_metadata_is_readable_by_onnxruntime(
    tabular_registry: tuple[Registry, Artifact],
) -> None:
    artifact = tabular_registry[1]
    meta = _session(artifact).get_modelmeta().custom_metadata_map
    assert meta["name"] == "tabular" and meta["version"] == "1"
    assert json.loads(meta["labels"]) == ["malignant", "benign"]
    assert json.loads(meta["signature"]) == artifact.manifest.signature.to_dict()
    assert json.loads(meta["metrics"]) == artifact.manifest.metrics
    assert json.loads(meta["features"]) == artifact.manifest.features
    assert read_metadata(artifact.model_path) == meta


@pytest.mark.parametrize("rows", [1, 257])
def test_dynamic_batch(
    tabular_registry: tuple[Registry, Artifact], tabular_trained: Trained, rows: int
) -> None:
    session = _session(tabular_registry[1])
    assert [i.name for i in session.get_inputs()] == ["features"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    x = np.random.default_rng(rows).normal(10, 5, size=(rows, 30)).astype(np.float32)
    (proba,) = session.run(["probabilities"], {"features": x})
    assert proba.shape == (rows, 2)
    with torch.no_grad():
        expected = tabular_trained.module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(proba, expected, atol=1e-5)


def test_parity_failure_blocks_publishing(tabular_trained: Trained, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    _publish(registry, tabular_trained)
    broken = ExportsDifferently(tabular_trained.module, offset=1e-3)
    with pytest.raises(ParityError, match=r"max \|diff\| 0\.001 .* tolerance 1e-05"):
        _publish(registry, tabular_trained, broken)
    folder = registry.root / "tabular"
    assert registry.versions("tabular") == ["1"]
    assert registry.orphans() == []  # no draft, no unpublished version folder left
    assert sorted(p.name for p in folder.iterdir() if p.name[0] != ".") == ["1"]
    assert [e["version"] for e in registry.history("tabular")] == ["1"]
    assert _publish(registry, tabular_trained).manifest.version == "2"


def test_check_parity_reports_the_difference(tabular_trained: Trained, tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    broken = ExportsDifferently(tabular_trained.module, offset=0.25)
    export_onnx(broken, tabular_trained.signature, tabular_trained.sample_inputs, path)
    parity = check_parity(
        tabular_trained.module, path, tabular_trained.sample_inputs, random_rows=10
    )
    assert parity == Parity(
        max_abs_diff=pytest.approx(0.25), tolerance=1e-5, rows=114 + 10, passed=False
    )
    with pytest.raises(ParityError, match=r"0\.25"):
        require_parity(parity)
    require_parity(replace(parity, passed=True))


def test_export_checks_the_signature(tabular_trained: Trained, tmp_path: Path) -> None:
    wrong_dtype = Signature(
        tabular_trained.signature.inputs,
        (TensorSpec("probabilities", "float64", (-1, 2)),),
    )
    with pytest.raises(ExportError, match=r"output 'probabilities' has dtype float32.*float64"):
        export_onnx(
            tabular_trained.module, wrong_dtype, tabular_trained.sample_inputs, tmp_path / "a.onnx"
        )
    with pytest.raises(ExportError, match="no sample for input 'features'"):
        export_onnx(tabular_trained.module, tabular_trained.signature, {}, tmp_path / "b.onnx")


def test_publish_rejects_samples_that_do_not_fit(tabular_trained: Trained, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    samples = {"features": tabular_trained.sample_inputs["features"].astype(np.float64)}
    with pytest.raises(ExportError, match="are float64, the signature says float32"):
        publish(
            registry, "tabular", tabular_trained.module, tabular_trained.signature, samples,
            labels=[], features=[], metrics={}, data_fingerprint="", task="", preprocessing={},
            training={},
        )  # fmt: skip
    assert not (registry.root / "tabular").exists() or registry.versions("tabular") == []


@pytest.mark.slow
def test_dynamo_exporter_gives_the_same_graph_contract(
    tabular_trained: Trained, tmp_path: Path
) -> None:
    path = tmp_path / "dynamo.onnx"
    export_onnx(
        tabular_trained.module, tabular_trained.signature, tabular_trained.sample_inputs, path,
        dynamo=True,
    )  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ["dynamo.onnx"]  # no external .data file
    model = onnx.load(str(path))
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.HasField("dim_value")
    parity = check_parity(tabular_trained.module, path, tabular_trained.sample_inputs)
    assert parity.passed, parity
