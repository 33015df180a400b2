"""The runtime: a loaded model ready to run, shared by serving and scoring.

ONNX Runtime sessions (`session`, `providers`: what really runs), `ModelRuntime`
(`model`), input validation (`validation`), text tokenisation (`text/`) and the
runtime's settings and errors. Framework-free — no BentoML, no HTTP, no Arrow —
so online serving and batch scoring run one code path and give identical answers.
Imports only the export contract; never torch, training or the serving and
scoring packages.
"""

from service.runtime.cores import available_cores
from service.runtime.model import ModelRuntime, example_inputs
from service.runtime.providers import GPU_PROVIDERS
from service.runtime.session import open_runtime_session, session_config
from service.runtime.settings import RuntimeSettings
from service.runtime.text import TextTokenizer, Tokens, bucket_bounds, bucket_of
from service.runtime.text.padding import pad_to
from service.runtime.text.settings import TextSettings

__all__ = [
    "GPU_PROVIDERS",
    "ModelRuntime",
    "RuntimeSettings",
    "TextSettings",
    "TextTokenizer",
    "Tokens",
    "available_cores",
    "bucket_bounds",
    "bucket_of",
    "example_inputs",
    "open_runtime_session",
    "pad_to",
    "session_config",
]
