"""Logged requests wait as tuples the garbage collector untracks within a pass or two,
so a second's worth of them is never promoted to the oldest generation, whose full
collections pause every request in flight."""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

import numpy as np

from service.serving.monitoring.inbox import Inbox
from service.serving.monitoring.predlog.log import PredictionLog
from service.serving.monitoring.settings import PredictionLogSettings


def queued(inbox: Inbox[Any]) -> list[Any]:
    return list(inbox._items)


def settled(items: list[Any]) -> list[Any]:
    for _ in range(3):  # tuples in tuples: a pass may untrack only the innermost
        gc.collect()
    return [item for item in items if gc.is_tracked(item)]


def request() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return {"features": np.ones((1, 30), np.float32)}, {"probabilities": np.ones((1, 2))}


def test_logged_requests_wait_untracked(tmp_path: Path) -> None:
    log = PredictionLog(PredictionLogSettings(prediction_log_dir=tmp_path))
    stop = threading.Event()
    log._inbox.take = lambda wait: (stop.wait(), ([], []))[1]  # type: ignore[method-assign]
    try:
        for i in range(10):
            log.offer(f"r{i}", "tabular", "1", *request(), ("a", "b"))
        assert settled(queued(log._inbox)) == []
    finally:
        del log._inbox.take  # the real one again, for the writer's next poll
        stop.set()
        log.close()
