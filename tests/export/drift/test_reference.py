"""Reference statistics in the manifest: bounded, round-tripped, and absent from old versions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from export.drift import Monitor, Reference, build_reference, reference_of
from export.drift.stats import proportions
from export.errors import ManifestError, NoDriftReference
from export.manifest import Manifest
from export.registry import Registry
from export.signature import Signature, TensorSpec
from tests.support.onnx_models import publish_linear

SIGNATURE = Signature(
    (TensorSpec("features", "float32", (-1, 30)),),
    (TensorSpec("probabilities", "float32", (-1, 2)),),
)


def reference(rows: int = 400, seed: int = 0) -> tuple[Reference, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(rows, 30)).astype(np.float32)
    x[:, 5] = np.round(x[:, 5])  # a column of few values: bins collapse
    p = rng.dirichlet([1, 1], size=rows // 4).astype(np.float32)
    built = build_reference(
        SIGNATURE,
        {"features": x},
        {"probabilities": p},
        features=[f"f{i}" for i in range(30)],
        labels=["no", "yes"],
    )
    return built, x


def test_the_reference_is_bounded_and_describes_the_training_rows() -> None:
    built, x = reference(rows=20_000 + 5)
    assert built.rows == {"inputs": 20_000, "outputs": 5001}  # a seeded sample of big data
    assert built.names()[:2] == ["f0", "f1"] and built.names()[-2:] == ["prediction", "confidence"]
    for feature in built.features[:30]:
        assert len(feature.edges) <= 9 and len(feature.proportions) == len(feature.edges) + 1
        assert len(feature.points) == 20
        assert sum(feature.proportions) == pytest.approx(1.0, abs=1e-5)
    # the shares are those of the stored (rounded) edges on the data, bin by bin
    f0 = built.features[0]
    sample = np.sort(np.random.default_rng(0).choice(len(x), 20_000, replace=False))
    assert f0.proportions == pytest.approx(proportions(x[sample, 0], np.array(f0.edges)), abs=1e-6)
    assert f0.std == pytest.approx(float(x[sample, 0].std()), rel=1e-6)
    assert len(built.features[5].edges) < 9  # repeated values: fewer bins
    size = len(json.dumps(built.to_dict(), indent=2))
    assert size < 40_000, size  # 30 features and the predictions in a manifest


def test_few_reference_rows_get_fewer_bins() -> None:
    built, _ = reference(rows=100)  # 25 predictions: 2 bins of confidence
    assert len(built.features[-1].proportions) == 2
    assert len(built.features[0].proportions) == 4  # 100 rows: 4 bins of 25


def test_the_reference_round_trips_through_json() -> None:
    built, _ = reference()
    again = Reference.from_dict(json.loads(json.dumps(built.to_dict())))
    assert again == built
    broken = built.to_dict()
    broken["features"] = broken["features"][:-1]
    with pytest.raises(ManifestError, match="features do not match its views"):
        Reference.from_dict(broken)
    with pytest.raises(ManifestError, match="format 7 is not 1"):
        Reference.from_dict({**built.to_dict(), "format": 7})


def test_a_version_published_before_drift_loads_with_no_reference(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    old = publish_linear(registry, "m")
    raw = json.loads((old.path / "manifest.json").read_text())
    assert raw["drift"] == {}
    del raw["drift"]  # exactly what an older ferry wrote
    (old.path / "manifest.json").write_text(json.dumps(raw))
    manifest = registry.get("m:1").manifest  # loads, sha256 checked, as before
    assert manifest.drift == {}
    with pytest.raises(NoDriftReference, match=r"m:1 has no reference statistics") as caught:
        reference_of(manifest)
    assert caught.value.status == 409

    rows = np.random.default_rng(0).normal(size=(300, 30))
    new = publish_linear(registry, "m", drift_rows=rows)
    assert Manifest.read(new.path).drift == new.manifest.drift != {}
    assert Monitor.for_manifest(new.manifest).reference.rows == {"inputs": 300, "outputs": 300}
