from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from export.errors import (
    ExportError,
    IntegrityError,
    InvalidReference,
    ManifestError,
    ModelNotFound,
)
from export.reference import Reference
from export.registry import Registry
from tests.support.onnx_models import publish_linear


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "reg")


def test_versions_aliases_and_references(registry: Registry) -> None:
    for seed in range(3):
        publish_linear(registry, seed=seed, promote=False)
    registry.promote("tabular", "2")
    registry.promote("tabular", "3", alias="staging")
    assert registry.models() == ["tabular"]
    assert registry.versions("tabular") == ["1", "2", "3"]
    assert registry.resolve("tabular") == ("tabular", "2")
    assert registry.resolve("tabular:1") == ("tabular", "1")
    assert registry.resolve("tabular@staging") == ("tabular", "3")
    assert json.loads((registry.root / "tabular" / "aliases.json").read_text()) == {
        "production": "2",
        "staging": "3",
    }
    assert registry.get("tabular@staging").manifest.version == "3"


def test_bare_name_without_production_means_latest(registry: Registry) -> None:
    publish_linear(registry, promote=False)
    publish_linear(registry, promote=False)
    assert registry.resolve("tabular") == ("tabular", "2")


@pytest.mark.parametrize(
    ("ref", "error", "message"),
    [
        ("nope", ModelNotFound, "model 'nope' not found"),
        ("tabular:9", ModelNotFound, "version '9' of model 'tabular' not found (versions: 1)"),
        ("tabular@canary", ModelNotFound, "alias 'canary' of model 'tabular' not found"),
        ("../etc", InvalidReference, "invalid name '../etc'"),
        ("tabular:", InvalidReference, "invalid name ''"),
    ],
)
def test_unknown_or_bad_references(
    registry: Registry, ref: str, error: type[Exception], message: str
) -> None:
    publish_linear(registry)
    with pytest.raises(error) as info:
        registry.resolve(ref)
    assert message in str(info.value)


def test_reference_round_trip() -> None:
    for text in ["m", "m:3", "m@production"]:
        assert str(Reference.parse(text)) == text


def test_rollback_walks_back_through_production_versions(registry: Registry) -> None:
    for seed in range(3):
        publish_linear(registry, seed=seed)  # each publish promotes: 1, 2, 3
    assert registry.rollback("tabular") == "2"
    assert registry.rollback("tabular") == "1"
    with pytest.raises(ExportError, match="no earlier version"):
        registry.rollback("tabular")
    events = [(e["event"], e.get("version")) for e in registry.history("tabular")]
    assert events[-2:] == [("rollback", "2"), ("rollback", "1")]


def test_a_failed_draft_leaves_nothing_behind(registry: Registry) -> None:
    publish_linear(registry)
    with pytest.raises(RuntimeError), registry.draft("tabular") as draft:
        (draft.path / "model.onnx").write_bytes(b"half")
        raise RuntimeError("crash while exporting")
    assert registry.versions("tabular") == ["1"]
    assert [
        p.name for p in (registry.root / "tabular").iterdir() if p.name.startswith(".draft")
    ] == []


def test_a_draft_whose_files_do_not_match_its_manifest_is_not_published(registry: Registry) -> None:
    artifact = publish_linear(registry)
    with pytest.raises(IntegrityError), registry.draft("tabular") as draft:
        manifest = dataclasses.replace(artifact.manifest, version=draft.version)
        manifest.write(draft.path)
        (draft.path / "model.onnx").write_bytes(b"tampered")
    with (
        pytest.raises(ManifestError, match="holds a manifest for tabular:1"),
        registry.draft("tabular") as draft,
    ):
        artifact.manifest.write(draft.path)
    assert registry.versions("tabular") == ["1"]


def test_loading_verifies_sha256(registry: Registry) -> None:
    artifact = publish_linear(registry)
    artifact.model_path.write_bytes(artifact.model_path.read_bytes() + b"\0")
    with pytest.raises(IntegrityError, match="refusing to load a modified artifact"):
        registry.get("tabular")
    assert registry.get("tabular", verify=False).manifest.version == "1"


def test_a_job_lock_refuses_a_second_holder_at_once_and_names_the_first(
    registry: Registry,
) -> None:
    import os

    from export.errors import Locked

    assert registry.lock_holder("tabular", "retrain") is None
    with registry.exclusive("tabular", "retrain") as path:
        assert path == registry.root / "tabular" / ".retrain.lock"
        assert registry.lock_holder("tabular", "retrain") == os.getpid()
        refused = rf"pid {os.getpid()} holds the lock .*\.retrain\.lock"
        with pytest.raises(Locked, match=refused), registry.exclusive("tabular", "retrain"):
            pass
        with registry.exclusive("tabular", "other-job"):
            pass  # one lock per job
    assert registry.lock_holder("tabular", "retrain") is None


def test_audit_is_append_only_and_survives_a_torn_line(registry: Registry) -> None:
    publish_linear(registry)
    registry.append_audit("tabular", {"id": "a", "decision": "promoted"})
    with (registry.root / "tabular" / "audit.jsonl").open("a") as handle:
        handle.write('{"id": "torn", "deci')  # a crash mid-write
    registry.append_audit("tabular", {"id": "b", "decision": "kept-as-staging"})
    assert [e["id"] for e in registry.audit("tabular")] == ["a", "b"]
    assert all("at" in e for e in registry.audit("tabular"))


def test_promote_records_details_and_a_stale_draft_is_swept(registry: Registry) -> None:
    publish_linear(registry, promote=False)
    registry.promote("tabular", "1", reason="why", details={"retrain": "abc"})
    assert registry.history("tabular")[-1]["retrain"] == "abc"
    stale = registry.root / "tabular" / ".draft-2-killed"
    stale.mkdir()
    assert registry.drafts("tabular") == [stale]
    publish_linear(registry, seed=1)
    assert registry.drafts("tabular") == [] and registry.versions("tabular") == ["1", "2"]
