"""A local, content-addressed copy of versions read from a remote registry.

    <cache>/blobs/<sha256>                               each file once, checked when fetched
    <cache>/versions/<registry id>/<model>/<version>/    hard links to the blobs + manifest.json

A file is downloaded once per node: a second version holding the same bytes, a
restart, or a second process sharing the cache finds the blob and links it. Its sha256
is checked once, when it is downloaded; a version folder is assembled aside and renamed
into place with its manifest, so a folder that exists is whole. The cache folder is
`$FERRY_CACHE_DIR`, else `$XDG_CACHE_HOME/ferry`, else `~/.cache/ferry`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from export.errors import IntegrityError, ManifestError
from export.manifest import MANIFEST, Manifest, sha256_file
from export.registry import layout
from export.registry.storage import Storage

CACHE_ENV = "FERRY_CACHE_DIR"


def default_cache_dir() -> Path:
    """Where remote versions are kept on this node."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ferry"


class Cache:
    """Versions of remote registries as local folders."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, storage: Storage, name: str, version: str) -> Path:
        ident = hashlib.sha256(storage.url.encode()).hexdigest()[:16]
        return self.root / "versions" / ident / name / version

    def cached(self, storage: Storage, name: str, version: str) -> tuple[Path, bytes] | None:
        """The folder and manifest of `name:version` if a whole copy is here. Versions never
        change once published, so a copy found needs no request to the store."""
        folder = self.folder(storage, name, version)
        try:
            return folder, (folder / MANIFEST).read_bytes()
        except OSError:
            return None

    def version(
        self,
        storage: Storage,
        name: str,
        version: str,
        manifest: bytes,
        source: Path | None = None,
    ) -> Path:
        """The local folder of `name:version`, fetched unless already here; `source`, a
        local folder holding the same files (a publish's draft), spares the download."""
        folder = self.folder(storage, name, version)
        with contextlib.suppress(OSError):
            if (folder / MANIFEST).read_bytes() == manifest:
                return folder
        parsed = Manifest.from_dict(_json(manifest))
        staged = Path(tempfile.mkdtemp(prefix=".staged-", dir=_dirs(folder.parent)))
        try:
            for file_name, sha in parsed.files.items():
                key = layout.version_file(name, version, file_name)
                local = source / file_name if source is not None else None
                _link(self.blob(storage, key, sha, local), staged / file_name)
            (staged / MANIFEST).write_bytes(manifest)
            for path in (staged, *staged.iterdir()):
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
            shutil.rmtree(folder, ignore_errors=True)  # an older copy under the same id
            with contextlib.suppress(OSError):  # another process placed it first: same bytes
                staged.rename(folder)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
        return folder

    def blob(self, storage: Storage, key: str, sha256: str, local: Path | None = None) -> Path:
        """The file stored at `key`, by its sha256: downloaded (or copied from `local`)
        and checked if missing."""
        blobs = _dirs(self.root / "blobs")
        path = blobs / sha256
        if path.is_file():
            return path
        tmp = blobs / f".{sha256}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            if local is not None and local.is_file():
                shutil.copyfile(local, tmp)
            else:
                storage.get_file(key, tmp)
            actual = sha256_file(tmp)
            if actual != sha256:
                raise IntegrityError(
                    f"{storage.describe(key)}: sha256 is {actual}, the manifest says {sha256}; "
                    "refusing to load a modified artifact"
                )
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path


def _link(blob: Path, target: Path) -> None:
    try:
        os.link(blob, target)
    except OSError:  # another file system, or no hard links: a copy
        shutil.copyfile(blob, target)


def _dirs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _json(data: bytes) -> dict[str, object]:
    import json

    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(f"manifest is not valid JSON: {err}") from err
    if not isinstance(parsed, dict):
        raise ManifestError("manifest is not a JSON object")
    return parsed
