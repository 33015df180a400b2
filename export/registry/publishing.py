"""Publishing a version whole, on a store without rename.

1. Claim the version: create `<model>/<version>/.claim` (If-None-Match), the next free
   number for a new version. Two publishers never hold the same number, and the claim
   stays with the version, so a number is never handed out twice.
2. The caller writes the files into a local draft folder, manifest included.
3. Check the draft (names, every file's sha256), check the claim is still ours, store
   each file the manifest lists, then create `<model>/<version>/manifest.json`
   (If-None-Match): the version exists from that write on, and readers ignore a version
   folder without a manifest.

A publish killed anywhere before step 3's last write leaves a claim and some files that
no reader lists; `Registry.gc` removes them once older than a given age.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from export.errors import ExportError, ManifestError
from export.manifest import MANIFEST, Manifest
from export.registry import layout
from export.registry.artifact import Artifact, Draft
from export.registry.storage import Exists, Storage
from export.registry.streams import now

#: Numbers tried past the highest one listed before giving up (racing publishers).
ATTEMPTS = 100


@contextlib.contextmanager
def draft(
    storage: Storage, name: str, published: Callable[[Draft, bytes], None] | None = None
) -> Iterator[Draft]:
    """Claim the next version of `name`; publish the draft folder when the block ends cleanly.
    `published(draft, manifest)` sees the draft's files once they are stored."""
    version, claim = _claim_next(storage, name)
    folder = storage.scratch(name)
    done = False
    try:
        yield (made := Draft(name, version, folder))
        manifest = Manifest.read(folder)
        if (manifest.name, manifest.version) != (name, version):
            found = f"{manifest.name}:{manifest.version}"
            raise ManifestError(f"draft {name}:{version} holds a manifest for {found}")
        Artifact(folder, manifest).verify()
        _check_claim(storage, name, version, claim)
        store_files(storage, name, version, folder, manifest, move=True)
        done = True
        if published is not None:
            published(made, (folder / MANIFEST).read_bytes())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if not done and not storage.exists_many([layout.manifest(name, version)]):
            storage.delete_tree(layout.version(name, version))


def adopt(storage: Storage, artifact: Artifact) -> bool:
    """Store `artifact` (a verified local folder) under its own name and version.

    Returns False when the same version with the same files is there already; raises
    `ExportError` if a different one is, or another publish holds the number."""
    name, version = artifact.manifest.name, artifact.manifest.version
    if _same_or_clash(storage, artifact):
        return False
    try:
        claim = _claim(storage, name, version)
    except Exists:
        if _same_or_clash(storage, artifact):
            return False
        raise ExportError(
            f"{storage.describe(layout.version(name, version))} is being published by another "
            "process, or was left by a killed one (`ferry models gc` removes it)"
        ) from None
    try:
        if _same_or_clash(storage, artifact):  # a version of an older layout, without claim
            return False
        _check_claim(storage, name, version, claim)
        store_files(storage, name, version, artifact.path, artifact.manifest, move=False)
    except BaseException:
        if not storage.exists_many([layout.manifest(name, version)]):
            storage.delete_tree(layout.version(name, version))
        raise
    return True


def store_files(
    storage: Storage, name: str, version: str, folder: Path, manifest: Manifest, move: bool
) -> None:
    """Every listed file, then the manifest: the write that makes the version exist."""
    for file_name in manifest.files:
        key = layout.version_file(name, version, file_name)
        storage.put_file(key, folder / file_name, move=move)
    try:
        storage.create(layout.manifest(name, version), (folder / MANIFEST).read_bytes())
    except Exists:
        raise ExportError(f"{storage.describe(layout.version(name, version))} exists") from None


def _claim_next(storage: Storage, name: str) -> tuple[str, bytes]:
    taken = [int(d) for d in storage.listing(name).dirs if d.isdigit()]
    number = max(taken, default=0) + 1
    for candidate in map(str, range(number, number + ATTEMPTS)):
        try:
            return candidate, _claim(storage, name, candidate)
        except Exists:
            continue
    raise ExportError(f"model {name!r}: no free version number after {ATTEMPTS} tries")


def _claim(storage: Storage, name: str, version: str) -> bytes:
    body = json.dumps(
        {"owner": uuid.uuid4().hex, "pid": os.getpid(), "host": socket.gethostname(), "at": now()}
    ).encode()
    storage.create(layout.claim(name, version), body)
    return body


def _check_claim(storage: Storage, name: str, version: str, claim: bytes) -> None:
    """Refuse to write files a garbage collection no longer reserves for us."""
    found = storage.read(layout.claim(name, version))
    if found is None or found.data != claim:
        raise ExportError(
            f"{storage.describe(layout.version(name, version))}: this publish's claim was removed "
            "(by `ferry models gc` with an age shorter than the publish?); not publishing"
        )


def _same_or_clash(storage: Storage, artifact: Artifact) -> bool:
    """True if the store has this version with the same files; raise if different ones."""
    name, version = artifact.manifest.name, artifact.manifest.version
    found = storage.read(layout.manifest(name, version))
    if found is None:
        return False
    try:
        existing = Manifest.from_dict(json.loads(found.data))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(f"{storage.describe(layout.manifest(name, version))}: {err}") from err
    if existing.files != artifact.manifest.files:
        raise ExportError(f"{storage.url} already has a different {name}:{version}")
    return True
