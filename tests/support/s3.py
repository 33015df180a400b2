"""The moto S3 server the tests share (it lives in loadtests, which the benchmarks use too)."""

from __future__ import annotations

from loadtests.s3server import BUCKET, CREDENTIALS, Request, S3Server, moto_server

__all__ = ["BUCKET", "CREDENTIALS", "Request", "S3Server", "moto_server"]
