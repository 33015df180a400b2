"""An alias's canary and shadow: kept in the aliases object, changed by compare-and-swap,
every change in the history once, ended by moving the alias."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from export.errors import Conflict, ExportError, ModelNotFound
from export.registry import Registry, Rollout
from tests.support.onnx_models import publish_linear


@pytest.fixture
def local(tmp_path: Path) -> Registry:
    """For what the store does not change (the moves themselves run on both, above)."""
    return Registry(tmp_path / "reg")


def four_versions(registry: Registry) -> None:
    for seed in range(4):
        publish_linear(registry, name="m", seed=seed, promote=seed == 0)


def rollout_events(registry: Registry) -> list[dict[str, Any]]:
    return [e for e in registry.history("m") if e.get("event") != "publish"]


def test_a_canary_and_a_shadow_are_moves_of_their_alias(registry: Registry) -> None:
    four_versions(registry)
    assert registry.canary("m", "2", 10) == Rollout(canary="2", weight=10.0)
    both = registry.shadow("m", "3", 0.5)
    assert both == Rollout("2", 10.0, "3", 0.5, shadow_since=3)
    assert registry.canary("m", "2", 25).weight == 25.0
    assert registry.shadow("m", "3", 1.0).session == "r00000003"  # same shadow: same session
    assert registry.aliases("m") == {"production": "1"}  # the alias itself never moved
    state = registry.alias_state("m")
    assert state.revision == 5 and state.rollouts == {"production": Rollout("2", 25.0, "3", 1.0, 3)}

    ended = registry.canary("m", None, 0)
    assert ended == Rollout(shadow="3", fraction=1.0, shadow_since=3)
    assert registry.shadow("m", None) == Rollout()
    again = registry.shadow("m", "3", 0.25)
    assert again.session == "r00000008"  # started again: counted afresh
    events = rollout_events(registry)
    assert [e["event"] for e in events] == [
        "promote", "canary", "shadow", "canary", "shadow", "canary-end", "shadow-end", "shadow",
    ]  # fmt: skip
    assert events[3]["was"] == {"canary": "2", "weight": 10.0} and events[5]["was"] == 25.0
    assert all(e["version"] == e["previous"] == "1" for e in events[1:])
    assert [e["revision"] for e in events] == list(range(1, 9))  # each change exactly once


def test_moving_the_alias_ends_its_rollout_and_says_so(local: Registry) -> None:
    registry = local
    four_versions(registry)
    registry.canary("m", "2", 50)
    registry.shadow("m", "3")
    registry.promote("m", "2", alias="staging")  # another alias: the rollout stays
    assert registry.rollout("m") == Rollout("2", 50.0, "3", 1.0, 3)
    assert registry.promote("m", "3") == "1"
    assert registry.rollout("m") == Rollout()
    promoted = registry.history("m")[-1]
    assert promoted["ended"] == {
        "canary": "2", "weight": 50.0, "shadow": "3", "fraction": 1.0, "shadow_since": 3,
    }  # fmt: skip
    registry.canary("m", "4", 5)
    assert registry.rollback("m") == "1"
    assert (
        registry.rollout("m") == Rollout() and registry.history("m")[-1]["ended"]["canary"] == "4"
    )
    raw = json.loads(registry.storage.read("m/aliases.json").data)  # type: ignore[union-attr]
    assert "rollouts" not in raw  # no rollout: the object a reader without rollouts knows


def test_bad_rollouts_are_refused_and_change_nothing(local: Registry) -> None:
    registry = local
    four_versions(registry)
    before = registry.alias_state("m").revision
    with pytest.raises(ExportError, match="points at 1 already; a canary is another version"):
        registry.canary("m", "1", 10)
    for weight in (-1, 101, float("nan"), 0.001):
        with pytest.raises(ExportError, match="canary weight"):
            registry.canary("m", "2", weight)
    with pytest.raises(ExportError, match="fraction must be above 0 and at most 1"):
        registry.shadow("m", "2", 0)
    with pytest.raises(ModelNotFound, match="version '9' of model 'm' not found"):
        registry.canary("m", "9", 10)
    with pytest.raises(ExportError, match="has no canary to end"):
        registry.canary("m", None, 0)
    with pytest.raises(ExportError, match="has no shadow to end"):
        registry.shadow("m", None)
    with pytest.raises(ExportError, match="alias 'staging' points at nothing"):
        registry.canary("m", "2", 10, alias="staging")
    with pytest.raises(Conflict, match="alias 'production' points at 1, not 2"):
        registry.canary("m", "3", 10, expect="2")
    assert registry.alias_state("m").revision == before and registry.rollout("m") == Rollout()


def test_racing_canary_and_promote_one_wins_the_other_sees_it(registry: Registry) -> None:
    """A canary started against version 1 while someone promotes 2: the canary either
    lands before (and the promotion ends it) or is refused; never a canary of 1's traffic
    applied to 2."""
    four_versions(registry)
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def start_canary() -> None:
        barrier.wait(timeout=30)
        try:
            outcome["canary"] = Registry(registry.url).canary("m", "3", 20, expect="1")
        except Conflict as err:
            outcome["canary"] = err

    def promote() -> None:
        barrier.wait(timeout=30)
        outcome["promote"] = Registry(registry.url).promote("m", "2", expect="1")

    threads = [threading.Thread(target=start_canary), threading.Thread(target=promote)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcome["promote"] == "1" and registry.rollout("m") == Rollout()
    moved = registry.history("m")[-1]
    if isinstance(outcome["canary"], Conflict):
        assert "ended" not in moved
    else:
        assert moved["ended"] == {"canary": "3", "weight": 20.0}
