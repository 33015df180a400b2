from __future__ import annotations

from pathlib import Path

import pytest

from export.errors import ExportError, IntegrityError
from export.registry import Registry
from export.transfer import copy_version
from tests.support.onnx_models import publish_linear


def test_copy_keeps_the_version_and_sets_the_alias(tmp_path: Path) -> None:
    source, target = Registry(tmp_path / "a"), Registry(tmp_path / "b")
    for seed in range(3):
        publish_linear(source, seed=seed)
    copied = copy_version(source, "tabular:2", target)
    assert copied.manifest.version == "2" and target.versions("tabular") == ["2"]
    assert target.aliases("tabular") == {"production": "2"}
    copy_version(source, "tabular:2", target)  # the same files again: nothing to do
    assert [p.name for p in (target.root / "tabular").iterdir() if p.name.startswith(".copy")] == []


def test_copy_refuses_a_modified_source_and_a_clashing_target(tmp_path: Path) -> None:
    source, target, other = (Registry(tmp_path / n) for n in "abc")
    artifact = publish_linear(source)
    publish_linear(other, seed=5)
    with pytest.raises(ExportError, match="already has a different tabular:1"):
        copy_version(other, "tabular:1", Registry(source.root))
    artifact.model_path.write_bytes(b"changed")
    with pytest.raises(IntegrityError):
        copy_version(source, "tabular:1", target)
    assert target.versions("tabular") == []
