"""The one place ferry opens an ONNX Runtime session.

Everything that runs a graph — parity and variant checks at export, the champion
on a retraining holdout, the service and the batch scorer (through
`service.runtime.session`, which turns settings into a `SessionConfig`), the
benchmarks — comes through `open_session`, so threads, providers and memory
options are set one way and the providers that really run can be read back.
Torch-free: onnxruntime only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnxruntime as ort

CPU = "CPUExecutionProvider"
# Provider fallbacks are reported by the caller from `session.get_providers()`;
# ONNX Runtime's own warnings about them would only repeat it, louder.
ort.set_default_logger_severity(3)

#: A provider name, or (name, options) as ONNX Runtime takes it.
Provider = str | tuple[str, dict[str, str]]


@dataclass(frozen=True)
class SessionConfig:
    """How a session is made: providers in order of preference and its thread pools."""

    providers: tuple[Provider, ...] = (CPU,)
    intra_op_threads: int = 1
    inter_op_threads: int = 1
    # A memory pattern is planned per input shape; with batch sizes that vary it is
    # allocated anew beside the arena on first reuse (a CNN at 16k rows: 200 MB more).
    mem_pattern: bool = True
    # Whether idle intra-op threads spin for more work before they sleep: it saves a
    # wake-up per parallel section when the session has the cores to itself, and burns
    # cores that other threads of the process (a scoring pipeline's readers) need.
    spin: bool = True


def open_session(path: str | Path, config: SessionConfig | None = None) -> ort.InferenceSession:
    """An inference session for the graph at `path`.

    Raises what ONNX Runtime raises for an unreadable graph (subclasses of plain
    `Exception`); callers that must survive a bad artifact catch it.
    """
    config = config or SessionConfig()
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.intra_op_threads
    options.inter_op_num_threads = config.inter_op_threads
    options.enable_mem_pattern = config.mem_pattern
    if config.intra_op_threads > 1:
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if config.spin else "0"
        )
    providers: list[Any] = list(config.providers)
    return ort.InferenceSession(str(path), options, providers=providers)
