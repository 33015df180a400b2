from __future__ import annotations

from pathlib import Path

import pytest

from export.errors import ExportError, IntegrityError, InvalidReference
from export.registry import Registry
from export.transfer import copy_version
from tests.support.onnx_models import publish_linear
from tests.support.s3 import S3Server


def test_copy_keeps_the_version_and_sets_the_alias(tmp_path: Path) -> None:
    source, target = Registry(tmp_path / "a"), Registry(tmp_path / "b")
    for seed in range(3):
        publish_linear(source, seed=seed)
    copied = copy_version(source, "tabular:2", target)
    assert copied.manifest.version == "2" and target.versions("tabular") == ["2"]
    assert target.aliases("tabular") == {"production": "2"}
    copy_version(source, "tabular:2", target)  # the same files again: nothing to do
    assert target.orphans() == [] and target.versions("tabular") == ["2"]
    assert [e["event"] for e in target.history("tabular")] == ["publish", "promote", "promote"]


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
    with pytest.raises(InvalidReference, match="invalid name 'a/b'"):
        copy_version(other, "tabular:1", target, alias="a/b")  # refused before copying
    assert target.versions("tabular") == []


def test_copy_into_an_s3_registry_and_back(tmp_path: Path, s3_server: S3Server) -> None:
    source = Registry(tmp_path / "a")
    publish_linear(source)
    remote = Registry(s3_server.url(), cache_dir=tmp_path / "cache")
    copied = copy_version(source, "tabular@production", remote)
    assert remote.versions("tabular") == ["1"] and remote.aliases("tabular") == {"production": "1"}
    assert copied.manifest.files == source.get("tabular:1").manifest.files
    back = copy_version(remote, "tabular:1", Registry(tmp_path / "b"), alias="staging")
    assert back.model_path.read_bytes() == source.get("tabular").model_path.read_bytes()
