"""What the registry hands out: a published version as a local folder, and a draft."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from export.manifest import MODEL_FILE, Manifest


@dataclass(frozen=True)
class Artifact:
    """One published version in a local folder (in place, or in the cache of a remote
    registry) with its manifest. `verified`: every file's sha256 was checked already."""

    path: Path
    manifest: Manifest
    verified: bool = False

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    def verify(self) -> None:
        """Raise `IntegrityError` unless every file has the sha256 its manifest lists."""
        if not self.verified:
            self.manifest.verify_files(self.path)


@dataclass(frozen=True)
class Draft:
    """A version being written in a local folder; it is published when the draft commits."""

    name: str
    version: str
    path: Path
