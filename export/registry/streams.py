"""Two small storage shapes every feature can use without writing storage code.

- `Stream`: an append-only log of JSON entries (a model's history, its retraining
  audit; benchmark figures, drift or shadow records later). Each entry is one object
  named by a key that sorts by time, created with If-None-Match: an append never
  rewrites anything, a torn write leaves no half entry, and appending again under the
  same key is a no-op, which makes an append that must happen exactly once (a history
  event, an audit entry named by its journal) safe to retry.
- `Document`: one small JSON object per name, written whole (a job's journal).

Both are opened with `Registry.stream(model, name)` and `Registry.document(model, name)`.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from export.registry import layout
from export.registry.storage import Exists, Storage

#: Digits of the microsecond timestamp at the head of a key (enough until the year 5138).
KEY_DIGITS = 17


def new_key(suffix: str = "", after: str | None = None) -> str:
    """A stream key for now (strictly later than the key `after`, whatever the clock says)."""
    micros = time.time_ns() // 1000
    if after:
        micros = max(micros, key_time(after) + 1)
    return f"{micros:0{KEY_DIGITS}d}-{suffix or uuid.uuid4().hex[:12]}"


def key_time(key: str) -> int:
    head = key.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Stream:
    """The append-only stream `name` of model `model`."""

    def __init__(self, storage: Storage, model: str, name: str) -> None:
        self.storage, self.model, self.name = storage, model, name
        self.prefix = layout.stream(model, name)

    def append(self, entry: dict[str, Any], key: str | None = None) -> str:
        """Add `entry` (with an `at` time unless it has one); return its key.

        With `key`, the append happens at most once: a second append under the same
        key leaves the first entry as it is."""
        body = json.dumps({"at": now(), **entry}, sort_keys=True).encode()
        while True:
            chosen = key or new_key()
            try:
                self.storage.create(layout.stream_entry(self.model, self.name, chosen), body)
            except Exists:
                if key is not None:
                    return key
                continue  # two appenders drew the same random key: draw again
            return chosen

    def new_key(self, suffix: str = "") -> str:
        """A key for an entry to append later, exactly once (e.g. named in a journal)."""
        return new_key(suffix)

    def keys(self) -> list[str]:
        """The keys of the entries, oldest first."""
        files = self.storage.listing(self.prefix).files
        return sorted(f.removesuffix(".json") for f in files if _is_entry(f))

    def items(self) -> list[tuple[str, dict[str, Any]]]:
        """(key, entry) pairs, oldest first; entries of the legacy single-file log first."""
        keys = self.keys()
        wanted = [layout.stream_entry(self.model, self.name, k) for k in keys]
        found = self.storage.read_many(wanted)
        items = [(f"legacy-{i:08d}", e) for i, e in enumerate(self._legacy())]
        for key, full in zip(keys, wanted, strict=True):
            entry = _parse(found.get(full, b""))
            if entry is not None:
                items.append((key, entry))
        return items

    def read(self) -> list[dict[str, Any]]:
        """The entries, oldest first."""
        return [entry for _, entry in self.items()]

    def _legacy(self) -> list[dict[str, Any]]:
        key = layout.legacy_stream(self.model, self.name)
        found = self.storage.read(key) if key else None
        if found is None:
            return []
        lines = (_parse(line.encode()) for line in found.data.decode().splitlines())
        return [entry for entry in lines if entry is not None]  # a torn last line is skipped


class Document:
    """The small JSON document `name` of model `model`."""

    def __init__(self, storage: Storage, model: str, name: str) -> None:
        self.storage, self.key = storage, layout.document(model, name)

    def read(self) -> dict[str, Any] | None:
        """The document, or None when there is none (or it does not parse)."""
        found = self.storage.read(self.key)
        return _parse(found.data) if found is not None else None

    def write(self, data: dict[str, Any]) -> None:
        """Replace the document whole."""
        self.storage.write(self.key, json.dumps(data, sort_keys=True).encode())

    def delete(self) -> None:
        self.storage.delete(self.key)


def _is_entry(name: str) -> bool:
    return name.endswith(".json") and not name.startswith(".")


def _parse(data: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None
