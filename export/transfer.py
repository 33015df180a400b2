"""Copy a published version into another registry, keeping its version id and files."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from export.errors import ExportError
from export.manifest import Manifest
from export.reference import check_name
from export.registry import Artifact, Registry


def copy_version(
    source: Registry, ref: str, target: Registry, alias: str | None = "production"
) -> Artifact:
    """Copy `ref` from `source` into `target` (verified first), then point `alias` at it there.

    The alias is checked first: a bad one must not leave a copied version behind."""
    if alias:
        check_name(alias)
    artifact = source.get(ref)
    name, version = artifact.manifest.name, artifact.manifest.version
    folder = target.root / name
    folder.mkdir(parents=True, exist_ok=True)
    destination = folder / version
    if destination.exists():
        existing = Manifest.read(destination)
        if existing.files != artifact.manifest.files:
            raise ExportError(f"{target.root} already has a different {name}:{version}")
    else:
        tmp = Path(tempfile.mkdtemp(prefix=f".copy-{version}-", dir=folder))
        try:
            for item in artifact.path.iterdir():
                shutil.copy2(item, tmp / item.name)
            Artifact(tmp, Manifest.read(tmp)).verify()
            tmp.rename(destination)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if alias:
        target.promote(name, version, alias, reason=f"copied from {source.root}")
    return target.get(f"{name}:{version}")
