"""Raw ONNX Runtime throughput in-process: the ceiling the HTTP path is measured against."""

from __future__ import annotations

import time
from pathlib import Path

import onnxruntime as ort

from export.signature import Signature
from loadtests.payloads import sample_inputs

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def raw_rows_per_s(
    model_path: Path,
    signature: Signature,
    batch_sizes: tuple[int, ...] = BATCH_SIZES,
    seconds: float = 0.5,
    threads: int = 1,
) -> dict[int, float]:
    """Rows/s of `session.run` on one thread at each batch size, over about `seconds` each."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    result = {}
    for size in batch_sizes:
        feeds = sample_inputs(signature, size, pool=1)[0]
        session.run(None, feeds)
        runs, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            session.run(None, feeds)
            runs += 1
        result[size] = runs * size / elapsed
    return result
