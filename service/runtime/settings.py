"""How ONNX Runtime sessions are made: read once at start-up from `FERRY_*` variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


class RuntimeSettings(BaseSettings):
    """How ONNX Runtime sessions are created."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    # NoDecode: a comma-separated list, not JSON, reaches the validator below.
    providers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_PROVIDERS)
    )
    require_gpu: bool = False
    device_id: int = Field(default=0, ge=0)
    # TensorRT: shape profiles cover batches of 1..trt_max_batch rows; engines are
    # cached here so a restart does not rebuild them (minutes per model).
    trt_max_batch: int = Field(default=1024, ge=1)
    trt_cache_dir: Path = Path("~/.cache/ferry/tensorrt")
    trt_fp16: bool = False
    intra_op_threads: int = Field(default=1, ge=0)
    warmup_rows: tuple[int, ...] = (1, 8, 64)

    @field_validator("providers", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_list(value)


def split_list(value: object) -> object:
    """`a,b` or a JSON list `["a", "b"]` from the environment; anything else unchanged."""
    if not isinstance(value, str):
        return value
    if value.lstrip().startswith("["):
        return json.loads(value)
    return [v.strip() for v in value.split(",") if v.strip()]
