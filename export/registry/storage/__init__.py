"""Where a registry keeps its objects: a local folder, or object storage through fsspec.

`open_storage` is the one place a registry location is parsed: a path or `file://...`
is a local folder; `s3://bucket/prefix` is S3 or an S3-compatible store (s3fs); any other
scheme goes to fsspec (untested). Only `export.registry` uses a storage.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from export.errors import StorageError
from export.registry.storage.base import (
    NOT_MODIFIED,
    Changed,
    Entry,
    Exists,
    Listing,
    Precondition,
    Storage,
    Tagged,
)
from export.registry.storage.local import LocalStorage

__all__ = [
    "NOT_MODIFIED",
    "Changed",
    "Entry",
    "Exists",
    "Listing",
    "LocalStorage",
    "Precondition",
    "Storage",
    "Tagged",
    "open_storage",
]

#: The package each tested scheme needs, for the message when it is missing.
PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
}


def open_storage(location: str | Path) -> Storage:
    """The store at `location`: a folder path, `file://PATH`, `s3://BUCKET[/PREFIX]`, or
    another fsspec URL. Raises `StorageError` naming the URL and what to install or set."""
    if isinstance(location, Path):
        return LocalStorage(location)
    text = str(location).strip()
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if not scheme:
        return LocalStorage(text or ".")
    if scheme == "file":
        return LocalStorage(urlsplit(text).path or "/")
    rest = text.split("://", 1)[1].strip("/")
    if not rest:
        raise StorageError(f"registry URL {text!r} names no bucket: use {scheme}://BUCKET[/PREFIX]")
    if scheme in ("s3", "s3a"):
        return _s3(text, rest)
    return _fsspec(text, scheme, rest)


def _s3(url: str, rest: str) -> Storage:
    from export.registry.storage.s3 import S3Storage, s3_filesystem

    try:
        return S3Storage(url, s3_filesystem(), rest)
    except ImportError as err:
        raise _missing_package(url, "s3fs") from err


def _fsspec(url: str, scheme: str, rest: str) -> Storage:
    try:
        import fsspec
    except ImportError as err:
        raise _missing_package(url, "fsspec") from err
    try:
        cls = fsspec.get_filesystem_class(scheme)
        fs = cls(skip_instance_cache=True)
    except ImportError as err:
        raise _missing_package(
            url, PACKAGES.get(scheme, f"the fsspec package for {scheme}://")
        ) from err
    except ValueError as err:
        raise StorageError(
            f"registry URL {url!r}: unknown scheme {scheme!r}; use a folder path, file://, "
            "s3://, or another fsspec scheme"
        ) from err
    from export.registry.storage.fsspec import FsspecStorage

    return FsspecStorage(url, fs, rest)


def _missing_package(url: str, package: str) -> StorageError:
    return StorageError(
        f"registry URL {url!r} needs {package}, which is not installed: "
        f"pip install 'ferry[serve]' (or pip install {package})"
    )
