"""Alias moves are compare-and-swap: racing writers, lost writes, history exactly once."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from export.errors import Conflict
from export.registry import Registry, Stream
from export.registry.aliases import Aliases
from tests.support.onnx_models import publish_linear

ROOT = Path(__file__).resolve().parents[3]


def three_versions(registry: Registry) -> None:
    for seed in range(3):
        publish_linear(registry, name="m", seed=seed, promote=False)
    registry.promote("m", "1")


def moves(registry: Registry) -> list[dict[str, Any]]:
    return [e for e in registry.history("m") if e.get("event") in ("promote", "rollback")]


def test_a_move_against_a_stale_expectation_changes_nothing(registry: Registry) -> None:
    three_versions(registry)
    before = registry.history("m")
    with pytest.raises(Conflict, match="alias 'production' points at 1, not 2") as info:
        registry.promote("m", "3", expect="2")
    assert info.value.status == 409 and (info.value.expected, info.value.found) == ("2", "1")
    with pytest.raises(Conflict):
        registry.rollback("m", expect="3")
    assert registry.aliases("m") == {"production": "1"} and registry.history("m") == before
    assert registry.promote("m", "3", expect="1") == "1"
    assert registry.promote("m", "2", alias="canary", expect=None) is None  # must not exist yet
    with pytest.raises(Conflict, match="alias 'canary' points at 2, not nothing"):
        registry.promote("m", "3", alias="canary", expect=None)


def test_of_two_writers_expecting_the_same_version_exactly_one_wins(registry: Registry) -> None:
    three_versions(registry)
    for _ in range(3):
        current = registry.aliases("m")["production"]
        barrier = threading.Barrier(2)

        def mover(
            version: str, expected: str = current, barrier: threading.Barrier = barrier
        ) -> str:
            writer = Registry(registry.url)
            barrier.wait(timeout=30)
            try:
                writer.promote("m", version, expect=expected)
            except Conflict:
                return "lost"
            return "won"

        targets = [v for v in ("1", "2", "3") if v != current]
        with ThreadPoolExecutor(2) as pool:
            assert sorted(pool.map(mover, targets)) == ["lost", "won"]
    assert [e["revision"] for e in moves(registry)] == [1, 2, 3, 4]


def test_racing_processes_never_lose_a_move(registry: Registry) -> None:
    """Two processes move one alias as fast as they can: every move that returned is in
    the history once, in revision order, each starting where the one before ended."""
    three_versions(registry)
    command = [sys.executable, "-m", "tests.support.registry_workers", registry.url]
    workers = [
        subprocess.Popen(
            [*command, "production", "8", "1", "2", "3"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = [json.loads(w.communicate(timeout=120)[0].splitlines()[-1]) for w in workers]
    won = [pair for r in results for pair in r["won"]]
    assert len(won) + sum(r["lost"] for r in results) == 16 and won
    recorded = moves(registry)
    assert len(recorded) == 1 + len(won)  # the first promote, then one event per win
    assert [e["revision"] for e in recorded] == list(range(1, len(won) + 2))
    for before, after in itertools.pairwise(recorded):
        assert after["previous"] == before["version"]  # no move lost in between
    assert sorted(map(tuple, won)) == sorted((e["previous"], e["version"]) for e in recorded[1:])
    assert registry.aliases("m")["production"] == recorded[-1]["version"]


def test_a_move_whose_history_write_died_is_recorded_once(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    three_versions(registry)
    append = Stream.append
    died: list[str] = []

    def dies_once(self: Stream, entry: dict[str, Any], key: str | None = None) -> str:
        if entry.get("version") == "2" and not died:
            died.append(str(key))
            raise RuntimeError("killed between the alias write and the history write")
        return append(self, entry, key)

    monkeypatch.setattr(Stream, "append", dies_once)
    with pytest.raises(RuntimeError, match="killed"):
        registry.promote("m", "2")
    assert registry.aliases("m") == {"production": "2"}  # the move itself happened
    assert [e["version"] for e in moves(registry)] == ["1", "2"]  # shown from the alias object
    stored = [e["version"] for e in registry.stream("m", "history").read() if "alias" in e]
    assert stored == ["1"]
    registry.promote("m", "3")  # the next mover writes the missing event first
    registry.promote("m", "1", alias="staging")
    stored = [e["version"] for e in registry.stream("m", "history").read() if "alias" in e]
    assert stored == ["1", "2", "3", "1"]
    assert [e["revision"] for e in moves(registry)] == [1, 2, 3, 4]


def test_a_move_of_another_alias_meanwhile_is_retried_not_refused(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    three_versions(registry)
    write = Aliases._write
    other = Registry(registry.url)

    def someone_moves_staging_first(self: Aliases, state: Any, tag: str | None) -> None:
        if not interfered:
            interfered.append(True)
            other.promote("m", "3", alias="staging")
        write(self, state, tag)

    interfered: list[bool] = []

    monkeypatch.setattr(Aliases, "_write", someone_moves_staging_first)
    assert registry.promote("m", "2") == "1"
    assert registry.aliases("m") == {"production": "2", "staging": "3"}
    assert [(e["alias"], e["version"]) for e in moves(registry)] == [
        ("production", "1"),
        ("staging", "3"),
        ("production", "2"),
    ]
