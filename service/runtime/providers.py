"""Execution providers: ask for what settings name, then report what really runs.

onnxruntime-gpu on a machine without a GPU still lists CUDA as available and
silently falls back to the CPU, so the only truth is `session.get_providers()`.
"""

from __future__ import annotations

import logging
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


def requested(providers: list[str]) -> list[str]:
    """The requested providers this build of ONNX Runtime knows, in order, CPU last."""
    available = set(ort.get_available_providers())
    chosen = [p for p in providers if p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


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
        raise ProviderUnavailable(
            f"model {model!r}: require_gpu is set but ONNX Runtime runs on {actual} "
            f"(requested {wanted}); is a CUDA device visible and onnxruntime-gpu installed?"
        )
    fell_back = [p for p in wanted if p not in actual]
    if fell_back:
        log.warning("model %s: requested %s but running on %s", model, wanted, actual)
    else:
        log.info("model %s: running on %s", model, actual)
    return actual
