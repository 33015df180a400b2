"""Versions, references, publishing, loading, locks and streams, on both stores."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from export.errors import (
    ExportError,
    IntegrityError,
    InvalidReference,
    Locked,
    ManifestError,
    ModelNotFound,
)
from export.reference import Reference
from export.registry import Registry
from tests.support.onnx_models import publish_linear


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
    assert registry.aliases("tabular") == {"production": "2", "staging": "3"}
    assert registry.alias_state("tabular").revision == 2
    assert registry.get("tabular@staging").manifest.version == "3"
    assert Registry(registry.url).aliases("tabular") == {"production": "2", "staging": "3"}


def test_bare_name_without_production_means_latest(registry: Registry) -> None:
    publish_linear(registry, promote=False)
    publish_linear(registry, promote=False)
    assert registry.resolve("tabular") == ("tabular", "2")


BAD_REFERENCES = [
    ("nope", ModelNotFound, "model 'nope' not found"),
    ("tabular:9", ModelNotFound, "version '9' of model 'tabular' not found (versions: 1)"),
    ("tabular@canary", ModelNotFound, "alias 'canary' of model 'tabular' not found"),
    ("../etc", InvalidReference, "invalid name '../etc'"),
    ("tabular:", InvalidReference, "invalid name ''"),
]


def test_unknown_or_bad_references(registry: Registry) -> None:
    publish_linear(registry)
    for ref, error, message in BAD_REFERENCES:
        with pytest.raises(error) as info:
            registry.resolve(ref)
        assert message in str(info.value), ref


def test_reference_round_trip() -> None:
    for text in ["m", "m:3", "m@production"]:
        assert str(Reference.parse(text)) == text


def test_rollback_walks_back_through_production_versions(registry: Registry) -> None:
    for seed in range(3):
        publish_linear(registry, seed=seed)  # each publish promotes: 1, 2, 3
    assert registry.rollback("tabular") == "2"
    assert registry.rollback("tabular") == "1"
    with pytest.raises(ExportError, match="model 'tabular': alias 'production' has no earlier"):
        registry.rollback("tabular")
    events = [(e["event"], e.get("version")) for e in registry.history("tabular")]
    assert events[-2:] == [("rollback", "2"), ("rollback", "1")]
    registry.promote("tabular", "3")
    assert registry.rollback("tabular") == "1"  # back to where it was before 3


def test_a_failed_draft_leaves_nothing_behind(registry: Registry) -> None:
    publish_linear(registry)
    with pytest.raises(RuntimeError), registry.draft("tabular") as draft:
        (draft.path / "model.onnx").write_bytes(b"half")
        raise RuntimeError("crash while exporting")
    assert registry.versions("tabular") == ["1"]
    assert registry.orphans() == []
    assert publish_linear(registry, seed=1).manifest.version == "2"


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
    assert registry.versions("tabular") == ["1"] and registry.orphans() == []


def test_loading_verifies_sha256(registry: Registry, tmp_path: Path) -> None:
    artifact = publish_linear(registry)
    changed = artifact.model_path.read_bytes() + b"\0"
    if registry.is_local:
        artifact.model_path.write_bytes(changed)
    else:  # the object in the store changes behind the manifest's back
        registry.storage.write("tabular/1/model.onnx", changed)
        registry = Registry(registry.url, cache_dir=tmp_path / "fresh-cache")
    with pytest.raises(IntegrityError, match="refusing to load a modified artifact"):
        registry.get("tabular")
    assert registry.manifest("tabular", "1").version == "1"


def test_a_remote_version_is_fetched_once_into_the_cache(
    registry: Registry, tmp_path: Path
) -> None:
    first = publish_linear(registry)
    if registry.is_local:
        assert first.path == registry.root / "tabular" / "1"  # opened in place
        return
    again = Registry(registry.url, cache_dir=tmp_path / "cache").get("tabular")
    assert again.path == first.path and again.verified
    assert again.model_path.stat().st_ino == first.model_path.stat().st_ino
    blobs = list((tmp_path / "cache" / "blobs").iterdir())
    assert [b.name for b in blobs] == [first.manifest.files["model.onnx"]]


def test_a_job_lock_refuses_a_second_holder_at_once_and_names_the_first(
    registry: Registry,
) -> None:
    assert registry.lock_holder("tabular", "retrain") is None
    with registry.exclusive("tabular", "retrain") as where:
        assert where.endswith("tabular/.locks/retrain.lock")
        assert registry.lock_holder("tabular", "retrain") == os.getpid()
        refused = rf"model 'tabular': another retrain is running \(pid {os.getpid()} holds"
        with pytest.raises(Locked, match=refused), registry.exclusive("tabular", "retrain"):
            pass
        with registry.exclusive("tabular", "other-job"):
            pass  # one lock per job
    assert registry.lock_holder("tabular", "retrain") is None
    with registry.exclusive("tabular", "retrain"):
        pass  # given back: free again


def test_an_expired_lease_is_taken_over(s3_registry: Registry) -> None:
    """On object storage (a local lock is a kernel lock: it never outlives its holder)."""
    from export.registry.lease import Lease

    registry = s3_registry
    dead = Lease(registry.storage, "tabular/.locks/retrain.lock", {}, ttl=0.2)
    dead._take()  # taken, never renewed: its holder died
    time.sleep(0.3)
    assert registry.lock_holder("tabular", "retrain") is None
    with registry.exclusive("tabular", "retrain"):
        assert registry.lock_holder("tabular", "retrain") == os.getpid()


def test_a_held_lease_is_renewed_past_its_time_to_live(s3_registry: Registry) -> None:
    short = Registry(s3_registry.url, lease_ttl=1.0)
    with short.exclusive("tabular", "retrain"):
        time.sleep(1.5)  # longer than the lease: the heartbeat kept it
        with pytest.raises(Locked), s3_registry.exclusive("tabular", "retrain"):
            pass


def test_audit_is_append_only_and_an_append_under_a_key_happens_once(
    registry: Registry,
) -> None:
    publish_linear(registry)
    registry.append_audit("tabular", {"id": "a", "decision": "promoted"})
    key = registry.stream("tabular", "audit").new_key("b")
    registry.append_audit("tabular", {"id": "b", "decision": "kept-as-staging"}, key=key)
    registry.append_audit("tabular", {"id": "b", "decision": "again"}, key=key)
    assert [e["id"] for e in registry.audit("tabular")] == ["a", "b"]
    assert registry.audit("tabular")[-1]["decision"] == "kept-as-staging"
    assert all("at" in e for e in registry.audit("tabular"))


def test_documents_are_written_whole_and_deleted(registry: Registry) -> None:
    journal = registry.document("tabular", "retrain-pending")
    assert journal.read() is None
    journal.write({"id": "x", "rows": [1, 2]})
    assert registry.document("tabular", "retrain-pending").read() == {"id": "x", "rows": [1, 2]}
    journal.delete()
    journal.delete()  # gone already is fine
    assert journal.read() is None


def test_the_first_layout_is_still_read(tmp_path: Path) -> None:
    """aliases.json as a flat map, history.jsonl and audit.jsonl with a torn last line."""
    registry = Registry(tmp_path / "reg")
    for seed in range(2):
        publish_linear(registry, seed=seed, promote=False)
    folder = registry.root / "tabular"
    (folder / "aliases.json").write_text('{"production": "2"}')
    (folder / "history.jsonl").write_text(
        '{"event": "promote", "alias": "production", "version": "1"}\n'
        '{"event": "promote", "alias": "production", "version": "2"}\n'
    )
    (folder / "audit.jsonl").write_text('{"id": "a"}\n{"id": "torn", "deci')
    assert registry.aliases("tabular") == {"production": "2"}
    assert [e["id"] for e in registry.audit("tabular")] == ["a"]
    assert registry.rollback("tabular") == "1"  # the lineage comes from history.jsonl
    assert registry.alias_state("tabular").revision == 1
    assert [e.get("event") for e in registry.history("tabular")][-1] == "rollback"


def test_published_folders_are_readable_by_others(tmp_path: Path) -> None:
    before = os.umask(0o077)
    try:
        registry = Registry(tmp_path / "reg")
        publish_linear(registry)
    finally:
        os.umask(before)
    version = registry.root / "tabular" / "1"
    for path in [registry.root, version.parent, version]:
        assert path.stat().st_mode & 0o777 == 0o755, path
    for path in [*version.iterdir(), registry.root / "tabular" / "aliases.json"]:
        assert path.stat().st_mode & 0o777 == 0o644, path


def test_another_fsspec_scheme_publishes_promotes_and_loads(tmp_path: Path) -> None:
    """fsspec's in-memory file system stands in for the untested schemes (gs://, az://)."""
    import uuid

    registry = Registry(f"memory://ferry-{uuid.uuid4().hex[:8]}", cache_dir=tmp_path / "cache")
    publish_linear(registry)
    publish_linear(registry, seed=1)
    assert registry.versions("tabular") == ["1", "2"]
    assert registry.aliases("tabular") == {"production": "2"}
    assert registry.get("tabular").model_path.is_file()
    assert registry.rollback("tabular") == "1"
    assert registry.gc(0.0) == []
