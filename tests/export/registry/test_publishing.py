"""Versions appear whole: a publish killed anywhere leaves nothing visible; gc sweeps up;
foreign folders and objects are ignored."""

from __future__ import annotations

import random
from pathlib import Path

from export.registry import Registry
from loadtests.registry_chaos import kill_a_publish
from tests.support.onnx_models import publish_linear

ROOT = Path(__file__).resolve().parents[3]
#: Kills per store in the tests (each starts a process); the benchmark runs more.
KILLS = 2


def assert_only_whole_versions(registry: Registry) -> None:
    for version in registry.versions("m"):
        fresh = Registry(registry.url, cache_dir=registry.cache_dir)
        fresh.get(f"m:{version}")  # every visible version verifies
    registry.gc(0.0)
    assert registry.orphans() == []


def test_a_publish_killed_anywhere_leaves_nothing_visible(registry: Registry) -> None:
    rng = random.Random(13)
    for _ in range(KILLS):
        before = set(registry.versions("m"))
        kill_a_publish(registry.url, rng.uniform(0.0, 0.4))
        assert_only_whole_versions(registry)
        assert set(registry.versions("m")) >= before
    published = registry.versions("m")
    new = publish_linear(registry, name="m", promote=False).manifest.version
    assert new not in published and registry.versions("m")[-1] == new


def test_gc_removes_only_orphans_older_than_the_age(registry: Registry) -> None:
    publish_linear(registry)
    storage = registry.storage
    storage.create("tabular/2/.claim", b"{}")  # what a publish killed after claiming leaves
    storage.write("tabular/2/model.onnx", b"half")
    if registry.is_local:
        (registry.root / "tabular" / ".draft-killed").mkdir()
    assert registry.gc(3600.0) == []  # too young: perhaps a publish still running
    orphans = registry.orphans()
    assert any(o.endswith("tabular/2") for o in orphans)
    assert len(orphans) == (2 if registry.is_local else 1)
    assert sorted(registry.gc(0.0)) == sorted(orphans)
    assert registry.orphans() == [] and registry.versions("tabular") == ["1"]
    assert storage.read("tabular/2/model.onnx") is None
    assert publish_linear(registry, seed=1).manifest.version == "2"
    assert registry.history("tabular")[0]["event"] == "publish"  # streams untouched


def test_foreign_folders_and_objects_are_ignored(registry: Registry) -> None:
    publish_linear(registry)
    foreign = [
        "lost+found/x",
        ".snapshot/daily/x",
        ".git/HEAD",
        "stray.txt",
        "notes/readme.md",
        "tabular/.snapshot/x",
        "tabular/lost+found/x",
        "tabular/notes/readme.md",
        "tabular/stray",
    ]
    for key in foreign:
        registry.storage.write(key, b"not ferry's")
    assert registry.models() == ["tabular"]
    assert registry.versions("tabular") == ["1"]
    assert registry.resolve("tabular") == ("tabular", "1")
    assert registry.gc(0.0) == []  # not ours: never removed
    assert all(registry.storage.read(key) is not None for key in foreign)
