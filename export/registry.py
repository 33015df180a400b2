"""The artifact store: immutable versions, movable aliases, an append-only history.

Layout (`<root>` is a local folder):

    <root>/<model>/<version>/model.onnx
    <root>/<model>/<version>/manifest.json
    <root>/<model>/aliases.json      {"production": "3", "staging": "4"}
    <root>/<model>/history.jsonl     one JSON event per line, never rewritten

Publishing writes into a hidden draft folder and renames it into place, so a
reader sees a whole version or none. Alias files are replaced atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from export.errors import ExportError, ManifestError, ModelNotFound
from export.manifest import MODEL_FILE, Manifest, atomic_write_text
from export.reference import Reference, check_name

PRODUCTION = "production"
ALIASES = "aliases.json"
HISTORY = "history.jsonl"


@dataclass(frozen=True)
class Artifact:
    """One published version on disk with its manifest."""

    path: Path
    manifest: Manifest

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    def verify(self) -> None:
        self.manifest.verify_files(self.path)


@dataclass(frozen=True)
class Draft:
    """A version being written; it becomes visible only when the draft commits."""

    name: str
    version: str
    path: Path


class Registry:
    """A registry rooted at a local folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # --- reading -------------------------------------------------------------
    def models(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def versions(self, name: str) -> list[str]:
        folder = self.root / check_name(name)
        if not folder.is_dir():
            return []
        found = [p.name for p in folder.iterdir() if p.is_dir() and (p / "manifest.json").is_file()]
        return sorted(found, key=_version_key)

    def aliases(self, name: str) -> dict[str, str]:
        path = self.root / check_name(name) / ALIASES
        if not path.is_file():
            return {}
        data = json.loads(path.read_text())
        return {str(k): str(v) for k, v in data.items()}

    def resolve(self, ref: str | Reference) -> tuple[str, str]:
        """Return (name, version). A bare name means `production`, else the latest version."""
        ref = Reference.parse(ref) if isinstance(ref, str) else ref
        versions = self.versions(ref.name)
        if not versions:
            known = ", ".join(self.models()) or "none"
            raise ModelNotFound(f"model {ref.name!r} not found in {self.root} (models: {known})")
        if ref.version is not None:
            if ref.version not in versions:
                raise ModelNotFound(
                    f"version {ref.version!r} of model {ref.name!r} not found (versions: "
                    f"{', '.join(versions)})"
                )
            return ref.name, ref.version
        aliases = self.aliases(ref.name)
        if ref.alias is not None:
            if ref.alias not in aliases:
                raise ModelNotFound(
                    f"alias {ref.alias!r} of model {ref.name!r} not found (aliases: "
                    f"{', '.join(sorted(aliases)) or 'none'})"
                )
            return ref.name, aliases[ref.alias]
        return ref.name, aliases.get(PRODUCTION, versions[-1])

    def get(self, ref: str | Reference, verify: bool = True) -> Artifact:
        """Open a version; with `verify`, check the sha256 of every file first."""
        name, version = self.resolve(ref)
        folder = self.root / name / version
        manifest = Manifest.read(folder)
        if (manifest.name, manifest.version) != (name, version):
            raise ManifestError(
                f"{folder} holds a manifest for {manifest.name}:{manifest.version}, "
                f"expected {name}:{version}"
            )
        artifact = Artifact(folder, manifest)
        if verify:
            artifact.verify()
        return artifact

    def history(self, name: str) -> list[dict[str, Any]]:
        path = self.root / check_name(name) / HISTORY
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    # --- writing -------------------------------------------------------------
    @contextlib.contextmanager
    def draft(self, name: str) -> Iterator[Draft]:
        """Reserve the next version; commit it by renaming when the block ends cleanly."""
        folder = self.root / check_name(name)
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock(name):
            taken = [int(v) for v in self._all_version_dirs(name) if v.isdigit()]
            version = str(max(taken, default=0) + 1)
            tmp = Path(tempfile.mkdtemp(prefix=f".draft-{version}-", dir=folder))
            try:
                yield Draft(name, version, tmp)
                manifest = Manifest.read(tmp)
                if (manifest.name, manifest.version) != (name, version):
                    found = f"{manifest.name}:{manifest.version}"
                    raise ManifestError(f"draft {name}:{version} holds a manifest for {found}")
                Artifact(tmp, manifest).verify()
                tmp.rename(folder / version)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            self._record(name, {"event": "publish", "version": version})

    def promote(
        self, name: str, version: str, alias: str = PRODUCTION, reason: str = ""
    ) -> str | None:
        """Point `alias` at `version`; return the version it pointed to before."""
        check_name(alias)
        if version not in self.versions(name):
            raise ModelNotFound(f"version {version!r} of model {name!r} not found")
        with self._lock(name):
            aliases = self.aliases(name)
            previous = aliases.get(alias)
            aliases[alias] = version
            self._write_aliases(name, aliases)
            self._record(
                name,
                {
                    "event": "promote",
                    "alias": alias,
                    "version": version,
                    "previous": previous,
                    "reason": reason,
                },
            )
        return previous

    def rollback(self, name: str, alias: str = PRODUCTION, reason: str = "") -> str:
        """Move `alias` back to the version it pointed to before its last move."""
        with self._lock(name):
            lineage = alias_lineage(self.history(name), alias)
            current = self.aliases(name).get(alias)
            if len(lineage) < 2 or lineage[-1] != current:
                raise ExportError(
                    f"model {name!r}: alias {alias!r} has no earlier version to roll back to"
                )
            target = lineage[-2]
            aliases = self.aliases(name)
            aliases[alias] = target
            self._write_aliases(name, aliases)
            self._record(
                name,
                {
                    "event": "rollback",
                    "alias": alias,
                    "version": target,
                    "previous": current,
                    "reason": reason,
                },
            )
        return target

    # --- internals -----------------------------------------------------------
    def _all_version_dirs(self, name: str) -> list[str]:
        folder = self.root / name
        return [p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]

    def _write_aliases(self, name: str, aliases: dict[str, str]) -> None:
        text = json.dumps(dict(sorted(aliases.items())), indent=2) + "\n"
        atomic_write_text(self.root / name / ALIASES, text)

    def _record(self, name: str, event: dict[str, Any]) -> None:
        event = {"at": datetime.now(UTC).isoformat(timespec="seconds"), **event}
        with (self.root / name / HISTORY).open("a") as handle:
            handle.write(json.dumps(event, sort_keys=True) + "\n")

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        path = self.root / name / ".lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def alias_lineage(history: list[dict[str, Any]], alias: str) -> list[str]:
    """The versions `alias` has pointed to, oldest first, with rolled-back moves undone."""
    stack: list[str] = []
    for event in history:
        if event.get("alias") != alias:
            continue
        if event["event"] == "promote" and (not stack or stack[-1] != event["version"]):
            stack.append(event["version"])
        elif event["event"] == "rollback" and stack:
            stack.pop()
    return stack


def _version_key(version: str) -> tuple[int, int | str]:
    return (0, int(version)) if version.isdigit() else (1, version)
