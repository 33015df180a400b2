"""kill -9 in the middle of a job, run it again: the output equals an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from export.registry import Artifact
from service.scoring.job import CRASH_AFTER_PARTS, ScoreJob, run_local
from tests.service.scoring.conftest import table


def ferry_score(job: ScoreJob, **env: str) -> subprocess.CompletedProcess[str]:
    args = ["score", "lin", "-i", str(job.input), "-o", str(job.output)]
    args += ["--registry", str(job.registry), "--batch-rows", str(job.batch_rows)]
    return subprocess.run(
        [sys.executable, "-m", "ferry", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **env},
    )


def test_a_killed_job_resumes_and_matches_a_clean_run(linear: Artifact, tmp_path: Path) -> None:
    pacsv.write_csv(table(1000), tmp_path / "in.csv")
    text = (tmp_path / "in.csv").read_text().splitlines()
    text[50] = text[50].replace(text[50].split(",")[2], "oops")  # part 0: a bad value
    text[777] = "1,2"  # part 7: a malformed line
    (tmp_path / "in.csv").write_text("\n".join(text) + "\n")
    registry = linear.path.parents[1]
    clean = run_local(
        ScoreJob("lin", tmp_path / "in.csv", tmp_path / "clean.parquet", registry, batch_rows=100)
    )
    job = ScoreJob("lin", tmp_path / "in.csv", tmp_path / "out.parquet", registry, batch_rows=100)

    crashed = ferry_score(job, **{CRASH_AFTER_PARTS: "3"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert not job.output.exists() and not job.rejects_path.exists()
    (work,) = tmp_path.glob(".out.parquet.ferry-*")
    assert sorted(p.name for p in work.glob("outputs-*")) == [
        f"outputs-00000{i}.npy" for i in range(3)
    ]
    torn = (work / "outputs-000002.npy").read_bytes()
    (work / "outputs-000002.npy").write_bytes(torn[:-10])  # as if power failed mid-write

    resumed = ferry_score(job)
    assert resumed.returncode == 3, resumed.stderr[-2000:]
    assert "resumed after 2 parts" in resumed.stderr
    assert pq.read_table(job.output).equals(pq.read_table(clean.output))
    assert pq.read_table(job.rejects_path).equals(pq.read_table(clean.rejects))
    assert pq.read_table(job.output).num_rows == clean.rows_scored == 998
    assert not work.exists()
