"""The shadow thread: mirrored requests in, agreement summaries out, off the request path.

The model set opens a route for each loaded shadow (`open_route`) and closes it when
the shadow is unloaded (`close_route`). What the alias's version answered is handed
to `offer` (`mirror` below) after the primary has answered: a tensor model's batches
whole by its batcher, a text model's requests one by one by the data plane. `offer`
puts it in a bounded inbox and returns at once (a full inbox drops it and counts
its requests). Every `poll_s` the thread
takes what queued, runs it on the shadow versions (`compare`) and adds the comparison
to each session's summary; a shadow that raises is counted as failed and logged
once per session, and never reaches a caller. Every `report_s` the thread updates
the gauges and writes each changed summary to the registry (`persist`), whose
failures are logged, not raised.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from export.shadow import AgreementSummary, ShadowRecord
from service.serving.batcher import MirrorHook
from service.serving.monitoring.inbox import Drainer
from service.serving.shadow.compare import compare, requests
from service.serving.shadow.gauges import ShadowGauges
from service.serving.shadow.jobs import Arrays, Closed, Job, Route, Session
from service.serving.shadow.settings import ShadowSettings

log = logging.getLogger("ferry.service")
Persist = Callable[[ShadowRecord], None]
#: Sessions a process keeps summaries of (the oldest beyond it are forgotten).
SESSIONS = 32
#: Rows compared between two yields of the GIL: the thread's Python work holds the
#: GIL, and a request waiting on the event loop would wait for all of a poll's at once.
#: A chunk costs about a millisecond (tabular MLP); smaller ones cost more in all,
#: since each pays the comparison's fixed work (measured: 2.4 us a request at 256
#: rows against 0.75 us at 1024).
CHUNK = 1024


class ShadowWorker(Drainer[Job | Closed]):
    """Every session's summary, the inbox that feeds them and the thread that drains it."""

    thread_name = "ferry-shadow"
    publish_on_flush = True

    def __init__(
        self,
        settings: ShadowSettings | None = None,
        replica: str = "local",
        persist: Persist | None = None,
        gauges: ShadowGauges | None = None,
    ) -> None:
        self.settings = settings or ShadowSettings()
        s = self.settings
        super().__init__(s.queue_requests, s.poll_s, s.report_s)
        self.replica = replica
        self.persist = persist
        self.gauges = gauges
        self.summaries: dict[Session, AgreementSummary] = {}
        self.dropped: Counter[Session] = Counter()
        self.persist_error: str | None = None
        self._changed: set[Session] = set()
        self._failing: set[Session] = set()
        self._lock = threading.Lock()
        self._routes: dict[int, Route] = {}
        self._route_ids = itertools.count(1)

    # --- routes: opened and closed as shadows load and unload ---------------------
    def open_route(self, route: Route) -> int:
        """Number a loaded shadow's route; requests are offered by that number."""
        number = next(self._route_ids)
        with self._lock:
            self._routes[number] = route
        return number

    def close_route(self, number: int) -> None:
        """Forget a route (and the runtimes it holds) once what was queued for it is compared."""
        self._inbox.put_always(Closed(number))

    # --- the request path --------------------------------------------------------
    def offer(
        self, route: int, inputs: Arrays | tuple[str, ...], outputs: Arrays, requests: int = 1
    ) -> None:
        """Queue mirrored requests without waiting; a full inbox drops them (counted)."""
        self._start()
        if not self._inbox.put((route, inputs, outputs, requests)):  # a plain tuple: `jobs`
            known = self._routes.get(route)
            if known is not None:
                with self._lock:
                    self.dropped[known.session] += requests
                    self._changed.add(known.session)

    def mirror(self, route: int, fraction: float) -> MirrorHook:
        """A batcher's hook that offers its answered batches to `route`: each request in
        the shadow's `fraction`, drawn one by one (all of them at 1.0)."""

        def offer(inputs: Arrays, outputs: Arrays, rows: list[int]) -> None:
            try:
                if fraction < 1.0:
                    keep = np.random.random(len(rows)) < fraction
                    if not keep.any():
                        return
                    if not keep.all():
                        mask = np.repeat(keep, rows)
                        inputs = {k: v[mask] for k, v in inputs.items()}
                        outputs = {k: v[mask] for k, v in outputs.items()}
                    self.offer(route, inputs, outputs, int(keep.sum()))
                else:
                    self.offer(route, inputs, outputs, len(rows))
            except Exception as err:  # the batch was answered: nothing here may reach it
                log.error("shadow: an answered batch was not mirrored: %s", err)

        return offer

    # --- readers -------------------------------------------------------------------
    def record(self, session: Session) -> ShadowRecord:
        """This process's summary of `session` now (empty before any request)."""
        with self._lock:
            summary = AgreementSummary().merge(self.summaries.get(session, AgreementSummary()))
            summary.dropped = self.dropped[session]
        return ShadowRecord(
            session.model, session.alias, session.primary, session.shadow, session.session,
            self.replica, summary,
        )  # fmt: skip

    def sessions(self, model: str) -> list[Session]:
        """The sessions of `model` this process has seen, oldest first."""
        with self._lock:
            seen = list(dict.fromkeys([*self.summaries, *self.dropped]))
        return [s for s in seen if s.model == model]

    def status(self) -> dict[str, Any]:
        with self._lock:
            totals = Counter[str]()
            for summary in self.summaries.values():
                totals["compared"] += summary.requests
                totals["failed"] += summary.failed
            totals["dropped"] = sum(self.dropped.values())
        return {
            **{k: totals[k] for k in ("compared", "failed", "dropped")},
            "queued": len(self._inbox),
            "queue_limit": self.settings.queue_requests,
            "replica": self.replica,
            "persist_error": self.persist_error,
        }

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every request queued before the call is compared, then publish
        (gauges, registry); False if that took longer than `timeout` (tests, benches)."""
        return super().flush(timeout)

    # --- the shadow thread ---------------------------------------------------------------
    def _consume(self, items: list[Job | Closed]) -> None:
        by_route: dict[int, list[Job]] = defaultdict(list)
        closed = []
        for item in items:
            if isinstance(item, Closed):
                closed.append(item.route)
            else:
                by_route[item[0]].append(item)
        for number, jobs in by_route.items():
            route = self._routes.get(number)
            if route is not None:  # a route is closed only after its last job
                self._compare(route, jobs)
        with self._lock:
            for number in closed:
                self._routes.pop(number, None)

    def _compare(self, route: Route, jobs: list[Job]) -> None:
        session = route.session
        fresh = AgreementSummary()  # readers see whole polls: merged in under the lock
        for chunk in _chunks(jobs):
            try:
                compare(fresh, route, chunk, self.settings.max_rows)
            except Exception as err:  # a broken shadow must never reach serving
                fresh.failed += requests(chunk)
                if session not in self._failing:
                    self._failing.add(session)
                    log.error("%s: shadow %s failed; its requests are counted: %s",
                              session.model, session.shadow, err)  # fmt: skip
            time.sleep(0)  # let the event loop in between chunks
        self._add(session, fresh)

    def _add(self, session: Session, fresh: AgreementSummary) -> None:
        with self._lock:
            summary = self.summaries.get(session)
            self.summaries[session] = fresh if summary is None else summary.merge(fresh)
            self._changed.add(session)
            if summary is None:
                for old in list(self.summaries)[:-SESSIONS]:  # bounded: the oldest go
                    self.summaries.pop(old, None)
                    self.dropped.pop(old, None)
                    self._changed.discard(old)
                    if self.gauges is not None:
                        self.gauges.forget(old)

    def _publish(self) -> None:
        with self._lock:
            changed, self._changed = self._changed, set()
        for session in changed:
            record = self.record(session)
            if self.gauges is not None:
                self.gauges.update(session, record.summary)
            if self.persist is None:
                continue
            try:
                self.persist(record)
                self.persist_error = None
            except Exception as err:  # an unreachable registry: the next report tries again
                with self._lock:
                    self._changed.add(session)
                if self.persist_error is None:
                    log.error("shadow summaries not written to the registry: %s", err)
                self.persist_error = str(err)


def _chunks(jobs: list[Job]) -> list[list[Job]]:
    """`jobs` in runs of about `CHUNK` rows (a job holds a request or a whole batch)."""
    chunks: list[list[Job]] = [[]]
    rows = 0
    for job in jobs:
        chunks[-1].append(job)
        rows += len(next(iter(job[2].values())))  # the primary's outputs: one row each
        if rows >= CHUNK:
            chunks.append([])
            rows = 0
    return [chunk for chunk in chunks if chunk]
