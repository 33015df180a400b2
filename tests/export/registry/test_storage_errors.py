"""Bad registry locations: one clear error naming the URL and what to set or install."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.errors import ExportError, StorageError
from export.registry import Registry
from loadtests.servers import free_port
from tests.support.s3 import S3Server, moto_server


def test_an_unreachable_endpoint_is_named(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the standard setting: no retries here
    with pytest.raises(StorageError) as info:
        Registry("s3://ferry-tests/x").models()
    message = str(info.value)
    assert "s3://ferry-tests/x" in message and f"cannot reach the S3 endpoint {endpoint}" in message
    assert "AWS_ENDPOINT_URL" in message


def test_a_missing_bucket_is_named(s3_server: S3Server) -> None:
    with pytest.raises(StorageError, match="bucket 'no-such-bucket' does not exist at http"):
        Registry("s3://no-such-bucket/models").resolve("tabular")


@pytest.mark.slow
def test_refused_credentials_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store that checks credentials (moto with authentication on) refuses ours."""
    with moto_server(tmp_path / "moto.log", bucket=None, INITIAL_NO_AUTH_ACTION_COUNT="0") as s3:
        for key, value in s3.env().items():
            monkeypatch.setenv(key, value)
        with pytest.raises(StorageError) as info:
            Registry("s3://locked/models").models()
    message = str(info.value)
    assert "registry s3://locked/models: access denied" in message
    assert "AWS_ACCESS_KEY_ID" in message and "AWS_SECRET_ACCESS_KEY" in message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("gs://bucket/models", "needs gcsfs, which is not installed: pip install"),
        ("az://container/models", "needs adlfs, which is not installed"),
        ("nosuch://x/y", "unknown scheme 'nosuch'"),
        ("s3://", "names no bucket"),
    ],
)
def test_a_scheme_without_its_package_or_a_bad_url_is_named(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message) as info:
        Registry(url)
    assert url in str(info.value)


def test_a_file_url_is_a_local_folder(tmp_path: Path) -> None:
    registry = Registry(f"file://{tmp_path}/reg")
    assert registry.is_local and registry.root == tmp_path / "reg"
    with pytest.raises(ExportError, match="is not a local folder"):
        _ = Registry("memory://ferry-test-root").root


def test_the_command_prints_one_line_and_no_traceback(s3_server: S3Server) -> None:
    from typer.testing import CliRunner

    from ferry.cli import app

    result = CliRunner().invoke(app, ["models", "list", "--registry", "s3://no-such-bucket/m"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.strip().count("\n") == 0, result.output
    assert "error: registry s3://no-such-bucket/m: bucket 'no-such-bucket' does not exist" in (
        result.output
    )
