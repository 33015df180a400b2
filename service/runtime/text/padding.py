"""Join token rows of several requests into one batch, padded to the batch's longest row."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Arrays = dict[str, np.ndarray]
JoinFn = Callable[[list[Arrays]], Arrays]


def padded_join(pads: dict[str, int]) -> JoinFn:
    """A batcher `join` that right-pads axis 1 of the inputs in `pads` with their pad value."""

    def join(parts: list[Arrays]) -> Arrays:
        width = max(part[name].shape[1] for part in parts for name in pads)
        return {
            name: np.concatenate(
                [
                    pad_to(part[name], width, pads[name]) if name in pads else part[name]
                    for part in parts
                ]
            )
            for name in parts[0]
        }

    return join


def pad_to(array: np.ndarray, width: int, value: int) -> np.ndarray:
    """`array` [rows, n] right-padded with `value` to [rows, width]."""
    missing = width - array.shape[1]
    if missing <= 0:
        return array
    return np.pad(array, ((0, 0), (0, missing)), constant_values=value)
