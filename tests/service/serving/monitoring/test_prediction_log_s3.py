"""The prediction log on an object store (a real S3 endpoint): whole files only, and a store
that refuses loses nothing until it accepts again."""

from __future__ import annotations

from pathlib import Path

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from export.logfiles import local_copy
from service.serving.monitoring import PredictionLogSettings
from service.serving.monitoring.predlog.files import LogFiles, staging_folder
from service.serving.monitoring.predlog.log import WRITTEN, PredictionLog
from tests.support.s3 import CREDENTIALS, S3Server

TABLE = pa.table({"request_id": ["a", "b"], "row": [0, 0], "x": [1.5, 2.5]})


def objects(s3: S3Server, bucket: str, prefix: str) -> list[str]:
    client = _client(s3)
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def _client(s3: S3Server):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    )


def staged(url: str) -> list[Path]:
    return sorted(staging_folder(url).rglob("*.parquet"))


def test_requests_are_logged_as_whole_objects(s3_server: S3Server, tmp_path: Path) -> None:
    url = s3_server.url()
    log = PredictionLog(PredictionLogSettings(prediction_log_dir=url))
    rows = np.arange(6, dtype=np.float32).reshape(3, 2)
    log.offer("r-1", "tab", "1", {"x": rows[:1]}, {"p": rows[:1]}, ("a", "b"))
    log.offer("r-2", "tab", "1", {"x": rows[1:]}, {"p": rows[1:]}, ("a", "b"))
    log.close()
    assert log.counts[WRITTEN] == 2 and log.status()["waiting_for_store"] == ""
    prefix = url.split("/", 3)[3]
    [key] = objects(s3_server, s3_server.bucket, prefix)
    assert key.startswith(f"{prefix}/tab/1/") and key.endswith(".parquet")
    assert staged(url) == []  # sent, then removed from the staging folder
    folder = local_copy(url, "tab", tmp_path / "copy")
    [path] = sorted(folder.rglob("*.parquet"))
    table = pq.read_table(path).to_pydict()
    assert table["request_id"] == ["r-1", "r-2", "r-2"] and table["row"] == [0, 0, 1]
    assert table["a"] == [0.0, 2.0, 4.0] and table["b"] == [1.0, 3.0, 5.0]


def test_a_store_that_refuses_keeps_the_files_until_it_accepts(s3_server: S3Server) -> None:
    bucket = "log-later-1"
    url = f"s3://{bucket}/log"
    files = LogFiles(url, file_rows=100, file_s=3600, max_bytes=1 << 20)
    assert files.write("tab", "1", TABLE, records=2) == 0
    assert files.close() == 0  # closed, but the bucket is not there: nothing counts yet
    assert f"1 file(s) wait for {url}" in files.unsent and bucket in files.unsent
    [waiting] = staged(url)
    _client(s3_server).create_bucket(Bucket=bucket)
    assert files.rotate() == 2 and files.unsent == ""
    [key] = objects(s3_server, bucket, "log/")
    assert key == f"log/tab/1/{waiting.name}" and not waiting.exists()


def test_a_later_process_sends_what_an_earlier_one_left(s3_server: S3Server) -> None:
    bucket = "log-later-2"
    url = f"s3://{bucket}/log"
    first = LogFiles(url, file_rows=100, file_s=3600, max_bytes=1 << 20)
    first.write("tab", "1", TABLE, records=2)
    assert first.close() == 0 and len(staged(url)) == 1
    _client(s3_server).create_bucket(Bucket=bucket)
    second = LogFiles(url, file_rows=100, file_s=3600, max_bytes=1 << 20)
    assert second.rotate() == 0  # sent; its records were never counted here
    assert len(objects(s3_server, bucket, "log/tab/1/")) == 1 and staged(url) == []
