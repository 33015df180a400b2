"""Execution providers: ask for what settings name, then report what really runs.

onnxruntime-gpu on a machine without a GPU still lists CUDA as available and
silently falls back to the CPU, so the only truth is `session.get_providers()`.
Asked for CUDA there, ONNX Runtime also prints a red `[E:onnxruntime...]
provider_bridge_ort.cc` error at every start (it is logged at error severity, so
`set_default_logger_severity(3)` keeps it). So GPU providers are asked for only
when a CUDA device is really there (`cuda_missing`), and one log line says why not.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
from pathlib import Path
from typing import Any

import onnxruntime as ort

from export.signature import Signature
from service.runtime.errors import ProviderUnavailable
from service.runtime.settings import RuntimeSettings

log = logging.getLogger("ferry.service")
GPU_PROVIDERS = frozenset(
    {"CUDAExecutionProvider", "TensorrtExecutionProvider", "ROCMExecutionProvider"}
)
NVIDIA_PROVIDERS = frozenset({"CUDAExecutionProvider", "TensorrtExecutionProvider"})


def requested(providers: list[str]) -> list[str]:
    """The requested providers this build of ONNX Runtime knows and this machine can
    run, in order, CPU last."""
    available = set(ort.get_available_providers())
    chosen = [p for p in providers if p in available]
    nvidia = [p for p in chosen if p in NVIDIA_PROVIDERS]
    if nvidia and (reason := cuda_missing()) is not None:
        _skip_gpu(reason)
        chosen = [p for p in chosen if p not in NVIDIA_PROVIDERS]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


@functools.cache
def cuda_missing() -> str | None:
    """Why no CUDA device can run here, or None when one can.

    Asks the NVIDIA driver itself (`libcuda.so.1`: `cuInit`, `cuDeviceGetCount`),
    which is what ONNX Runtime's CUDA provider needs first; loading the driver
    prints nothing. Elsewhere than Linux, ONNX Runtime is left to find out.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError as err:
        return f"no NVIDIA driver ({err})"
    if (status := driver.cuInit(0)) != 0:
        return f"the NVIDIA driver found no usable device (cuInit error {status})"
    count = ctypes.c_int(0)
    if driver.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
        return "the NVIDIA driver sees no CUDA device"
    return None


@functools.cache
def _skip_gpu(reason: str) -> None:
    # Once per process, not once per model: the machine does not change between loads.
    log.info("no CUDA device: %s; ONNX Runtime runs on CPUExecutionProvider", reason)


def with_options(
    names: list[str], signature: Signature, settings: RuntimeSettings, max_length: int = 128
) -> list[Any]:
    """`names` as ONNX Runtime takes them, GPU providers with their options.

    CUDA: `kSameAsRequested` keeps the arena from doubling past what batches need;
    `HEURISTIC` conv search starts in seconds where `EXHAUSTIVE` takes minutes.
    TensorRT builds an engine per input shape unless it is given the range of
    shapes up front, so each dynamic axis gets a profile (batch: 1 to
    `trt_max_batch`; other axes, e.g. tokens: 1 to `max_length`), and engines are
    cached on disk across restarts.
    """
    result: list[Any] = []
    for name in names:
        if name == "CUDAExecutionProvider":
            options = {
                "device_id": str(settings.device_id),
                "arena_extend_strategy": "kSameAsRequested",
                "cudnn_conv_algo_search": "HEURISTIC",
            }
            result.append((name, options))
        elif name == "TensorrtExecutionProvider":
            result.append((name, _tensorrt(signature, settings, max_length)))
        else:
            result.append(name)
    return result


def _tensorrt(signature: Signature, settings: RuntimeSettings, max_length: int) -> dict[str, str]:
    def shapes(batch: int, other: int) -> str:
        return ",".join(
            f"{spec.name}:"
            + "x".join(
                str(batch if axis == 0 else (other if dim == -1 else dim))
                for axis, dim in enumerate(spec.shape)
            )
            for spec in signature.inputs
        )

    cache = Path(settings.trt_cache_dir).expanduser()
    return {
        "device_id": str(settings.device_id),
        "trt_fp16_enable": str(settings.trt_fp16).lower(),
        "trt_engine_cache_enable": "true",
        "trt_engine_cache_path": str(cache),
        "trt_timing_cache_enable": "true",
        "trt_profile_min_shapes": shapes(1, 1),
        "trt_profile_opt_shapes": shapes(max(1, settings.trt_max_batch // 4), max_length),
        "trt_profile_max_shapes": shapes(settings.trt_max_batch, max_length),
    }


def check_actual(
    session: ort.InferenceSession, wanted: list[str], require_gpu: bool, model: str
) -> list[str]:
    """Log the providers the session runs on; fail when a GPU was required but is absent."""
    actual = list(session.get_providers())
    if require_gpu and not GPU_PROVIDERS.intersection(actual):
        why = cuda_missing() or "is onnxruntime-gpu installed with its CUDA libraries?"
        raise ProviderUnavailable(
            f"model {model!r}: require_gpu is set but ONNX Runtime runs on {actual} "
            f"(requested {wanted}): {why}"
        )
    fell_back = [p for p in wanted if p not in actual]
    if fell_back:
        log.warning("model %s: requested %s but running on %s", model, wanted, actual)
    else:
        log.info("model %s: running on %s", model, actual)
    return actual
