"""A real S3 endpoint on 127.0.0.1 for tests and benchmarks: moto's standalone server
(`moto[server]`, a dev dependency) on a free port, with every request it answers counted
from its access log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loadtests.servers import free_port

BUCKET = "ferry-tests"
#: Credentials moto accepts; real ones never reach it.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


#: moto's access log: `127.0.0.1 - - [date] "GET /bucket/key?query HTTP/1.1" 304 -`
COLOURS = re.compile(r"\x1b\[[0-9;]*m")
REQUEST = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


@dataclass(frozen=True)
class Request:
    """One request the server logged."""

    method: str
    path: str
    status: int


@dataclass(frozen=True)
class S3Server:
    """A running moto server: its endpoint, a bucket made for the tests, and its log,
    where every request it answered is counted."""

    endpoint: str
    bucket: str
    process: subprocess.Popen[bytes]
    log: Path

    def mark(self) -> int:
        """A point in the request log; `requests_since` counts from there."""
        return self.log.stat().st_size

    def requests_since(self, mark: int, settle: float = 0.3, limit: float = 10.0) -> list[Request]:
        """The requests logged after `mark`, once the log has not grown for `settle` s."""
        deadline = time.monotonic() + limit
        size = -1
        while size != self.log.stat().st_size and time.monotonic() < deadline:
            size = self.log.stat().st_size
            time.sleep(settle)
        with self.log.open("rb") as handle:
            handle.seek(mark)
            text = COLOURS.sub("", handle.read().decode(errors="replace"))
        return [Request(m["method"], m["path"], int(m["status"])) for m in REQUEST.finditer(text)]

    def env(self) -> dict[str, str]:
        """What a process needs to reach it through the standard AWS variables."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def url(self, name: str = "") -> str:
        """A fresh `s3://` prefix in the test bucket."""
        return f"s3://{self.bucket}/{name or uuid.uuid4().hex[:12]}"


@contextmanager
def moto_server(log: Path, bucket: str | None = BUCKET, **env: str) -> Iterator[S3Server]:
    """Start `moto_server -H 127.0.0.1 -p PORT`, wait until it answers, stop it afterwards."""
    import boto3

    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **CREDENTIALS, **env},
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("s3", endpoint_url=endpoint, **_boto_credentials())
        deadline = time.monotonic() + 60
        while True:
            try:
                client.list_buckets()
                break
            except client.exceptions.ClientError:
                break  # it answered (a store checking credentials refuses ours)
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start: {log.read_text()}") from None
                time.sleep(0.1)
        if bucket:
            client.create_bucket(Bucket=bucket)
        yield S3Server(endpoint, bucket or "", process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }
