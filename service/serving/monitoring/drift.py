"""Drift of every served version, computed on a thread of its own, off the request path.

The batcher runs each version's model through `observed`, which puts the batch's
inputs and outputs in a bounded inbox and returns at once; a full inbox drops the
batch and counts its rows. Every `drift_poll_s` the monitoring thread takes what
queued, joins it, turns it into features, adds them to the version's sliding window
and, every `drift_report_s`, recomputes the report of each version that served rows
since, for the gauges.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable

from export.drift import DriftReport, Monitor
from export.errors import ManifestError, NoDriftReference
from export.manifest import Manifest
from service.serving.monitoring.batches import Pair, joined
from service.serving.monitoring.inbox import Drainer
from service.serving.monitoring.observe import Arrays, Observer
from service.serving.monitoring.settings import DriftSettings

log = logging.getLogger("ferry.service")
Key = tuple[str, str]  # model, version
OnReport = Callable[[str, str, DriftReport], None]
OnDrop = Callable[[str, str, int], None]
Batch = tuple[Key, Arrays, Arrays]


class DriftMonitors(Drainer[Batch]):
    """Every watched version's monitor, the queue that feeds them and the thread that drains it."""

    thread_name = "ferry-drift"

    def __init__(
        self,
        settings: DriftSettings | None = None,
        on_report: OnReport | None = None,
        on_drop: OnDrop | None = None,
    ) -> None:
        self.settings = settings or DriftSettings()
        s = self.settings
        super().__init__(s.drift_queue_batches, s.drift_poll_s, s.drift_report_s)
        self.on_report = on_report
        self.on_drop = on_drop
        self.dropped: Counter[Key] = Counter()  # rows never watched: queue full or failed
        self._monitors: dict[Key, Monitor] = {}
        self._without: dict[Key, str] = {}  # versions served with no reference: why
        self._fresh: set[Key] = set()  # served rows since their last report
        self._lock = threading.Lock()
        self._drops = threading.Lock()
        self._failed: set[Key] = set()

    def watch(self, manifest: Manifest) -> Observer | None:
        """Start watching a version; returns what the batcher calls with each batch, or
        None for a version without reference statistics (it serves, unwatched)."""
        key = (manifest.name, manifest.version)
        try:
            monitor = Monitor.for_manifest(manifest, self.settings.window())
        except (NoDriftReference, ManifestError) as err:
            self._without[key] = str(err)
            if isinstance(err, ManifestError):
                log.warning("%s:%s: drift not watched: %s", *key, err)
            return None
        with self._lock:
            self._monitors[key] = monitor
            self._without.pop(key, None)
            self._start()
        return lambda inputs, outputs: self.offer(key, inputs, outputs)

    def forget(self, model: str, version: str) -> None:
        """Stop watching a retired version and free its window."""
        with self._lock:
            self._monitors.pop((model, version), None)
            self._without.pop((model, version), None)
            self._fresh.discard((model, version))

    def offer(self, key: Key, inputs: Arrays, outputs: Arrays) -> None:
        """Queue a batch without waiting; a full inbox drops it and counts its rows."""
        if not self._inbox.put((key, inputs, outputs)):
            self._drop(key, _rows(outputs))

    def report(self, model: str, version: str) -> DriftReport:
        """The version's window now, or `NoDriftReference` saying why it has none."""
        monitor = self._monitors.get((model, version))
        if monitor is None:
            why = self._without.get((model, version))
            raise NoDriftReference(why or f"{model}:{version} is not watched for drift")
        return monitor.report(self.settings.drift_threshold)

    def describe(self, model: str, version: str) -> dict[str, object]:
        """The window's bounds and the rows dropped before reaching it."""
        monitor = self._monitors.get((model, version))
        about: dict[str, object] = {"dropped_rows": self.dropped[(model, version)]}
        if monitor is not None:
            about.update(monitor.describe())
        return about

    # --- the monitoring thread ------------------------------------------------------
    def _consume(self, items: list[Batch]) -> None:
        self._add(items)

    def _add(self, batches: list[Batch]) -> None:
        by_key: dict[Key, list[Pair]] = defaultdict(list)
        for key, inputs, outputs in batches:
            by_key[key].append((inputs, outputs))
        for key, pairs in by_key.items():
            monitor = self._monitors.get(key)
            if monitor is None:  # retired meanwhile
                continue
            for inputs, outputs in joined(pairs):
                try:
                    monitor.observe(inputs, outputs)
                except Exception as err:  # a monitoring bug must never reach serving
                    self._drop(key, _rows(outputs))
                    if key not in self._failed:
                        self._failed.add(key)
                        log.exception("%s:%s: drift features failed", *key, exc_info=err)
            with self._lock:
                self._fresh.add(key)

    def _publish(self) -> None:
        with self._lock:
            fresh, self._fresh = self._fresh, set()
        for key in sorted(fresh):
            monitor = self._monitors.get(key)
            if monitor is None or self.on_report is None:
                continue
            try:
                self.on_report(*key, monitor.report(self.settings.drift_threshold))
            except Exception as err:
                log.exception("%s:%s: drift report failed", *key, exc_info=err)

    def _drop(self, key: Key, rows: int) -> None:
        with self._drops:
            self.dropped[key] += rows
        if self.on_drop is not None:
            self.on_drop(*key, rows)


def _rows(arrays: Arrays) -> int:
    return len(next(iter(arrays.values()))) if arrays else 0
