"""Copy a published version into another registry, keeping its version id and files."""

from __future__ import annotations

from export.reference import check_name
from export.registry import Artifact, Registry


def copy_version(
    source: Registry, ref: str, target: Registry, alias: str | None = "production"
) -> Artifact:
    """Copy `ref` from `source` into `target` (verified first), then point `alias` at it there."""
    if alias:
        check_name(alias)  # before anything is copied
    artifact = source.get(ref)
    name, version = artifact.manifest.name, artifact.manifest.version
    target.adopt(artifact)
    if alias:
        target.promote(name, version, alias, reason=f"copied from {source.url}")
    return target.get(f"{name}:{version}")
