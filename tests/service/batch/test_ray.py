"""The Ray engine on a local Ray instance gives the local engine's output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from export.registry import Artifact
from service.batch.job import ScoreJob, run_local
from tests.service.batch.conftest import table

ray = pytest.importorskip("ray", reason="the Ray engine needs `pip install 'ferry[ray]'`")
pytestmark = pytest.mark.slow


@pytest.fixture
def local_ray() -> Iterator[None]:
    yield
    ray.shutdown()


def test_ray_engine_matches_the_local_engine(
    linear: Artifact, tmp_path: Path, local_ray: None
) -> None:
    from service.batch.ray_engine import run_ray

    data = table(3000, seed=3)
    column = data["f2"].to_numpy().copy()
    column[[10, 2500]] = [np.nan, np.inf]
    data = data.set_column(data.column_names.index("f2"), "f2", [column])
    (tmp_path / "in").mkdir()
    pq.write_table(data.slice(0, 1700), tmp_path / "in" / "a.parquet")
    pq.write_table(data.slice(1700), tmp_path / "in" / "b.parquet")
    registry = linear.path.parents[1]
    local = run_local(ScoreJob("lin", tmp_path / "in", tmp_path / "local.parquet", registry))
    job = ScoreJob("lin", tmp_path / "in", tmp_path / "ray.parquet", registry, batch_rows=500)
    result = run_ray(job)

    assert (result.rows_scored, result.rows_rejected) == (2998, 2)
    assert job.output.is_dir() and not list(tmp_path.glob(".ray*"))
    scored = pq.read_table(job.output).sort_by("id")
    assert scored.cast(pq.read_schema(local.output)).equals(pq.read_table(local.output))
    rejects = pq.read_table(job.rejects_path).sort_by("id").to_pandas()
    expected = pq.read_table(local.rejects).drop_columns(["input_row"]).to_pandas()
    pd.testing.assert_frame_equal(rejects, expected)  # NaN equals NaN here
