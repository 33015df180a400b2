"""Execution providers: ask for what settings name, then report what really runs.

onnxruntime-gpu on a machine without a GPU still lists CUDA as available and
silently falls back to the CPU, so the only truth is `session.get_providers()`.
"""

from __future__ import annotations

import logging

import onnxruntime as ort

from service.errors import ProviderUnavailable

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
