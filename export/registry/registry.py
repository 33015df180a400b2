"""`Registry`: the artifact store's one interface; nothing else touches its storage."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from export.errors import ExportError, Locked, ManifestError, ModelNotFound
from export.manifest import Manifest
from export.reference import NAME, Reference, check_name
from export.registry import layout, publishing, sweeping
from export.registry.aliases import UNSET, Aliases, AliasState, Expect, promote_to, roll_back
from export.registry.artifact import Artifact, Draft
from export.registry.cache import Cache, default_cache_dir
from export.registry.rollouts import (
    Rollout,
    canary_plan,
    check_fraction,
    check_weight,
    shadow_plan,
)
from export.registry.storage import Storage, open_storage
from export.registry.streams import Document, Stream

PRODUCTION = "production"
HISTORY = "history"
AUDIT = "audit"
BENCHMARKS = "benchmarks"
#: Seconds a long-job lease on object storage lives without a heartbeat.
LEASE_TTL = 60.0


class Registry:
    """A registry at a folder path, `file://…`, `s3://bucket/prefix` or another fsspec URL.

    Remote versions are opened from a local cache (`cache_dir`, default
    `$FERRY_CACHE_DIR` or `~/.cache/ferry`); local ones in place."""

    def __init__(
        self,
        location: str | Path | Storage,
        *,
        cache_dir: Path | None = None,
        lease_ttl: float = LEASE_TTL,
    ) -> None:
        self.storage = location if isinstance(location, Storage) else open_storage(location)
        self.url = self.storage.url
        self.cache_dir = cache_dir
        self.lease_ttl = lease_ttl
        self._polled: dict[str, AliasState] = {}

    @classmethod
    def open(cls, location: str | Path, **options: Any) -> Registry:
        """The registry at `location` (see the class)."""
        return cls(location, **options)

    @property
    def root(self) -> Path:
        """The folder of a local registry (raises for a remote one)."""
        if self.storage.local_root is None:
            raise ExportError(f"registry {self.url} is not a local folder")
        return self.storage.local_root

    @property
    def is_local(self) -> bool:
        return self.storage.local_root is not None

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    # --- reading -------------------------------------------------------------
    def models(self) -> list[str]:
        """Models with at least one version; anything else in the root is ignored."""
        return [m for m in self.model_names() if self.versions(m)]

    def model_names(self) -> list[str]:
        """Folders in the root that can be models (one listing; versions unchecked)."""
        return _names(self.storage.listing("").dirs)

    def versions(self, name: str) -> list[str]:
        """Published versions of `name` (those with a manifest), oldest first."""
        candidates = _names(self.storage.listing(check_name(name)).dirs)
        present = self.storage.exists_many(layout.manifest(name, v) for v in candidates)
        found = [v for v in candidates if layout.manifest(name, v) in present]
        return sorted(found, key=_version_key)

    def aliases(self, name: str) -> dict[str, str]:
        return dict(self.alias_state(name).aliases)

    def alias_state(self, name: str) -> AliasState:
        """The aliases of `name` with their revision (one read of one small object)."""
        return self._aliases(name).read()

    def poll(self, name: str) -> AliasState:
        """The aliases of `name` for a process that follows them: after the first read, one
        small conditional read that returns the same state while nothing moved."""
        state = self._aliases(name).read_if_changed(self._polled.get(name))
        self._polled[name] = state
        return state

    def resolve(self, ref: str | Reference) -> tuple[str, str]:
        """Return (name, version). A bare name means `production`, else the latest version."""
        ref = Reference.parse(ref) if isinstance(ref, str) else ref
        if ref.version is not None:
            if not self._published(ref.name, ref.version):
                raise self._no_version(ref.name, ref.version)
            return ref.name, ref.version
        aliases = self.aliases(ref.name)
        wanted = ref.alias or PRODUCTION
        if wanted in aliases:
            return ref.name, aliases[wanted]
        versions = self.versions(ref.name)
        if not versions:
            raise self._no_model(ref.name)
        if ref.alias is not None:
            raise ModelNotFound(
                f"alias {ref.alias!r} of model {ref.name!r} not found (aliases: "
                f"{', '.join(sorted(aliases)) or 'none'})"
            )
        return ref.name, versions[-1]

    def manifest(self, name: str, version: str) -> Manifest:
        """The manifest of a published version, without fetching or checking its files."""
        found = self.storage.read(layout.manifest(check_name(name), check_name(version)))
        if found is None:
            raise self._no_version(name, version)
        return _manifest(found.data, self.storage.describe(layout.manifest(name, version)))

    def get(self, ref: str | Reference, verify: bool = True) -> Artifact:
        """Open a version as a local folder; with `verify`, every file's sha256 is checked
        (a remote version is checked once, when its files enter the cache; `name:version`
        found in the cache is opened without asking the store)."""
        parsed = Reference.parse(ref) if isinstance(ref, str) else ref
        cached = None
        if not self.is_local and parsed.version is not None:  # versions never change
            cached = self._cache().cached(self.storage, parsed.name, parsed.version)
        if cached is not None:
            name, version = parsed.name, str(parsed.version)
            folder, data = cached
            manifest = _manifest(data, str(folder))
            artifact = Artifact(folder, manifest, verified=True)
        elif self.is_local:
            name, version = self.resolve(parsed)
            folder = self.root / name / version
            manifest = Manifest.read(folder)
            artifact = Artifact(folder, manifest)
        else:
            name, version = self.resolve(parsed)
            found = self.storage.read(layout.manifest(name, version))
            if found is None:
                raise self._no_version(name, version)
            manifest = _manifest(found.data, self.storage.describe(layout.manifest(name, version)))
            folder = self._cache().version(self.storage, name, version, found.data)
            artifact = Artifact(folder, manifest, verified=True)
        if (manifest.name, manifest.version) != (name, version):
            raise ManifestError(
                f"{self.storage.describe(layout.version(name, version))} holds a manifest for "
                f"{manifest.name}:{manifest.version}, expected {name}:{version}"
            )
        if verify:
            artifact.verify()  # a local folder can change after any check: checked each time
        return artifact

    def history(self, name: str) -> list[dict[str, Any]]:
        """Publishes and alias moves, oldest first: each successful move exactly once."""
        items = self.stream(name, HISTORY).items()
        events = [entry for _, entry in items]
        pending = self._aliases(name).pending(self.alias_state(name), {k for k, _ in items})
        return [*events, pending] if pending else events

    def audit(self, name: str) -> list[dict[str, Any]]:
        """Retraining decisions, oldest first (see `append_audit`)."""
        return self.stream(name, AUDIT).read()

    def benchmarks(self, name: str) -> list[dict[str, Any]]:
        """Benchmark figures recorded for the model's versions, oldest first."""
        return self.stream(name, BENCHMARKS).read()

    def append_benchmark(self, name: str, entry: dict[str, Any]) -> str:
        """Append one benchmark's figures (with the `version` measured) to the model's
        benchmarks stream; the model cards show the latest per version."""
        if "version" not in entry:
            raise ExportError(f"benchmark figures for model {name!r} name no version: {entry}")
        self.resolve(f"{name}:{entry['version']}")  # figures only for a version that exists
        return self.stream(name, BENCHMARKS).append(entry)

    def stream(self, name: str, stream: str) -> Stream:
        """The append-only stream `stream` of model `name` (history, audit, ...)."""
        return Stream(self.storage, check_name(name), check_name(stream))

    def document(self, name: str, document: str) -> Document:
        """The small JSON document `document` of model `name` (e.g. a job's journal)."""
        return Document(self.storage, check_name(name), check_name(document))

    def documents(self, name: str, prefix: str = "") -> dict[str, dict[str, Any]]:
        """Every document of model `name` whose name starts with `prefix`, read at once
        (one listing, then the reads); a document that does not parse is left out."""
        folder = layout.documents(check_name(name))
        names = [
            f.removesuffix(".json")
            for f in self.storage.listing(folder).files
            if f.endswith(".json") and f.startswith(prefix)
        ]
        found = self.storage.read_many(layout.document(name, n) for n in names)
        parsed = {n: _object(found.get(layout.document(name, n))) for n in names}
        return {n: doc for n, doc in sorted(parsed.items()) if doc is not None}

    def rollout(self, name: str, alias: str = PRODUCTION) -> Rollout:
        """The canary and shadow of `alias` (empty when it has neither)."""
        return self.alias_state(name).rollouts.get(alias, Rollout())

    def lock_holder(self, name: str, job: str) -> int | None:
        """The pid holding `job`'s lock on `name` (0 if unknown), or None when it is free."""
        holder = self.storage.holder(layout.lock(check_name(name), check_name(job)))
        return None if holder is None else int(holder.get("pid", 0) or 0)

    def orphans(self, older_than: float = 0.0) -> list[str]:
        """What `gc` would remove: unpublished version folders (claimed, no manifest) and
        local draft folders, untouched for `older_than` seconds."""
        return self.gc(older_than, dry_run=True)

    # --- writing -------------------------------------------------------------
    @contextlib.contextmanager
    def draft(self, name: str) -> Iterator[Draft]:
        """Reserve the next version; publish it when the block ends cleanly (see
        `export.registry.publishing`). The version appears whole or not at all."""
        with publishing.draft(self.storage, check_name(name), self._keep) as draft:
            yield draft
        self.stream(name, HISTORY).append({"event": "publish", "version": draft.version})

    def adopt(self, artifact: Artifact) -> bool:
        """Store a verified version from elsewhere under its own version id; False if
        the same one is here already."""
        artifact.verify()
        manifest = artifact.manifest
        check_name(manifest.name)
        check_name(manifest.version)
        added = publishing.adopt(self.storage, artifact)
        if added:
            event = {"event": "publish", "version": manifest.version, "copied": True}
            self.stream(manifest.name, HISTORY).append(event)
        return added

    def promote(
        self,
        name: str,
        version: str,
        alias: str = PRODUCTION,
        reason: str = "",
        details: dict[str, Any] | None = None,
        expect: Expect = UNSET,
    ) -> str | None:
        """Point `alias` at `version` by compare-and-swap; return the version it pointed to.

        `expect`: the version the alias must point at now (None: it must not exist);
        default: whatever it pointed at when the move began. Otherwise `Conflict`, and
        nothing changes. `details` (JSON values) go into the history event."""
        check_name(alias)
        if not self._published(name, version):
            raise self._no_version(name, version)
        fields = {**(details or {}), "reason": reason}
        previous, _ = self._aliases(name).move(alias, promote_to(version), expect, fields)
        return previous

    def rollback(
        self, name: str, alias: str = PRODUCTION, reason: str = "", expect: Expect = UNSET
    ) -> str:
        """Move `alias` back to the version it pointed to before its last move (the same
        compare-and-swap move as `promote`)."""
        check_name(alias)
        _, event = self._aliases(name).move(alias, roll_back, expect, {"reason": reason})
        return str(event["version"])

    def canary(
        self,
        name: str,
        version: str | None,
        weight: float,
        alias: str = PRODUCTION,
        reason: str = "",
        expect: Expect = UNSET,
    ) -> Rollout:
        """Send `weight` percent of `alias`'s traffic to `version` (weight 0 or no version:
        end the canary), by compare-and-swap like an alias move; return the rollout now.

        `expect`: the version the alias must point at (see `promote`)."""
        check_name(alias)
        weight = check_weight(weight)
        if version is not None and weight > 0 and not self._published(name, version):
            raise self._no_version(name, version)
        plan = canary_plan(version, weight)
        self._aliases(name).move(alias, plan, expect, {"reason": reason})
        return self.rollout(name, alias)

    def shadow(
        self,
        name: str,
        version: str | None,
        fraction: float = 1.0,
        alias: str = PRODUCTION,
        reason: str = "",
        expect: Expect = UNSET,
    ) -> Rollout:
        """Mirror `fraction` of the requests `alias`'s version answers to `version` (None:
        end the shadow), by compare-and-swap like an alias move; return the rollout now."""
        check_name(alias)
        if version is not None:
            fraction = check_fraction(fraction)
            if not self._published(name, version):
                raise self._no_version(name, version)
        plan = shadow_plan(version, fraction)
        self._aliases(name).move(alias, plan, expect, {"reason": reason})
        return self.rollout(name, alias)

    def append_audit(self, name: str, entry: dict[str, Any], key: str | None = None) -> str:
        """Append one retraining decision to the model's audit stream; with `key`, at most once."""
        return self.stream(name, AUDIT).append(entry, key=key)

    @contextlib.contextmanager
    def exclusive(self, name: str, job: str) -> Iterator[str]:
        """Hold `job`'s lock on `name` for the block, or raise `Locked` at once, naming the
        holder. A kernel lock on a local folder; a lease with a heartbeat on object storage."""
        key = layout.lock(check_name(name), check_name(job))
        held = contextlib.ExitStack()
        try:
            held.enter_context(self.storage.hold(key, {"job": job}, self.lease_ttl))
        except Locked as err:
            raise Locked(f"model {name!r}: {err}", path=err.path, pid=err.pid) from None
        with held:
            yield self.storage.describe(key)

    def gc(self, older_than: float, dry_run: bool = False) -> list[str]:
        """Remove unpublished version folders and drafts untouched for `older_than` seconds;
        return their URLs. Published versions, aliases and streams are never touched."""
        return sweeping.sweep(self.storage, self.model_names(), older_than, dry_run)

    # --- internals -----------------------------------------------------------
    def _aliases(self, name: str) -> Aliases:
        return Aliases(self.storage, check_name(name), self.stream(name, HISTORY))

    def _keep(self, draft: Draft, manifest: bytes) -> None:
        """A remote registry keeps what this process just published in its cache."""
        if not self.is_local:
            self._cache().version(self.storage, draft.name, draft.version, manifest, draft.path)

    def _published(self, name: str, version: str) -> bool:
        key = layout.manifest(check_name(name), check_name(version))
        return bool(self.storage.exists_many([key]))

    def _cache(self) -> Cache:
        return Cache(self.cache_dir or default_cache_dir())

    def _no_model(self, name: str) -> ModelNotFound:
        known = ", ".join(self.models()) or "none"
        return ModelNotFound(f"model {name!r} not found in {self.url} (models: {known})")

    def _no_version(self, name: str, version: str) -> ModelNotFound:
        versions = self.versions(name)
        if not versions:
            return self._no_model(name)
        return ModelNotFound(
            f"version {version!r} of model {name!r} not found (versions: {', '.join(versions)})"
        )


def _names(entries: list[str]) -> list[str]:
    """The entries that can be model or version names; `lost+found`, `.git` and the
    registry's own dot-folders cannot."""
    return [e for e in entries if NAME.match(e) and not e.startswith(".")]


def _object(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _manifest(data: bytes, where: str) -> Manifest:
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(f"{where} is not valid JSON: {err}") from err
    if not isinstance(parsed, dict):
        raise ManifestError(f"{where} is not a JSON object")
    return Manifest.from_dict(parsed)


def _version_key(version: str) -> tuple[int, int | str]:
    return (0, int(version)) if version.isdigit() else (1, version)
