"""Queued batches of one version joined into as few arrays as their shapes allow."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from service.serving.monitoring.observe import Arrays

Pair = tuple[Arrays, Arrays]  # a batch's inputs and outputs


def joined(pairs: list[Pair]) -> list[Pair]:
    """Batches with the same trailing shapes stacked into one (a text model's buckets of
    different widths stay apart): the features are computed once per group, not per batch."""
    groups: dict[tuple[object, ...], list[Pair]] = defaultdict(list)
    for inputs, outputs in pairs:
        groups[_shapes(inputs, outputs)].append((inputs, outputs))
    return [_stack(group) if len(group) > 1 else group[0] for group in groups.values()]


def _shapes(inputs: Arrays, outputs: Arrays) -> tuple[object, ...]:
    return tuple(
        (name, array.shape[1:], array.dtype.str)
        for arrays in (inputs, outputs)
        for name, array in sorted(arrays.items())
    )


def _stack(group: list[Pair]) -> Pair:
    inputs = {name: np.concatenate([i[name] for i, _ in group]) for name in group[0][0]}
    outputs = {name: np.concatenate([o[name] for _, o in group]) for name in group[0][1]}
    return inputs, outputs
