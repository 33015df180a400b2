"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.s3 import S3Server, moto_server


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Versions read from remote registries go to a folder of the session, not ~/.cache."""
    saved = os.environ.get("FERRY_CACHE_DIR")
    os.environ["FERRY_CACHE_DIR"] = str(tmp_path_factory.mktemp("ferry-cache"))
    yield
    if saved is None:
        os.environ.pop("FERRY_CACHE_DIR", None)
    else:
        os.environ["FERRY_CACHE_DIR"] = saved


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real S3 endpoint (moto) for the session, reached through the standard AWS
    variables, which are set for this process and the processes it starts."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with moto_server(log) as server:
        saved = {k: os.environ.get(k) for k in [*server.env(), "AWS_PROFILE"]}
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(server.env())
        try:
            yield server
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
