"""`ferry models gc`: what killed publishes left, removed once old enough.

An orphan is a version folder holding a claim but no manifest (a publish that never
finished) or a local draft folder. Anything else is left alone: published versions,
aliases and streams, and whatever is not the registry's (a `notes/` folder, `.git`).
The age is that of the newest object under the orphan, so a publish still writing is
spared as long as the age is longer than the longest publish.
"""

from __future__ import annotations

import time

from export.reference import NAME
from export.registry import layout
from export.registry.storage import Storage


def sweep(storage: Storage, models: list[str], older_than: float, dry_run: bool) -> list[str]:
    """Remove (unless `dry_run`) the orphans of `models` untouched for `older_than` seconds."""
    cutoff = time.time() - older_than
    removed = []
    for model in models:
        for prefix in orphans(storage, model):
            newest = storage.newest(prefix)
            if newest is not None and newest > cutoff:
                continue
            if not dry_run:
                storage.delete_tree(prefix)
            removed.append(storage.describe(prefix))
    return removed


def orphans(storage: Storage, model: str) -> list[str]:
    """Unfinished version folders and draft folders of `model`, of any age."""
    versions = [d for d in storage.listing(model).dirs if NAME.match(d) and d[0] != "."]
    claims = storage.exists_many(layout.claim(model, v) for v in versions)
    manifests = storage.exists_many(layout.manifest(model, v) for v in versions)
    unfinished = [
        layout.version(model, v)
        for v in versions
        if layout.claim(model, v) in claims and layout.manifest(model, v) not in manifests
    ]
    return [*unfinished, *storage.stale_scratch(model)]
