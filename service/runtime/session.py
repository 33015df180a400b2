"""Runtime settings → an ONNX Runtime session on the providers they ask for.

`export.session.open_session` opens every session ferry makes; this module adds
what serving and scoring need on top: the providers this build of ONNX Runtime
has, with GPU options, and a check of what really runs.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from export.session import SessionConfig, open_session
from export.signature import Signature
from service.runtime.providers import check_actual, requested, with_options
from service.runtime.settings import RuntimeSettings


def session_config(
    settings: RuntimeSettings, signature: Signature, max_length: int = 128, threads: int = 1
) -> SessionConfig:
    """The session the settings describe for a graph of this signature, on `threads`
    intra-op threads (the model's placement decides how many: `service.runtime.placement`)."""
    wanted = requested(settings.providers)
    return SessionConfig(
        providers=tuple(with_options(wanted, signature, settings, max_length)),
        intra_op_threads=threads,
        inter_op_threads=1,
        mem_pattern=False,  # batch sizes vary; see SessionConfig.mem_pattern
        spin=settings.spin,
    )


def open_runtime_session(
    path: Path,
    settings: RuntimeSettings,
    signature: Signature,
    name: str,
    max_length: int = 128,
    threads: int = 1,
) -> tuple[ort.InferenceSession, list[str]]:
    """A session and the providers it really runs on (checked against `require_gpu`)."""
    config = session_config(settings, signature, max_length, threads)
    session = open_session(path, config)
    wanted = [p if isinstance(p, str) else p[0] for p in config.providers]
    return session, check_actual(session, wanted, settings.require_gpu, name)
