"""`ferry retrain --from-log LOG --labels FILE`: served rows joined with their labels, as a drop.

LOG is where the service wrote the log: a folder or an object-store URL (`s3://...`).

The prediction log holds a tabular model's feature columns with `request_id` and
`row` (the row's index in its request); a labels file holds `request_id`, the
label column (the model's target) and, for requests of several rows, `row`. Their
inner join, in (request_id, row) order, is written as one CSV drop, so the same log
and labels make the same bytes and an unchanged join is skipped like any drop.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd

from export.logfiles import is_log_file, local_copy
from training.data import read_frame
from training.errors import DataError

REQUEST_ID, ROW = "request_id", "row"


def drop_from_log(
    log: str | Path, model: str, labels: Path, target: str, features: list[str], out: Path
) -> tuple[Path, str]:
    """Write the joined drop into the folder `out`; returns its path and a one-line summary."""
    served = read_log(log, model)
    missing = [f for f in features if f not in served.columns]
    if missing:
        raise DataError(
            f"{log}/{model}: the log has no column(s) {', '.join(map(repr, missing[:5]))}; "
            "only a tabular model's log (one column per feature) can be retrained on"
        )
    given = read_frame(Path(labels))
    keys = _keys(given, labels, target, served)
    try:
        joined = served.merge(given[[*keys, target]], on=keys, how="inner", validate="one_to_one")
    except pd.errors.MergeError as err:
        raise DataError(f"{labels}: a logged row has more than one label ({err})") from err
    if joined.empty:
        raise DataError(
            f"{labels}: no label matches a logged request of {model} "
            f"({len(given)} labels, {served[REQUEST_ID].nunique()} logged requests)"
        )
    drop = joined.sort_values([REQUEST_ID, ROW])[[*features, target]]
    content = drop.to_csv(index=False).encode()
    path = Path(out) / f"from-log-{hashlib.sha256(content).hexdigest()[:16]}.csv"
    path.write_bytes(content)
    summary = (
        f"{len(drop)} logged rows with labels ({len(served) - len(drop)} logged rows "
        f"unlabelled, {len(given) - len(drop)} labels without a logged row)"
    )
    return path, summary


def read_log(log: str | Path, model: str) -> pd.DataFrame:
    """Every whole log file of `model`, all versions (files being written are hidden)."""
    where = f"{str(log).rstrip('/')}/{model}"
    with tempfile.TemporaryDirectory(prefix="ferry-log-") as scratch:
        folder = local_copy(log, model, Path(scratch))
        files = sorted(p for p in folder.rglob("*") if is_log_file(p.name))
        if not files:
            raise DataError(f"{where}: no prediction log files (*.parquet) for model {model!r}")
        try:
            frame = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
        except (OSError, ValueError) as err:
            raise DataError(f"{where}: cannot read the prediction log: {err}") from err
    frame[REQUEST_ID] = frame[REQUEST_ID].astype(str)
    return frame.drop_duplicates([REQUEST_ID, ROW], keep="last")


def _keys(given: pd.DataFrame, labels: Path, target: str, served: pd.DataFrame) -> list[str]:
    for column in (REQUEST_ID, target):
        if column not in given.columns:
            columns = ", ".join(map(str, given.columns))
            raise DataError(f"{labels}: no column {column!r} (columns: {columns})")
    given[REQUEST_ID] = given[REQUEST_ID].astype(str)
    if ROW in given.columns:
        return [REQUEST_ID, ROW]
    several = served.groupby(REQUEST_ID)[ROW].count()
    several = several[several > 1]
    labelled = several[several.index.isin(given[REQUEST_ID])]
    if len(labelled):
        raise DataError(
            f"{labels}: request {labelled.index[0]!r} has {labelled.iloc[0]} rows; add a "
            f"{ROW!r} column (the row's index in its request) to label each"
        )
    duplicated = given[REQUEST_ID].duplicated()
    if duplicated.any():
        raise DataError(f"{labels}: request {given[REQUEST_ID][duplicated].iloc[0]!r} twice")
    given[ROW] = 0
    return [REQUEST_ID, ROW]
