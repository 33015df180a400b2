"""A model's sessions, opened as its placement says: probe, decide, then open the instances.

The probe is a session on one thread, timed on a small batch; `placement.decide`
turns that time per row into threads and instances. A compute-bound model is then
opened again on its threads (ONNX Runtime fixes a session's thread pool when it is
made), and once more for every further instance, so each instance has a thread
pool of its own, as Triton's instance groups have.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from export.signature import Signature
from service.runtime.cores import available_cores
from service.runtime.errors import ModelLoadError
from service.runtime.placement import Placement, decide, needs_probe, wanted
from service.runtime.session import open_runtime_session
from service.runtime.settings import RuntimeSettings

Feeds = dict[str, np.ndarray]


class Instances:
    """One session per instance; `run` takes a free one, so N threads run N batches at once."""

    def __init__(self, sessions: Sequence[ort.InferenceSession]) -> None:
        self.sessions = tuple(sessions)
        self._free: queue.SimpleQueue[ort.InferenceSession] = queue.SimpleQueue()
        for session in self.sessions:
            self._free.put(session)

    def run(self, names: list[str], feeds: Feeds) -> list[np.ndarray]:
        """Run on a free instance (waits for one when every instance is busy)."""
        if len(self.sessions) == 1:
            return self.sessions[0].run(names, feeds)
        session = self._free.get()
        try:
            return session.run(names, feeds)
        finally:
            self._free.put(session)

    def run_each(self, names: list[str], feeds: Feeds) -> None:
        """Run on every instance in turn: each allocates for a new shape on its own."""
        for session in self.sessions:
            session.run(names, feeds)


@dataclass(frozen=True)
class Opened:
    """A model's instances, the providers they really run on, and its placement."""

    instances: Instances
    providers: list[str]
    placement: Placement


def open_instances(
    path: Path,
    settings: RuntimeSettings,
    signature: Signature,
    name: str,
    probe: Feeds,
    max_length: int = 128,
) -> Opened:
    """Open `name`'s sessions; with anything left `auto`, time `probe` first to decide."""
    threads, _ = wanted(settings, name)
    first = 1 if needs_probe(settings, name) else int(threads)
    session, actual = open_runtime_session(path, settings, signature, name, max_length, first)
    row_us = None
    if needs_probe(settings, name):
        try:
            row_us = row_microseconds(session, probe)
        except Exception as err:  # ONNX Runtime's run errors subclass plain Exception
            first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise ModelLoadError(
                f"failed its warm-up run (the placement probe): {first_line}"
            ) from err
    placement = decide(settings, name, row_us, available_cores(), actual)
    if placement.threads != first:
        session, actual = open_runtime_session(
            path, settings, signature, name, max_length, placement.threads
        )
    sessions = [session] + [
        open_runtime_session(path, settings, signature, name, max_length, placement.threads)[0]
        for _ in range(placement.instances - 1)
    ]
    return Opened(Instances(sessions), actual, placement)


def row_microseconds(
    session: ort.InferenceSession, feeds: Feeds, repeat: int = 3, budget_s: float = 0.2
) -> float:
    """Microseconds per row of `feeds`: the fastest of up to `repeat` runs (fewer once
    they have taken `budget_s`) after a first that allocates. The fastest, because
    other work on the machine only ever adds time."""
    rows = next(iter(feeds.values())).shape[0]
    session.run(None, feeds)
    best, spent = float("inf"), 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        session.run(None, feeds)
        took = time.perf_counter() - started
        best, spent = min(best, took), spent + took
        if spent >= budget_s:
            break
    return best * 1e6 / rows
