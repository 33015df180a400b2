"""A refresh that changed what is served freezes the heap; garbage is never frozen for good."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from export.registry import Registry
from service.runtime.settings import RuntimeSettings
from service.serving import heap
from service.serving.models import ModelSet
from service.serving.refresh import Refresher
from service.serving.settings import RegistrySettings
from tests.support.onnx_models import publish_linear


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_settle_freezes_the_living_and_frees_cycles_frozen_before() -> None:
    kept = Node()
    dropped = Node()
    gone = weakref.ref(dropped)
    heap.settle()
    assert gc.get_freeze_count() > 0
    del dropped  # garbage now, but frozen with the rest: no collection frees it
    gc.collect()
    assert gone() is not None
    heap.settle()  # the next settle unfreezes first
    assert gone() is None
    assert kept.me is kept


async def test_a_refresh_that_loads_a_version_settles_and_one_that_changes_nothing_does_not(
    registry: Registry,
) -> None:
    publish_linear(registry, seed=0)
    models = ModelSet(
        RegistrySettings(registry=registry.root),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
    )
    refresher = Refresher(models, settle=True)
    [loaded] = await refresher.refresh()
    assert loaded.error is None and gc.get_freeze_count() > 0
    gc.unfreeze()
    assert await refresher.refresh() == []
    assert gc.get_freeze_count() == 0
    await models.close()
