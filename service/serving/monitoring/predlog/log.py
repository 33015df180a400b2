"""The prediction log: sampled, bounded, asynchronous, never in a request's way.

`offer` puts a sampled request in a bounded inbox (a full inbox drops it and counts
it); every `POLL_S` a writer thread takes what queued, groups it by model version,
writes row groups to rotating Parquet files (`files`), and counts every record as
written, dropped (queue or folder full) or failed (folder unwritable). A folder
that cannot be written is logged (once a minute at most) and retried; serving
never sees the error.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from service.serving.monitoring.inbox import Inbox
from service.serving.monitoring.predlog.files import FolderFull, LogFiles, LostRecords
from service.serving.monitoring.predlog.records import (
    Arrays,
    Record,
    from_raw,
    make_record,
    raw_rows,
    to_table,
)
from service.serving.monitoring.settings import PredictionLogSettings

log = logging.getLogger("ferry.service")
WRITTEN, DROPPED, FAILED = "written", "dropped", "failed"
FLUSH_ROWS = 4096  # rows of one version buffered before they become a row group
FLUSH_S = 1.0  # ... or this long after the first of them arrived
POLL_S = 0.25  # how often the writer takes what queued
COMPLAIN_S = 60.0
OnCount = Callable[[str, int], None]


class PredictionLog:
    """One per process; `offer` is the only call on the request path."""

    def __init__(self, settings: PredictionLogSettings, on_count: OnCount | None = None) -> None:
        if settings.prediction_log_dir is None:
            raise ValueError("the prediction log needs FERRY_PREDICTION_LOG_DIR")
        self.settings = settings
        self.folder = str(settings.prediction_log_dir)
        # made here, so a location that cannot be used (a scheme without its package)
        # stops the start with one clear error instead of a writer thread that never writes
        self._files = LogFiles(
            settings.prediction_log_dir,
            settings.prediction_log_file_rows,
            settings.prediction_log_file_s,
            settings.prediction_log_max_bytes,
        )
        self.on_count = on_count
        self.counts: Counter[str] = Counter()
        self.last_error = ""
        self._inbox: Inbox[tuple[Any, ...]] = Inbox(settings.prediction_log_queue)
        self.open_records = 0  # written into files not yet closed (not yet "written")
        self._count_lock = threading.Lock()
        self._complained = 0.0
        self._thread = threading.Thread(target=self._run, name="ferry-prediction-log", daemon=True)
        self._thread.start()

    def sampled(self) -> bool:
        """Whether to log the next request."""
        rate = self.settings.prediction_log_sample
        return rate >= 1.0 or random.random() < rate

    def offer(
        self,
        request_id: str,
        model: str,
        version: str,
        inputs: Arrays,
        outputs: Arrays,
        features: tuple[str, ...] = (),
    ) -> None:
        """Queue one request's record without waiting; drop and count it if the inbox is full.

        Only a plain tuple here (the writer makes it a `Record`): this runs per request."""
        raw = (request_id, time.time(), model, version, tuple(inputs.items()),
               tuple(outputs.items()), features)  # fmt: skip
        if not self._inbox.put(raw):
            self._count(DROPPED, 1)

    def flush(self, timeout: float = 10.0) -> bool:
        """Write (and close into whole files) everything queued before the call."""
        return self._inbox.control().done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, close every file, stop the thread."""
        self._inbox.control(stop=True)
        self._thread.join(timeout)

    def status(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "sample": self.settings.prediction_log_sample,
            "records": dict(self.counts),
            "in_open_files": self.open_records,
            "last_error": self.last_error,
            "waiting_for_store": self._files.unsent,
        }

    # --- the writer thread ------------------------------------------------------------
    def _run(self) -> None:
        _warm()
        files = self._files
        # buffered as queued, plain tuples: the collector untracks those at its first
        # pass, where a `Record` (a NamedTuple) stays tracked; a second's worth of
        # tracked records set off a full collection every few seconds under load
        buffers: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
        first_at: dict[tuple[str, str], float] = {}
        rows: dict[tuple[str, str], int] = defaultdict(int)
        while True:
            raws, controls = self._inbox.take(POLL_S)
            for raw in raws:
                key = (raw[2], raw[3])  # model, version
                buffers[key].append(raw)
                rows[key] += raw_rows(raw)
                first_at.setdefault(key, time.monotonic())
            now, ending = time.monotonic(), bool(controls)
            for key in list(buffers):
                if ending or now - first_at[key] >= FLUSH_S or rows[key] >= FLUSH_ROWS:
                    self._write(files, [from_raw(raw) for raw in buffers.pop(key)])
                    first_at.pop(key)
                    rows.pop(key)
            self._closing(files.close if ending else files.rotate)
            if files.unsent:
                self._complain(f"cannot store the prediction log: {files.unsent}")
            self.open_records = files.open_records()
            for control in controls:
                control.done.set()
            if any(c.stop for c in controls):
                return

    def _write(self, files: LogFiles, records: list[Record]) -> None:
        """Write the records in chunks that each fill the current file, so a file closes
        at `file_rows` rows (or just past it: a request's rows are never split)."""
        chunk: list[Record] = []
        rows = 0
        room = files.room(records[0].model, records[0].version)
        for record in records:
            chunk.append(record)
            rows += record.rows
            if rows >= room:
                self._write_chunk(files, chunk)
                chunk, rows = [], 0
                room = files.room(record.model, record.version)
        if chunk:
            self._write_chunk(files, chunk)

    def _write_chunk(self, files: LogFiles, records: list[Record]) -> None:
        first = records[0]
        try:
            whole = files.write(first.model, first.version, to_table(records), len(records))
        except FolderFull as err:
            self._count(DROPPED, len(records))
            self._complain(str(err))
            return
        except LostRecords as err:  # an unwritable folder, a full disk
            self._count(FAILED, len(records) + err.lost)
            self._complain(f"cannot write the prediction log: {err}")
            return
        except Exception as err:  # a record Arrow cannot hold: a bug, never the request's
            self._count(FAILED, len(records))
            self._complain(f"cannot write the prediction log: {type(err).__name__}: {err}")
            return
        self._count(WRITTEN, whole)

    def _closing(self, step: Callable[[], int]) -> None:
        try:
            self._count(WRITTEN, step())
        except LostRecords as err:
            self._count(FAILED, err.lost)
            self._complain(f"cannot close a prediction log file: {err}")

    def _count(self, result: str, records: int) -> None:
        if not records:
            return
        with self._count_lock:
            self.counts[result] += records
        if self.on_count is not None:
            self.on_count(result, records)

    def _complain(self, message: str) -> None:
        self.last_error = message
        now = time.monotonic()
        if now - self._complained >= COMPLAIN_S:
            self._complained = now
            log.error("%s (records are counted as dropped or failed; serving goes on)", message)


def _warm() -> None:
    """Build one table before any request comes: Arrow loads its compute functions (and
    looks for pandas) on first use, a second or more of one-off work that would
    otherwise land on the first requests logged."""
    try:
        to_table([make_record("", 0.0, "", "", {"x": np.zeros((1, 1))}, {"y": np.zeros(1)})])
    except Exception as err:  # the first real write reports any real problem
        log.debug("prediction log warm-up: %s", err)
