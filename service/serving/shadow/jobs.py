"""Mirrored requests as they wait for the shadow thread, and where they are to be run.

A job is a plain tuple (route number, inputs, the primary's outputs, requests): a
tensor model's whole answered batch (mirrored by its batcher, so the request path
pays nothing per request and the shadow thread's Python work is paid per batch), or
one text request (texts are mirrored as the caller sent them, since the shadow may
tokenise them differently from the alias's version). What a job needs
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
#: Answered requests to compare: (route number, their inputs (texts, for a text
#: model), the primary's outputs, how many requests they are).
Job = tuple[int, Arrays | tuple[str, ...], Arrays, int]


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
