"""The artifact store: immutable versions, aliases moved by compare-and-swap, append-only
streams. The only code that touches the registry's storage; every other package goes
through `Registry`'s methods.

Where it lives: a folder path or `file://…` (`storage.local`), `s3://bucket/prefix`
(`storage.s3`, S3 or an S3-compatible store), or another fsspec URL (`storage.fsspec`,
untested).
`Registry(location)` / `Registry.open(location)` / `open_registry(location)` parse it.
The layout is in `layout`; in short:

    <model>/<version>/…, manifest.json     a version; the manifest is written last
    <model>/aliases.json                   aliases, their revision and lineage
    <model>/.streams/{history,audit}/      append-only streams, one object per entry

The rules, and the module that keeps each:
- A version appears whole (`publishing`): claim the number, store the files, then the
  manifest listing every file's sha256. Readers ignore a folder without a manifest; a
  publish killed anywhere leaves nothing visible; `Registry.gc` removes what it left.
- An alias moves by compare-and-swap (`aliases`): `promote` and `rollback` are one move
  that writes the aliases object on the condition that it is unchanged since it was read
  (If-Match on S3, compare under `fcntl` lock on a folder). Of two racing movers exactly
  one wins; the other gets `Conflict` (HTTP 409). Each successful move is in the history
  exactly once, although object stores cannot append: see `aliases`.
- An alias's canary and shadow (`rollouts`) live in the aliases object and change by
  the same compare-and-swap moves; moving the alias ends them.
- Append-only streams and small documents (`streams`): a model's history and audit,
  a job's journal, and whatever a later feature records, without new storage code.
- One long job per model and kind (`Registry.exclusive`): a kernel lock on a folder, a
  lease object with a heartbeat on object storage (`lease`); a second one gets `Locked`.
- Remote versions are opened from a local content-addressed cache (`cache`).
- Anything in the store that cannot be a model or version name (`lost+found`, `.git`,
  `.snapshot`, stray files) is ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from export.registry.aliases import UNSET, AliasState, Expect, alias_lineage
from export.registry.artifact import Artifact, Draft
from export.registry.registry import AUDIT, HISTORY, PRODUCTION, Registry
from export.registry.rollouts import Rollout
from export.registry.streams import Document, Stream


def open_registry(location: str | Path, **options: Any) -> Registry:
    """The registry at a folder path, `file://…`, `s3://bucket/prefix` or fsspec URL."""
    return Registry(location, **options)


__all__ = [
    "AUDIT",
    "HISTORY",
    "PRODUCTION",
    "UNSET",
    "AliasState",
    "Artifact",
    "Document",
    "Draft",
    "Expect",
    "Registry",
    "Rollout",
    "Stream",
    "alias_lineage",
    "open_registry",
]
