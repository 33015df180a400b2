"""Batch jobs on object storage (a real moto server): input from and output to `s3://`,
output committed by parts and one object naming them, kill -9 and resume."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from export.registry import Artifact, Registry
from export.transfer import copy_version
from service.scoring.job import CRASH_AFTER_PARTS, ScoreJob, run_local
from service.scoring.remote import COMMIT, read_output
from tests.service.scoring.conftest import table
from tests.support.s3 import S3Server

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRY_CACHE_DIR", str(tmp_path / "cache"))  # staging, this test's own


def upload(s3: S3Server, key: str, data: bytes) -> str:
    boto3.client("s3", endpoint_url=s3.endpoint).put_object(Bucket=s3.bucket, Key=key, Body=data)
    return f"s3://{s3.bucket}/{key}"


def objects(s3: S3Server, prefix: str) -> list[str]:
    listed = boto3.client("s3", endpoint_url=s3.endpoint).list_objects_v2(
        Bucket=s3.bucket, Prefix=prefix
    )
    return sorted(item["Key"].removeprefix(prefix) for item in listed.get("Contents", []))


def with_bad_rows(rows: int) -> bytes:
    """CSV with a bad value in part 0 and a malformed line in part 7 (100-row parts)."""
    buffer = io.BytesIO()
    pacsv.write_csv(table(rows), buffer)
    text = buffer.getvalue().decode().splitlines()
    text[50] = text[50].replace(text[50].split(",")[2], "oops")
    text[777] = "1,2"
    return ("\n".join(text) + "\n").encode()


def read_object(s3: S3Server, url: str) -> pa.Table:
    key = url.removeprefix(f"s3://{s3.bucket}/")
    body = boto3.client("s3", endpoint_url=s3.endpoint).get_object(Bucket=s3.bucket, Key=key)
    return pq.read_table(io.BytesIO(body["Body"].read()))


def test_a_job_reads_and_writes_s3_and_commits_by_one_object(
    linear: Artifact, s3_server: S3Server, tmp_path: Path
) -> None:
    base = s3_server.url().removeprefix(f"s3://{s3_server.bucket}/")
    source = upload(s3_server, f"{base}/in/data.csv", with_bad_rows(1000))
    (tmp_path / "data.csv").write_bytes(with_bad_rows(1000))
    registry = linear.path.parents[1]
    clean = run_local(ScoreJob("lin", tmp_path / "data.csv", tmp_path / "clean.parquet", registry))
    output = f"s3://{s3_server.bucket}/{base}/out/scored.parquet"
    job = ScoreJob.at("lin", source, output, registry=registry, batch_rows=100)
    result = run_local(job)
    assert (result.output, result.rejects) == (
        output,
        output.replace(".parquet", ".rejects.parquet"),
    )
    assert (result.rows_scored, result.rows_rejected) == (998, 2)
    assert read_output(output).equals(pq.read_table(clean.output))
    assert read_object(s3_server, str(result.rejects)).equals(pq.read_table(clean.rejects))
    stored = objects(s3_server, f"{base}/out/scored.parquet/")
    commit = json.loads(read_object_text(s3_server, f"{base}/out/scored.parquet/{COMMIT}"))
    assert stored == sorted([*commit["parts"], COMMIT]) and len(commit["parts"]) == 10
    assert (commit["scored"], commit["rejected"]) == (998, 2)


def read_object_text(s3: S3Server, key: str) -> str:
    body = boto3.client("s3", endpoint_url=s3.endpoint).get_object(Bucket=s3.bucket, Key=key)
    return str(body["Body"].read().decode())


def ferry_score(
    source: str, output: str, registry: str, **env: str
) -> subprocess.CompletedProcess[str]:
    args = ["score", "lin", "-i", source, "-o", output, "--registry", registry]
    return subprocess.run(
        [sys.executable, "-m", "ferry", *args, "--batch-rows", "100"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200", **env},
    )


@pytest.mark.slow
def test_a_killed_job_on_s3_resumes_and_equals_a_clean_run(
    linear: Artifact, s3_server: S3Server, tmp_path: Path
) -> None:
    """Registry, input and output all on S3; killed after 3 parts, then run again."""
    base = s3_server.url().removeprefix(f"s3://{s3_server.bucket}/")
    registry = Registry(f"s3://{s3_server.bucket}/{base}/registry", cache_dir=tmp_path / "c")
    copy_version(Registry(linear.path.parents[1]), "lin:1", registry)
    source = upload(s3_server, f"{base}/in.csv", with_bad_rows(1000))
    (tmp_path / "in.csv").write_bytes(with_bad_rows(1000))
    clean = run_local(
        ScoreJob("lin", tmp_path / "in.csv", tmp_path / "clean.parquet", linear.path.parents[1])
    )
    output = f"s3://{s3_server.bucket}/{base}/out.parquet"

    crashed = ferry_score(source, output, registry.url, **{CRASH_AFTER_PARTS: "3"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    left = objects(s3_server, f"{base}/out.parquet/")
    assert COMMIT not in left and len(left) == 3  # whole parts, no commit: nothing to read
    with pytest.raises(Exception, match="has not committed"):
        read_output(output)

    resumed = ferry_score(source, output, registry.url)
    assert resumed.returncode == 3, resumed.stderr[-2000:]  # 3: some rows were rejected
    assert "resumed after 3 parts" in resumed.stderr
    assert read_output(output).equals(pq.read_table(clean.output))
    rejects = read_object(s3_server, output.replace(".parquet", ".rejects.parquet"))
    assert rejects.equals(pq.read_table(clean.rejects))

    again = ferry_score(source, output, registry.url)  # committed: nothing left to do
    assert again.returncode == 3 and "resumed after 10 parts" in again.stderr, again.stderr
    assert len(objects(s3_server, f"{base}/out.parquet/")) == 11
