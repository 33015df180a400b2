"""The one touch monitoring has on the request path: hand a finished batch to a queue."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Arrays = dict[str, np.ndarray]
RunFn = Callable[[Arrays], Arrays]
Observer = Callable[[Arrays, Arrays], None]


def observed(run: RunFn, observe: Observer) -> RunFn:
    """`run`, then `observe(inputs, outputs)`: the batcher runs this instead of the model.

    `observe` must not block or raise (it only queues), so a batch's answer never
    waits for monitoring or fails because of it.
    """

    def run_and_observe(inputs: Arrays) -> Arrays:
        outputs = run(inputs)
        observe(inputs, outputs)
        return outputs

    return run_and_observe
