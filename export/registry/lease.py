"""The long-job lock on a store without kernel locks: a lease object with an expiry.

Taking it is `create` of the lock key (If-None-Match), holding it is a heartbeat that
pushes the expiry forward with `replace` (If-Match) every third of the time to live,
giving it back is a conditional delete. A holder that dies stops renewing: once its
lease has expired, the next taker replaces it (If-Match on the expired one's tag, so two
takers cannot both win). A heartbeat that finds its lease replaced logs the loss; the
job's own writes are compare-and-swap, so a late holder cannot overwrite a newer move.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from export.errors import Locked
from export.registry.storage.base import Changed, Exists

if TYPE_CHECKING:
    from export.registry.storage.base import Storage

log = logging.getLogger("ferry.registry")


class Lease:
    """One attempt to hold `key` on `storage` for `ttl` seconds at a time."""

    def __init__(self, storage: Storage, key: str, holder: dict[str, Any], ttl: float) -> None:
        self.storage, self.key, self.ttl = storage, key, ttl
        self.record = {**holder, "pid": os.getpid(), "host": socket.gethostname()}
        self.record["owner"] = uuid.uuid4().hex
        self.tag = ""
        self._stop = threading.Event()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._take()
        beat = threading.Thread(target=self._beat, name=f"lease {self.key}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            self._stop.set()
            beat.join()
            with contextlib.suppress(Changed):
                self.storage.delete(self.key, self.tag)

    def current(self) -> dict[str, Any] | None:
        """The live holder's record, or None when free or expired."""
        found = self.storage.read(self.key)
        if found is None:
            return None
        record = _parse(found.data)
        return record if record.get("expires", 0) > time.time() else None

    def _take(self) -> None:
        try:
            self.tag = self.storage.create(self.key, self._body())
            return
        except Exists:
            pass
        found = self.storage.read(self.key)
        if found is None:  # given back meanwhile: one more try
            try:
                self.tag = self.storage.create(self.key, self._body())
                return
            except Exists:
                found = self.storage.read(self.key)
        record = _parse(found.data) if found else {}
        if found is None or record.get("expires", 0) > time.time():
            raise locked_error(self.storage.describe(self.key), record)
        try:  # expired: its holder died; take it over, once
            self.tag = self.storage.replace(self.key, self._body(), found.tag)
        except Changed:
            raise locked_error(self.storage.describe(self.key), self.current() or {}) from None
        log.warning("took over the expired lock %s of %s", self.storage.describe(self.key), record)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.tag = self.storage.replace(self.key, self._body(), self.tag)
            except Changed:
                log.error("lost the lock %s: it was taken over", self.storage.describe(self.key))
                return
            except Exception as err:  # a store hiccup: try again at the next beat
                log.warning("could not renew the lock %s: %s", self.storage.describe(self.key), err)

    def _body(self) -> bytes:
        self.record["expires"] = time.time() + self.ttl
        return json.dumps(self.record, sort_keys=True).encode()


def locked_error(where: str, holder: dict[str, Any]) -> Locked:
    """The refusal naming who holds the lock at `where`."""
    pid = int(holder.get("pid", 0) or 0)
    who = f"pid {pid}" if pid else "another process"
    job = where.rstrip("/").rsplit("/", 1)[-1].removesuffix(".lock")
    notes = [f"host {holder['host']}"] if holder.get("host") else []
    if holder.get("expires"):
        notes.append(f"lease until {time.strftime('%H:%M:%S', time.localtime(holder['expires']))}")
    extra = f"; {', '.join(notes)}" if notes else ""
    return Locked(
        f"another {job} is running ({who} holds the lock {where}{extra}); "
        "not starting a second one",
        path=where,
        pid=pid,
    )


def _parse(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}
