"""Every registry test runs on both stores: a local folder and S3 (a real moto server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.registry import Registry
from tests.support.s3 import S3Server

BACKENDS = ("local", "s3")


@pytest.fixture(params=BACKENDS)
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty registry location on each backend."""
    if request.param == "local":
        return str(tmp_path / "reg")
    return str(request.getfixturevalue("s3_server").url())


@pytest.fixture
def registry(registry_url: str, tmp_path: Path) -> Registry:
    return Registry(registry_url, cache_dir=tmp_path / "cache", lease_ttl=3.0)


@pytest.fixture
def s3_registry(s3_server: S3Server, tmp_path: Path) -> Registry:
    """For what only object storage has (leases, a cache)."""
    return Registry(s3_server.url(), cache_dir=tmp_path / "cache", lease_ttl=3.0)
