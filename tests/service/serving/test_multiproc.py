"""Each service instance keeps its Prometheus series in a folder of its own."""

from __future__ import annotations

import os
from pathlib import Path

from service.serving.multiproc import VARIABLE, instance_id, use_own_folder


def test_a_worker_moves_out_of_bentomls_shared_folder(tmp_path: Path) -> None:
    shared = tmp_path / "prometheus_multiproc_dir"
    stale = tmp_path / "ferry-prometheus" / "999999999-1"  # an instance long gone
    stale.mkdir(parents=True)
    env = {VARIABLE: str(shared)}
    folder = use_own_folder(env)
    assert folder == tmp_path / "ferry-prometheus" / instance_id(os.getppid())
    assert folder.is_dir() and env[VARIABLE] == str(folder)
    assert not stale.exists()
    assert use_own_folder(dict(env)) is None  # already moved: not BentoML's folder


def test_outside_a_bentoml_worker_nothing_moves() -> None:
    assert use_own_folder({}) is None
