"""Drops: CSV/Parquet files of fresh labelled rows, read once, hashed and fingerprinted.

`--data` names one file or a folder; in a folder every `*.csv`, `*.parquet` and `*.pq`
file counts, in name order. Hidden files (`.name`) and other suffixes are ignored, so a
producer can write `.drop.csv.tmp` and rename it when complete.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from training.data import parse_frame
from training.errors import DataError

SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class Drop:
    """One file's rows and the sha256 of the bytes they were parsed from."""

    path: Path
    sha256: str
    frame: pd.DataFrame

    @property
    def rows(self) -> int:
        return len(self.frame)


def find_drops(path: Path) -> list[Path]:
    """The drop files `path` names, in name order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    found = sorted(
        p
        for p in path.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUFFIXES
    )
    if not found:
        raise DataError(f"{path}: no drops (*.csv, *.parquet) in the folder")
    return found


def read_drops(path: Path) -> list[Drop]:
    """Read every drop; each file is read once, so its hash matches the rows parsed."""
    return [read_drop(p) for p in find_drops(path)]


def read_drop(path: Path) -> Drop:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(f"{path}: unsupported file type {suffix!r}; use {', '.join(SUFFIXES)}")
    content = path.read_bytes()  # read once: the hash covers exactly the rows parsed
    return Drop(path, hashlib.sha256(content).hexdigest(), parse_frame(path, content))


def fingerprint(drops: list[Drop]) -> str:
    """`sha256:<hex>` over the files' contents, independent of their names and order."""
    digest = hashlib.sha256("\n".join(sorted(d.sha256 for d in drops)).encode())
    return f"sha256:{digest.hexdigest()}"
