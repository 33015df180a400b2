"""A mirrored request as it waits for the shadow thread, and where it is to be run.

A job is a plain tuple (route number, inputs, the primary's outputs) of an int,
strings and arrays, which the garbage collector stops tracking at its first pass (it
never untracks a NamedTuple or a dataclass). Thousands of jobs waiting for a poll,
or being compared, are then never promoted to the oldest generation, whose full
collections (100 ms and more with every library of a service loaded) they would
otherwise trigger every few seconds: pauses a caller's p99 sees. What a job needs
beyond its arrays (the session, both runtimes) is its `Route`, which the worker
keeps by number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from service.runtime import ModelRuntime

Arrays = dict[str, np.ndarray]
#: One answered request to compare: (route number, its inputs (texts, for a text
#: model), the primary's outputs).
Job = tuple[int, Arrays | tuple[str, ...], Arrays]


@dataclass(frozen=True)
class Session:
    """What a summary is about: the alias's version compared with its shadow, and the
    shadow session (the alias revision it began at)."""

    model: str
    alias: str
    primary: str
    shadow: str
    session: str


class Route(NamedTuple):
    """Where a loaded shadow's requests go: its session, the alias's version that
    answered them, the shadow version and the shadow's text length buckets."""

    session: Session
    primary: ModelRuntime
    shadow: ModelRuntime
    buckets: tuple[int, ...]


class Closed(NamedTuple):
    """A route no longer loaded: forgotten once the jobs queued before it are compared."""

    route: int
