"""The runtime: a loaded model ready to run, shared by serving and scoring.

ONNX Runtime sessions (`session`, `providers`: what really runs), `ModelRuntime`
(`model`), input validation (`validation`), text tokenisation (`text/`) and the
runtime's settings and errors. Framework-free — no BentoML, no HTTP, no Arrow —
so online serving and batch scoring run one code path and give identical answers.
Imports only the export contract; never torch, training or the serving and
scoring packages.
"""

from service.runtime.model import ModelRuntime, example_inputs
from service.runtime.settings import RuntimeSettings

__all__ = ["ModelRuntime", "RuntimeSettings", "example_inputs"]
