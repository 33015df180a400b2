"""A mirrored request as it waits for the shadow thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from service.runtime import ModelRuntime

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Session:
    """What a summary is about: the alias's version compared with its shadow, and the
    shadow session (the alias revision it began at)."""

    model: str
    alias: str
    primary: str
    shadow: str
    session: str


class Job(NamedTuple):
    """One answered request to compare: its inputs (texts, for a text model), the
    primary's outputs, and the shadow version to run them on. (A tuple: made on the
    request path, where a frozen dataclass costs several times as much.)"""

    session: Session
    primary: ModelRuntime
    shadow: ModelRuntime
    buckets: tuple[int, ...]
    inputs: Arrays | list[str]
    outputs: Arrays
