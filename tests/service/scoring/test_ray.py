"""The Ray engine on a local Ray instance: the local engine's output and rejects, and resumable."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import ray

from export.registry import Artifact
from service.scoring.job import CRASH_AFTER_PARTS, ScoreJob, run_local
from tests.service.scoring.conftest import table
from tests.support.s3 import S3Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray(s3_server: S3Server) -> Iterator[None]:
    """One local Ray for this module's in-process tests: starting one is most of each
    test's time. The first `run_ray` starts it, after the S3 variables are set, since its
    workers keep the environment they start with."""
    yield
    ray.shutdown()


@pytest.fixture
def no_local_ray() -> None:
    """`ferry score --engine ray` in a process of its own starts its own Ray: ours is
    stopped first, so that one is never found and joined."""
    ray.shutdown()


def with_bad_values(data: pa.Table, rows: list[int]) -> pa.Table:
    column = data["f2"].to_numpy().copy()
    column[rows] = np.nan
    return data.set_column(data.column_names.index("f2"), "f2", [column])


def read(path: Path) -> pa.Table:
    """A file, or a folder of parts in name order."""
    if path.suffix == ".csv":
        parts = sorted(path.glob("*.csv")) if path.is_dir() else [path]
        return pa.concat_tables([pacsv.read_csv(p) for p in parts])
    return pq.read_table(path)


def same(a: pa.Table, b: pa.Table) -> bool:
    """Equal schemas and values, NaN (the reason some rows are rejected) equal to NaN."""
    return a.schema.equals(b.schema) and a.to_pandas().equals(b.to_pandas())


def test_ray_engine_matches_the_local_engine(
    linear: Artifact, tmp_path: Path, local_ray: None
) -> None:
    from service.scoring.ray_engine import run_ray

    data = with_bad_values(table(3000, seed=3), [10, 2500])
    (tmp_path / "in").mkdir()
    pq.write_table(data.slice(0, 1700), tmp_path / "in" / "a.parquet", row_group_size=300)
    pq.write_table(data.slice(1700), tmp_path / "in" / "b.parquet")
    registry = linear.path.parents[1]
    local = run_local(
        ScoreJob("lin", tmp_path / "in", tmp_path / "local.parquet", registry, ("id",), None, 500)
    )
    job = ScoreJob("lin", tmp_path / "in", tmp_path / "ray.parquet", registry, ("id",), None, 500)
    result = run_ray(job)

    assert (result.rows_scored, result.rows_rejected, result.engine) == (2998, 2, "ray")
    assert job.output.is_dir() and len(list(job.output.glob("part-*.parquet"))) == 6
    assert not list(tmp_path.glob(".ray*"))  # the work folder is gone
    assert read(job.output).equals(read(local.output))  # same rows, same order
    rejects = read(job.rejects_path)
    assert rejects.equals(read(local.rejects))
    assert rejects["input_row"].to_pylist() == [10, 2500]
    assert rejects["id"].to_pylist() == [1010, 3500]


def test_csv_rejects_are_numbered_like_the_local_engine(
    linear: Artifact, tmp_path: Path, local_ray: None
) -> None:
    from service.scoring.ray_engine import run_ray

    (tmp_path / "in").mkdir()
    for name, seed in (("a", 1), ("b", 2)):
        pacsv.write_csv(
            with_bad_values(table(400, seed=seed), [7]), tmp_path / "in" / f"{name}.csv"
        )
    lines = (tmp_path / "in" / "a.csv").read_text().splitlines()
    lines[100] = "1,2"  # a malformed line: skipped by the reader, reported, not numbered
    lines[200] = lines[200].replace(lines[200].split(",")[3], "oops")
    (tmp_path / "in" / "a.csv").write_text("\n".join(lines) + "\n")
    registry = linear.path.parents[1]
    local = run_local(ScoreJob("lin", tmp_path / "in", tmp_path / "local.csv", registry))
    result = run_ray(ScoreJob("lin", tmp_path / "in", tmp_path / "ray.csv", registry))

    assert (result.rows_scored, result.rows_rejected) == (local.rows_scored, local.rows_rejected)
    assert (local.rows_scored, local.rows_rejected) == (796, 4)
    assert read(result.output).equals(read(local.output))
    rejects = read(result.rejects)
    assert rejects.equals(read(local.rejects))
    assert rejects["input_row"].to_pylist() == [7, 198, 406, None]
    assert "line with 2 fields" in rejects["reject_reason"][3].as_py()


def ferry_score_ray(job: ScoreJob, **env: str) -> subprocess.CompletedProcess[str]:
    args = ["score", "lin", "-i", str(job.input), "-o", str(job.output), "--engine", "ray"]
    args += ["--registry", str(job.registry), "--batch-rows", str(job.batch_rows)]
    return subprocess.run(
        [sys.executable, "-m", "ferry", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", "FERRY_SCORE_RAY_ACTORS": "1", **env},
    )


def test_ray_engine_reads_and_writes_s3(
    linear: Artifact,
    tmp_path: Path,
    local_ray: None,
    s3_server: S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A prefix of Parquet files in, parts and their commit object out: the local rows."""
    import io

    import boto3

    from service.scoring.ray_engine import run_ray
    from service.scoring.remote import read_output

    monkeypatch.setenv("FERRY_CACHE_DIR", str(tmp_path / "cache"))
    data = with_bad_values(table(1200, seed=4), [7])
    client = boto3.client("s3", endpoint_url=s3_server.endpoint)
    base = s3_server.url().removeprefix(f"s3://{s3_server.bucket}/")
    for name, part in (("a.parquet", data.slice(0, 700)), ("b.parquet", data.slice(700))):
        buffer = io.BytesIO()
        pq.write_table(part, buffer)
        client.put_object(Bucket=s3_server.bucket, Key=f"{base}/in/{name}", Body=buffer.getvalue())
    (tmp_path / "in").mkdir()
    pq.write_table(data, tmp_path / "in" / "all.parquet")
    registry = linear.path.parents[1]
    local = run_local(ScoreJob("lin", tmp_path / "in", tmp_path / "local.parquet", registry))
    output = f"s3://{s3_server.bucket}/{base}/out/ray.parquet"
    job = ScoreJob.at("lin", f"s3://{s3_server.bucket}/{base}/in/", output, registry=registry,
                      keep=None, batch_rows=500)  # fmt: skip
    result = run_ray(job)
    assert (result.rows_scored, result.rows_rejected, result.output) == (1199, 1, output)
    assert read_output(output).equals(pq.read_table(local.output))


def test_a_killed_ray_job_resumes_and_matches_a_clean_run(
    linear: Artifact, tmp_path: Path, no_local_ray: None
) -> None:
    data = with_bad_values(table(2000, seed=5), [30, 1234])
    pq.write_table(data, tmp_path / "in.parquet", row_group_size=250)
    registry = linear.path.parents[1]
    clean = run_local(
        ScoreJob(
            "lin", tmp_path / "in.parquet", tmp_path / "clean.parquet", registry, batch_rows=250
        )
    )
    job = ScoreJob(
        "lin", tmp_path / "in.parquet", tmp_path / "out.parquet", registry, batch_rows=250
    )

    crashed = ferry_score_ray(job, **{CRASH_AFTER_PARTS: "3"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert not job.output.exists() and not job.rejects_path.exists()
    (work,) = tmp_path.glob(".out.parquet.ferry-*")
    finished = sorted(p.name for p in work.glob("done-*.json"))
    assert 3 <= len(finished) < 8, finished

    resumed = ferry_score_ray(job)
    assert resumed.returncode == 3, resumed.stderr[-2000:]
    # An actor of the killed run may still finish the unit it was scoring.
    skipped = re.search(r"resumed after (\d+) parts", resumed.stderr)
    assert skipped and len(finished) <= int(skipped[1]) < 8, resumed.stderr[-2000:]
    assert same(read(job.output), read(clean.output))
    assert same(read(job.rejects_path), read(clean.rejects))
    assert not work.exists()
