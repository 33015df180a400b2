"""The prediction log's layout, shared by its writer (the service) and its readers
(`ferry drift --log`, `ferry retrain --from-log`).

A log lives at a location given as a registry's is: a folder, `file://PATH` or an
object-store URL (`s3://bucket/prefix`). Its files are `<model>/<version>/<name>.parquet`,
and a file is whole once it has that name: a local writer renames it into place, a
remote one stores it with one PUT. Names that start with a dot are files being written.
"""

from __future__ import annotations

from pathlib import Path

from export.registry.storage import open_storage

SUFFIX = ".parquet"


def file_key(model: str, version: str, name: str) -> str:
    """Where a whole log file goes, relative to the log's location."""
    return f"{model}/{version}/{name}"


def is_log_file(name: str) -> bool:
    return name.endswith(SUFFIX) and not name.startswith(".")


def local_copy(location: str | Path, model: str, into: Path) -> Path:
    """A local folder of `model`'s whole log files (`<version>/<name>.parquet`): the log's
    own folder for a local location, else `into/<model>` holding a copy of the store's
    files."""
    storage = open_storage(location)
    if storage.local_root is not None:
        return storage.local_root / model
    target = into / model
    for version in storage.listing(model).dirs:
        for name in storage.entries(f"{model}/{version}"):
            if not is_log_file(name):
                continue
            path = target / version / name
            path.parent.mkdir(parents=True, exist_ok=True)
            storage.get_file(file_key(model, version, name), path)
    return target
