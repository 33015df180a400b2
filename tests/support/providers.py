"""What ONNX Runtime really runs on this machine, asked directly (not through ferry)."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
#: What ferry asks for unless `FERRY_PROVIDERS` says otherwise.
DEFAULT = [CUDA, CPU]


def really_runs(model: Path, providers: list[str] | None = None) -> list[str]:
    """The providers a raw session for `model`, asked for `providers`, runs on here.

    On a machine without a GPU that is the CPU alone; on a GPU host, CUDA first. Tests
    compare ferry's report with this instead of expecting the CPU."""
    wanted = [p for p in providers or DEFAULT if p in ort.get_available_providers()]
    session = ort.InferenceSession(str(model), providers=wanted or [CPU])
    return list(session.get_providers())
