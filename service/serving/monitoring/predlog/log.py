"""The prediction log: sampled, bounded, asynchronous, never in a request's way.

`offer` decides the sample and puts the request on a bounded queue (a full queue
drops it and counts it); a writer thread groups what queued by model version,
writes row groups to rotating Parquet files (`files`), and counts every record as
written, dropped (queue or folder full) or failed (folder unwritable). A folder
that cannot be written is logged (once a minute at most) and retried; serving
never sees the error.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from service.serving.monitoring.predlog.files import FolderFull, LogFiles, LostRecords
from service.serving.monitoring.predlog.records import Arrays, Record, to_table
from service.serving.monitoring.settings import PredictionLogSettings

log = logging.getLogger("ferry.service")
WRITTEN, DROPPED, FAILED = "written", "dropped", "failed"
FLUSH_ROWS = 4096  # rows of one version buffered before they become a row group
FLUSH_S = 1.0  # ... or this long after the first of them arrived
COMPLAIN_S = 60.0
OnCount = Callable[[str, int], None]
_STOP = object()


class PredictionLog:
    """One per process; `offer` is the only call on the request path."""

    def __init__(self, settings: PredictionLogSettings, on_count: OnCount | None = None) -> None:
        if settings.prediction_log_dir is None:
            raise ValueError("the prediction log needs FERRY_PREDICTION_LOG_DIR")
        self.settings = settings
        self.folder = settings.prediction_log_dir
        self.on_count = on_count
        self.counts: Counter[str] = Counter()
        self.last_error = ""
        self._queue: queue.Queue[Record | object] = queue.Queue(settings.prediction_log_queue)
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
        """Queue one request's record without waiting; drop and count it if the queue is full."""
        record = Record(request_id, time.time(), model, version, inputs, outputs, features)
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._count(DROPPED, 1)

    def flush(self, timeout: float = 10.0) -> bool:
        """Write (and close into whole files) everything queued before the call."""
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, close every file, stop the thread."""
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def status(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "sample": self.settings.prediction_log_sample,
            "records": dict(self.counts),
            "last_error": self.last_error,
        }

    # --- the writer thread ------------------------------------------------------------
    def _run(self) -> None:
        s = self.settings
        files = LogFiles(
            self.folder,
            s.prediction_log_file_rows,
            s.prediction_log_file_s,
            s.prediction_log_max_bytes,
        )
        buffers: dict[tuple[str, str], list[Record]] = defaultdict(list)
        first_at: dict[tuple[str, str], float] = {}
        while True:
            try:
                item = self._queue.get(timeout=FLUSH_S)
            except queue.Empty:
                item = None
            if isinstance(item, Record):
                key = (item.model, item.version)
                buffers[key].append(item)
                first_at.setdefault(key, time.monotonic())
                if sum(r.rows for r in buffers[key]) < FLUSH_ROWS and not self._queue.empty():
                    continue
            now = time.monotonic()
            ending = item is _STOP or isinstance(item, threading.Event)
            for key in list(buffers):
                if ending or now - first_at[key] >= FLUSH_S or _rows(buffers[key]) >= FLUSH_ROWS:
                    self._write(files, buffers.pop(key))
                    first_at.pop(key)
            self._closing(files.close if ending else files.rotate)
            if isinstance(item, threading.Event):
                item.set()
            if item is _STOP:
                return

    def _write(self, files: LogFiles, records: list[Record]) -> None:
        """Write the records in chunks that each fill the current file, so a file closes
        at `file_rows` rows (or just past it: a request's rows are never split)."""
        chunk: list[Record] = []
        for record in records:
            chunk.append(record)
            if _rows(chunk) >= files.room(record.model, record.version):
                self._write_chunk(files, chunk)
                chunk = []
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


def _rows(records: list[Record]) -> int:
    return sum(r.rows for r in records)
