"""The artifact store: immutable versions, movable aliases, an append-only history.

Layout (`<root>` is a local folder):

    <root>/<model>/<version>/model.onnx
    <root>/<model>/<version>/manifest.json
    <root>/<model>/aliases.json      {"production": "3", "staging": "4"}
    <root>/<model>/history.jsonl     one JSON event per line, never rewritten
    <root>/<model>/audit.jsonl       retraining decisions, one JSON object per line
    <root>/<model>/benchmarks.jsonl  benchmark figures per version, one JSON object per line

Publishing writes into a hidden draft folder and renames it into place, so a
reader sees a whole version or none. Alias files are replaced atomically.
Draft folders left by a killed process are removed by the next draft.

Two locks, both `fcntl.flock` on files in the model folder: `.lock` (blocking,
held for a publish or an alias move) and `.<job>.lock` (non-blocking, held by a
long job such as a retrain for its whole run; a second one is refused at once).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from export.errors import ExportError, Locked, ManifestError, ModelNotFound
from export.manifest import MODEL_FILE, Manifest, atomic_write_text
from export.reference import Reference, check_name

PRODUCTION = "production"
ALIASES = "aliases.json"
HISTORY = "history.jsonl"
AUDIT = "audit.jsonl"
BENCHMARKS = "benchmarks.jsonl"
DRAFT_PREFIX = ".draft-"


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
        """Publishes and alias moves, oldest first."""
        return _read_jsonl(self.root / check_name(name) / HISTORY)

    def audit(self, name: str) -> list[dict[str, Any]]:
        """Retraining decisions, oldest first (see `append_audit`)."""
        return _read_jsonl(self.root / check_name(name) / AUDIT)

    def benchmarks(self, name: str) -> list[dict[str, Any]]:
        """Benchmark figures recorded for the model's versions, oldest first."""
        return _read_jsonl(self.root / check_name(name) / BENCHMARKS)

    def drafts(self, name: str) -> list[Path]:
        """Draft folders present now: in use by a publish, or left behind by a killed one."""
        folder = self.root / check_name(name)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.name.startswith(DRAFT_PREFIX))

    def lock_holder(self, name: str, job: str) -> int | None:
        """The pid holding `job`'s lock on `name` (0 if unknown), or None when it is free."""
        try:
            with self.exclusive(name, job):
                return None
        except Locked as err:
            return err.pid

    # --- writing -------------------------------------------------------------
    @contextlib.contextmanager
    def draft(self, name: str) -> Iterator[Draft]:
        """Reserve the next version; commit it by renaming when the block ends cleanly."""
        folder = self.root / check_name(name)
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock(name):
            taken = [int(v) for v in self._all_version_dirs(name) if v.isdigit()]
            version = str(max(taken, default=0) + 1)
            for stale in self.drafts(name):  # we hold the lock, so no draft is in use
                shutil.rmtree(stale, ignore_errors=True)
            tmp = Path(tempfile.mkdtemp(prefix=f"{DRAFT_PREFIX}{version}-", dir=folder))
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
        self,
        name: str,
        version: str,
        alias: str = PRODUCTION,
        reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> str | None:
        """Point `alias` at `version`; return the version it pointed to before.

        `details` (JSON values) are added to the history event, e.g. the id of the
        retraining decision that moved the alias."""
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
                    **(details or {}),
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

    def append_audit(self, name: str, entry: dict[str, Any]) -> None:
        """Append one decision to `<root>/<name>/audit.jsonl` and fsync it.

        The file is append-only: entries are never rewritten. A line torn by a crash
        mid-write is skipped by `audit` and closed off before the next entry."""
        with self._lock(name):
            _append_jsonl(self.root / check_name(name) / AUDIT, {"at": _now(), **entry})

    def append_benchmark(self, name: str, entry: dict[str, Any]) -> None:
        """Append one benchmark's figures (with the `version` measured) to
        `<root>/<name>/benchmarks.jsonl`, append-only like `append_audit`."""
        if "version" not in entry:
            raise ExportError(f"benchmark figures for model {name!r} name no version: {entry}")
        self.resolve(f"{name}:{entry['version']}")  # figures only for a version that exists
        with self._lock(name):
            _append_jsonl(self.root / check_name(name) / BENCHMARKS, {"at": _now(), **entry})

    @contextlib.contextmanager
    def exclusive(self, name: str, job: str) -> Iterator[Path]:
        """Hold `<root>/<name>/.<job>.lock` for the block, or raise `Locked` at once.

        The holder's pid is written into the file so the refusal can name it. The
        kernel drops the lock when the holder exits, however it exits."""
        path = self.root / check_name(name) / f".{check_name(job)}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _read_pid(path)
                holder = f"pid {pid}" if pid else "another process"
                raise Locked(
                    f"model {name!r}: another {job} is running ({holder} holds the lock "
                    f"{path}); not starting a second one",
                    path=path,
                    pid=pid,
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            try:
                yield path
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # --- internals -----------------------------------------------------------
    def _all_version_dirs(self, name: str) -> list[str]:
        folder = self.root / name
        return [p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]

    def _write_aliases(self, name: str, aliases: dict[str, str]) -> None:
        text = json.dumps(dict(sorted(aliases.items())), indent=2) + "\n"
        atomic_write_text(self.root / name / ALIASES, text)

    def _record(self, name: str, event: dict[str, Any]) -> None:
        _append_jsonl(self.root / name / HISTORY, {"at": _now(), **event})

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


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    events = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-append; the appender starts a new line
    return events


def _append_jsonl(path: Path, event: dict[str, Any]) -> None:
    """Append one line and fsync; a line torn by an earlier crash is ended first."""
    with path.open("ab+") as handle:  # appends go to the end whatever we read first
        torn = False
        if handle.seek(0, os.SEEK_END) > 0:
            handle.seek(-1, os.SEEK_END)
            torn = handle.read(1) != b"\n"
        line = json.dumps(event, sort_keys=True) + "\n"
        handle.write((("\n" if torn else "") + line).encode())
        handle.flush()
        os.fsync(handle.fileno())


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _version_key(version: str) -> tuple[int, int | str]:
    return (0, int(version)) if version.isdigit() else (1, version)
