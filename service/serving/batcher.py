"""Adaptive batching on asyncio, framework-free.

Requests queue while the model is busy; when it is free, everything queued (up
to `max_batch_size` rows) runs as one batch in a worker thread. Requests carry a
bucket (text models: a token-length bound); a batch holds one bucket only, the
oldest request's, so short texts are never padded to a long one's length. Nothing waits
for a timer unless `max_latency_ms` asks for it, so a lone request runs at once
and batches grow with load. Past `max_queue_rows` waiting rows, new requests
are refused with `Overloaded` (HTTP 429 + Retry-After) instead of being dropped.
A request cancelled while queued (its client left, its deadline passed) leaves the
queue at once, and one whose deadline passes while queued is answered
`DeadlineExceeded` (504) instead of being computed.

Where a batch runs depends on how long the model takes: a model whose batches
take less than `inline_below_ms` (a moving average) runs on the event loop
itself, because handing a 30 us MLP batch to a thread and back costs several
times the batch (measured: 25 us direct, 170-370 us through the thread on 2
busy cores). Slower models run in the worker thread so the loop keeps reading
requests, and batches grow, while the model computes.

Two optional hooks watch batches without changing them: `on_stats` gets each
batch's `BatchStats` (queue waits, model time, tokens) for the metrics, and a
`tracer` (`service.serving.tracing`) links each batch's spans to the requests in
it. Without them the hot path pays one `is None` test per request and per batch.
A third, `mirror` (set and cleared while serving, by `ModelSet` for the alias's
version of a model in shadow), gets each answered batch whole: its joined inputs and
outputs and the rows of each request, after every request has its result.

A text model's batch is also bounded by tokens (`max_batch_tokens`, as in TEI): a
request carries its padded width, and a batch stops before its rows times its
widest row would pass the budget, so long texts make small batches and short
ones fill up to `max_batch_size` rows. A request alone over the budget still runs.

A model placed on several instances (`instances`, see `service.runtime.placement`)
has that many batches in flight, each in a worker thread of its own; the next batch
is taken from the queue only when an instance is free, so batches still grow
while every instance computes.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import numpy as np

from service.serving import deadlines
from service.serving.errors import DeadlineExceeded, Overloaded

Arrays = dict[str, np.ndarray]
RunFn = Callable[[Arrays], Arrays]
JoinFn = Callable[[list[Arrays]], Arrays]  # one batch from several requests' inputs
BatchHook = Callable[[str, int, int, float], None]  # model, rows, requests, seconds
TokenCount = Callable[[Arrays], int]  # token positions in a joined batch (text models)


@dataclass(frozen=True)
class BatchStats:
    """What one batch cost, for the metrics (`service.serving.metrics`)."""

    name: str
    rows: int
    requests: int
    seconds: float  # dispatch to results: hand-off to the thread, join, run, split
    compute_s: float  # the model's run alone
    waits: tuple[float, ...]  # each request's time in the queue, oldest first
    tokens: int = 0  # text models: rows x the batch's padded length


StatsHook = Callable[[BatchStats], None]
#: An answered batch: its joined inputs, its outputs and each request's rows, in order.
MirrorHook = Callable[[Arrays, Arrays, list[int]], None]


class BatchSpans(Protocol):
    """One batch's open spans; `run` wraps the model's run (in the worker thread)."""

    def run(self) -> AbstractContextManager[object]: ...

    def end(self, error: BaseException | None = None) -> None: ...


class BatchTracer(Protocol):
    """Traces batches: `capture` on the request's path, `batch` when its batch starts."""

    def capture(self) -> object | None: ...

    def batch(
        self, name: str, requests: Sequence[tuple[object | None, float]]
    ) -> BatchSpans | None:
        """Spans for a batch of requests, given as (captured trace, queued at) pairs."""


class _Ran(NamedTuple):
    """One batch run: each request's outputs, the joined inputs and outputs, the
    model's seconds and the batch's token positions (text models)."""

    parts: list[Arrays]
    inputs: Arrays
    outputs: Arrays
    compute_s: float
    tokens: int


@dataclass(eq=False)  # compared by identity: the queue removes a cancelled item itself
class _Item:
    inputs: Arrays
    rows: int
    future: asyncio.Future[Arrays]
    bucket: int = 0
    queued_at: float = field(default_factory=time.perf_counter)
    deadline: float | None = None  # event-loop time; past it the item is dropped, not run
    trace: object | None = None  # the request's span, when tracing
    width: int = 0  # tokens per row once padded (text models), for the token budget


class Batcher:
    """Groups requests for one model into batches and runs them one at a time."""

    def __init__(
        self,
        run: RunFn,
        name: str,
        max_batch_size: int = 64,
        max_latency_ms: float = 0.0,
        max_queue_rows: int = 4096,
        retry_after_s: int = 1,
        on_batch: BatchHook | None = None,
        join: JoinFn | None = None,
        inline_below_ms: float = 0.5,
        on_stats: StatsHook | None = None,
        tracer: BatchTracer | None = None,
        count_tokens: TokenCount | None = None,
        instances: int = 1,
        max_batch_tokens: int = 0,
    ) -> None:
        self.run = run
        self.join = join or concatenate
        self.name = name
        self.max_batch_size = max_batch_size
        self.max_latency_s = max_latency_ms / 1000
        self.max_queue_rows = max_queue_rows
        self.retry_after_s = retry_after_s
        self.on_batch = on_batch
        self.inline_below_s = inline_below_ms / 1000
        self.on_stats = on_stats
        self.tracer = tracer
        self.count_tokens = count_tokens
        # Moving average of the model's time per batch; until the first batch is
        # measured, assume it is slow (the thread is safe for any model).
        self._batch_s = float("inf")
        self._queue: collections.deque[_Item] = collections.deque()
        self._queued_rows = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False
        self._running = 0  # requests in the batches being computed
        self.instances = max(1, instances)
        self.max_batch_tokens = max_batch_tokens  # 0: rows alone bound a batch
        self._batches: set[asyncio.Task[None]] = set()  # batches in flight beyond the loop's
        self.mirror: MirrorHook | None = None

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    @property
    def in_flight(self) -> int:
        """Requests queued (and still awaited) or being computed; O(queue), for sampling."""
        return sum(not item.future.done() for item in self._queue) + self._running

    async def submit(self, inputs: Arrays, bucket: int = 0, width: int = 0) -> Arrays:
        """Queue validated inputs and return this request's slice of the batch output.

        Only requests of the same `bucket` share a batch; `width` (tokens per row)
        counts against `max_batch_tokens`.
        """
        rows = next(iter(inputs.values())).shape[0]
        if self._queued_rows + rows > self.max_queue_rows:
            raise Overloaded(
                f"model {self.name!r}: {self._queued_rows} rows already queued "
                f"(limit {self.max_queue_rows}); retry later",
                self.retry_after_s,
            )
        self._ensure_started()
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        deadline = deadlines.current()
        if deadline is not None and deadline <= loop.time():
            raise self._expired()
        item = _Item(inputs, rows, loop.create_future(), bucket, deadline=deadline, width=width)
        if self.tracer is not None:
            item.trace = self.tracer.capture()
        self._queue.append(item)
        self._queued_rows += rows
        self._wakeup.set()
        try:
            return await item.future
        except asyncio.CancelledError:
            self._drop(item)  # its client left or its deadline passed
            raise

    def _drop(self, item: _Item) -> None:
        """Take a cancelled request out of the queue now, so its rows stop counting
        against `max_queue_rows` at once (a batch already running keeps it)."""
        try:
            self._queue.remove(item)
        except ValueError:
            return  # already taken into a batch
        self._queued_rows -= item.rows

    def _expired(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"model {self.name!r}: deadline passed before the model ran")

    async def close(self) -> None:
        """Finish every queued and running batch, then stop the worker thread.

        A request that still arrives afterwards is served all the same (the worker
        starts again and stops once idle), so retiring a model never drops one.
        """
        self._closing = True
        if self._task is not None and not self._task.done():
            assert self._wakeup is not None
            self._wakeup.set()
            await asyncio.wait({self._task})
        if self._executor is not None and not self._queue:
            self._executor.shutdown(wait=False)
            self._executor = None

    def _ensure_started(self) -> None:
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._loop())
        if self._executor is None:
            # Threads per model: its batches never wait behind another model's.
            self._executor = ThreadPoolExecutor(
                max_workers=self.instances, thread_name_prefix=f"batch-{self.name}"
            )

    async def _loop(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    if self._batches:
                        await asyncio.wait(set(self._batches))
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self.max_latency_s and self._queued_rows < self.max_batch_size:
                await self._wait_for_more()
            await self._free_instance()
            batch = self._take()
            if not batch:
                continue
            if self.instances == 1:
                await self._dispatch(loop, batch)
            else:
                task = loop.create_task(self._dispatch(loop, batch))
                self._batches.add(task)
                task.add_done_callback(self._batches.discard)

    async def _free_instance(self) -> None:
        """Wait until fewer than `instances` batches are in flight."""
        while len(self._batches) >= self.instances:
            await asyncio.wait(set(self._batches), return_when=asyncio.FIRST_COMPLETED)

    async def _wait_for_more(self) -> None:
        deadline = self._queue[0].queued_at + self.max_latency_s
        while (
            self._queued_rows < self.max_batch_size and (left := deadline - time.perf_counter()) > 0
        ):
            await asyncio.sleep(min(left, 0.0005))

    def _take(self) -> list[_Item]:
        """The oldest request and those after it in its bucket, up to `max_batch_size` rows
        and `max_batch_tokens` padded tokens; requests whose deadline passed while queued
        are answered 504 and left out."""
        batch: list[_Item] = []
        other: collections.deque[_Item] = collections.deque()  # later buckets keep their order
        rows = width = 0
        now = asyncio.get_running_loop().time()
        while self._queue and rows < self.max_batch_size:
            item = self._queue[0]
            if batch and item.bucket != batch[0].bucket:
                other.append(self._queue.popleft())
                continue
            if batch and rows + item.rows > self.max_batch_size:
                break
            if batch and self._over_budget(rows + item.rows, max(width, item.width)):
                break
            self._queue.popleft()
            self._queued_rows -= item.rows
            if item.future.done():  # cancelled while queued
                continue
            if item.deadline is not None and item.deadline <= now:
                item.future.set_exception(self._expired())
                continue
            batch.append(item)
            rows, width = rows + item.rows, max(width, item.width)
        if other:
            other.extend(self._queue)
            self._queue = other
        return batch

    def _over_budget(self, rows: int, width: int) -> bool:
        """Whether `rows` padded to `width` tokens would pass `max_batch_tokens`."""
        return bool(self.max_batch_tokens) and rows * width > self.max_batch_tokens

    async def _dispatch(self, loop: asyncio.AbstractEventLoop, batch: list[_Item]) -> None:
        started = time.perf_counter()
        rows = sum(item.rows for item in batch)
        spans = None
        if self.tracer is not None:
            spans = self.tracer.batch(self.name, [(item.trace, item.queued_at) for item in batch])
        self._running += len(batch)
        try:
            if self.inline:
                ran = self._run_batch(batch, spans)
            else:
                ran = await loop.run_in_executor(self._executor, self._run_batch, batch, spans)
        except Exception as err:  # a failing batch fails its requests, never the loop
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(err)
            if spans is not None:
                spans.end(err)
            return
        finally:
            self._running -= len(batch)
        for item, result in zip(batch, ran.parts, strict=True):
            if not item.future.done():
                item.future.set_result(result)
        seconds = time.perf_counter() - started
        if self.mirror is not None:
            self.mirror(ran.inputs, ran.outputs, [item.rows for item in batch])
        if spans is not None:
            spans.end()
        if self.on_batch is not None:
            self.on_batch(self.name, rows, len(batch), seconds)
        if self.on_stats is not None:
            waits = tuple(started - item.queued_at for item in batch)
            stats = BatchStats(
                self.name, rows, len(batch), seconds, ran.compute_s, waits, ran.tokens
            )
            self.on_stats(stats)

    @property
    def inline(self) -> bool:
        """Whether batches now run on the event loop rather than in the worker thread."""
        return self._batch_s < self.inline_below_s

    def _run_batch(self, batch: list[_Item], spans: BatchSpans | None = None) -> _Ran:
        """The batch run: each request's outputs, and what the hooks are given."""
        inputs = batch[0].inputs if len(batch) == 1 else self.join([i.inputs for i in batch])
        tokens = self.count_tokens(inputs) if self.count_tokens is not None else 0
        with spans.run() if spans is not None else nullcontext():
            outputs, seconds = self._timed_run(inputs)
        if len(batch) == 1:
            return _Ran([outputs], inputs, outputs, seconds, tokens)
        bounds = np.cumsum([item.rows for item in batch])[:-1]
        split = {n: np.split(out, bounds) for n, out in outputs.items()}
        parts = [{n: p[i] for n, p in split.items()} for i in range(len(batch))]
        return _Ran(parts, inputs, outputs, seconds, tokens)

    def _timed_run(self, inputs: Arrays) -> tuple[Arrays, float]:
        started = time.perf_counter()
        try:
            outputs = self.run(inputs)
        finally:
            seconds = time.perf_counter() - started
            previous = self._batch_s
            self._batch_s = seconds if previous == float("inf") else 0.8 * previous + 0.2 * seconds
        return outputs, seconds


def concatenate(parts: list[Arrays]) -> Arrays:
    """Stack requests' rows along the batch axis (inputs of fixed width)."""
    return {n: np.concatenate([part[n] for part in parts]) for n in parts[0]}
