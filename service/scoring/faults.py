"""Fault injection for tests: a job that kills itself with SIGKILL after some parts."""

from __future__ import annotations

import os
import signal

CRASH_AFTER_PARTS = "FERRY_SCORE_CRASH_AFTER_PARTS"


def maybe_crash(parts_this_run: int) -> None:
    """Die like `kill -9` once this run has finished `$FERRY_SCORE_CRASH_AFTER_PARTS` parts."""
    limit = os.environ.get(CRASH_AFTER_PARTS)
    if limit and parts_this_run >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)
