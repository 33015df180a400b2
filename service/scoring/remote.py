"""Batch jobs on object storage: input from and output to `s3://…` (other fsspec URLs untested).

Input (a file, or a prefix of CSV/Parquet files) is fetched into a local staging folder
and read like a local file. A file already fetched with the same size is not fetched
again, and each keeps the object's modification time, so a resumed job finds the same
input fingerprint and the same work folder.

Output `s3://bucket/out/scored.parquet` is a prefix of parts, committed by one object:

    scored.parquet/part-<job>-000000.parquet …  one per part (local engine) or unit (Ray),
                                                stored as each is finished
    scored.rejects.parquet                      the rejected rows (one object)
    scored.parquet/_ferry_output.json           written last: the job, its parts, the counts

Readers go by `_ferry_output.json` (`read_output`), never by a listing, so neither a part
a killed run left nor a part of an earlier job is ever read; the previous output stays
readable until the new commit object replaces it, and its parts go after that. A job
whose commit object is there is done; a resumed one stores only the parts it lacks.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from export.errors import ExportError
from export.registry.cache import default_cache_dir
from export.registry.storage import Storage, open_storage
from service.scoring.errors import InputError
from service.scoring.reader import FORMATS

COMMIT = "_ferry_output.json"


def is_remote(location: str | Path) -> bool:
    """Whether `location` is an object-store URL (a path or `file://` is local)."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def rejects_beside(url: str) -> str:
    """`<stem>.rejects<suffix>` beside the output `<stem><suffix>`."""
    parent, name = url.rstrip("/").rsplit("/", 1)
    stem, suffix = os.path.splitext(name)
    return f"{parent}/{stem}.rejects{suffix}"


def staging(url: str) -> Path:
    """The local folder where the job keeps its copy of `url`'s files and its work."""
    folder = default_cache_dir() / "score" / hashlib.sha256(url.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def local_name(location: str) -> str:
    """The last part of a URL or path: the name its local copy takes."""
    return location.rstrip("/").rsplit("/", 1)[-1]


def fetch_input(url: str, target: Path) -> None:
    """Copy the object or the prefix of objects at `url` to `target` (a file or a folder)."""
    prefix = _store(url)
    files = {n: e for n, e in prefix.entries("").items() if _is_data(n)}
    if files:  # a prefix of data files
        target.mkdir(parents=True, exist_ok=True)
        for name, entry in files.items():
            _fetch(prefix, name, target / name, entry.size, entry.modified)
        return
    parent_url, name = url.rstrip("/").rsplit("/", 1)
    parent = _store(parent_url)
    single = parent.entries("").get(name)
    if single is None:
        raise InputError(f"{url}: no such object, and no .csv or .parquet objects under it")
    _fetch(parent, name, target, single.size, single.modified)


@dataclass(frozen=True)
class RemoteOutput:
    """The parts and the commit object of one job's output at `url`."""

    url: str
    rejects_url: str
    key: str
    suffix: str

    @property
    def store(self) -> Storage:
        return _store(self.url)

    def finished(self) -> dict[str, Any] | None:
        """The commit object, if this very job wrote it."""
        found = self.store.read(COMMIT)
        if found is None:
            return None
        record: dict[str, Any] = json.loads(found.data)
        return record if record.get("job") == self.key else None

    def part_name(self, index: int) -> str:
        return f"part-{self.key[:12]}-{index:06d}{self.suffix}"

    def stored(self) -> set[str]:
        """The parts of this job already stored (by a run that was killed, say)."""
        return set(self.store.entries(""))

    def put_part(self, index: int, path: Path, stored: set[str]) -> str:
        """Store part `index` unless an earlier run of the job did; return its name."""
        name = self.part_name(index)
        if name not in stored:
            self.store.put_file(name, path)
        return name

    def commit(self, parts: list[str], rejects: Path, counts: dict[str, int | str]) -> None:
        """Store the rejects, then the object naming the parts; then drop other parts."""
        parent, name = self.rejects_url.rstrip("/").rsplit("/", 1)
        _store(parent).put_file(name, rejects)
        record = {"job": self.key, "parts": parts, "rejects": self.rejects_url, **counts}
        store = self.store
        store.write(COMMIT, (json.dumps(record, indent=2) + "\n").encode())
        for stale in set(store.entries("")) - {*parts, COMMIT}:
            if stale.startswith("part-"):
                store.delete(stale)


def read_output(url: str) -> pa.Table:
    """The table a committed output holds, read by its commit object."""
    store = _store(url)
    found = store.read(COMMIT)
    if found is None:
        raise InputError(f"{url}: no {COMMIT}: the job has not committed an output here")
    record = json.loads(found.data)
    tables = []
    for name in record["parts"]:
        part = store.read(name)
        if part is None:
            raise InputError(f"{url}: part {name} named by {COMMIT} is missing")
        tables.append(_table(part.data, name))
    return pa.concat_tables(tables) if tables else pa.table({})


def _table(data: bytes, name: str) -> pa.Table:
    if name.endswith(".csv"):
        return pacsv.read_csv(io.BytesIO(data))
    return pq.read_table(io.BytesIO(data))


def _fetch(store: Storage, name: str, target: Path, size: int, modified: float) -> None:
    if target.is_file():
        info = target.stat()
        if info.st_size == size and abs(info.st_mtime - modified) < 1e-3:
            return  # fetched already: same size, same modification time
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        store.get_file(name, Path(tmp))
        os.utime(tmp, (modified, modified))
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _store(url: str) -> Storage:
    try:
        return open_storage(url)
    except ExportError as err:
        raise InputError(str(err)) from err


def _is_data(name: str) -> bool:
    return Path(name).suffix.lower() in FORMATS and not name.startswith((".", "_"))
