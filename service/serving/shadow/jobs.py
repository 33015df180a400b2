"""A mirrored request as it waits for the shadow thread, and where it is to be run.

A job is a plain tuple (route number, inputs, the primary's outputs): what it needs
beyond the request's arrays (the session, both runtimes) is its `Route`, which the
worker keeps by number. The jobs of a busy poll (a thousand and more) live long enough
to reach the collector's older generations; with the heap frozen after each refresh
(`service.serving.heap`) the full collections they bring on walk only what requests
made, milliseconds where the whole heap took 100-160 ms. (Turning the dicts into
tuples of pairs, which the collector would untrack, cost the shadow thread more than
it saved: measured 12 against 8 us a request.)
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
