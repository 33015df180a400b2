"""Raw ONNX Runtime throughput in-process: the ceiling the HTTP path is measured against."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import onnxruntime as ort

from export.signature import Signature
from loadtests.payloads import sample_inputs
from service.runtime import RuntimeSettings, open_runtime_session

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
CPU = ("CPUExecutionProvider",)


@dataclass(frozen=True)
class Raw:
    rows_per_s: dict[int, float]
    providers: list[str]  # what the session really ran on
    io_binding: bool


def raw_bench(
    model_path: Path,
    signature: Signature,
    batch_sizes: tuple[int, ...] = BATCH_SIZES,
    seconds: float = 0.5,
    threads: int = 1,
    providers: Sequence[str] = CPU,
    io_binding: bool = False,
) -> Raw:
    """Rows/s of one session at each batch size, over about `seconds` each.

    With `io_binding` the inputs are copied to the device once and outputs stay
    there, so a GPU figure is the model's, not the PCIe bus's.
    """
    settings = RuntimeSettings(providers=list(providers), intra_op_threads=threads)
    session, actual = open_runtime_session(model_path, settings, signature, "raw")
    device = (
        "cuda" if actual[0] in ("CUDAExecutionProvider", "TensorrtExecutionProvider") else "cpu"
    )
    result = {}
    for size in batch_sizes:
        run = _runner(session, sample_inputs(signature, size, pool=1)[0], io_binding, device)
        run()
        runs, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            run()
            runs += 1
        result[size] = runs * size / elapsed
    return Raw(result, actual, io_binding)


def _runner(
    session: ort.InferenceSession, feeds: dict[str, Any], io_binding: bool, device: str
) -> Callable[[], object]:
    if not io_binding:
        return partial(session.run, None, feeds)
    binding = session.io_binding()
    for name, array in feeds.items():
        binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array, device))
    for output in session.get_outputs():
        binding.bind_output(output.name, device)
    return partial(session.run_with_iobinding, binding)
