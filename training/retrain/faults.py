"""Fault injection for tests: `FERRY_RETRAIN_CRASH_AT=STEP` raises `InjectedCrash` at STEP,
`STEP:exit` ends the process there with status 137, like a SIGKILL."""

from __future__ import annotations

import os

from training.errors import RetrainError

CRASH_ENV = "FERRY_RETRAIN_CRASH_AT"
#: The steps, in order: trained; version published; decision journaled; alias moved;
#: decision audited (the journal is removed last).
STEPS = ("before_publish", "after_publish", "after_decide", "after_alias", "after_audit")
KILLED = 137


class InjectedCrash(RuntimeError):
    """Raised where `FERRY_RETRAIN_CRASH_AT` asks; never caught by the job."""


def check_env() -> None:
    """Refuse a misspelt step at once rather than never crashing."""
    step, _, how = os.environ.get(CRASH_ENV, "").partition(":")
    if step and (step not in STEPS or how not in ("", "exit", "raise")):
        raise RetrainError(
            f"{CRASH_ENV}={os.environ[CRASH_ENV]!r}: expected STEP or STEP:exit with STEP "
            f"one of {', '.join(STEPS)}"
        )


def crash_point(step: str) -> None:
    """Crash here if the environment asks for it."""
    wanted, _, how = os.environ.get(CRASH_ENV, "").partition(":")
    if wanted != step:
        return
    if how == "exit":
        os._exit(KILLED)
    raise InjectedCrash(f"injected crash at {step} ({CRASH_ENV})")
