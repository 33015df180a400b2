"""How ONNX Runtime sessions are made: read once at start-up from `FERRY_*` variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")

#: A count of threads or instances: a number, or "auto" (decided per model at load).
Count = Literal["auto"] | Annotated[int, Field(ge=1)]


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
    # ONNX Runtime threads per session and sessions (instances, batches in flight) per
    # model: "auto" decides at load (service.runtime.placement), a number overrides it
    # for every model, and FERRY_MODEL_THREADS / FERRY_MODEL_INSTANCES
    # ("text-embed:4,tabular:1") override both for the models they name.
    intra_op_threads: Count = "auto"
    instances: Count = "auto"
    model_threads: Annotated[dict[str, Count], NoDecode] = Field(default_factory=dict)
    model_instances: Annotated[dict[str, Count], NoDecode] = Field(default_factory=dict)
    # A model whose rows take at least this long (one thread, measured at load) is
    # compute-bound and gets every core; batch scoring uses its own, lower bound.
    compute_bound_us: float = Field(default=100.0, gt=0)
    # auto: one instance per this many cores for a compute-bound model.
    cores_per_instance: int = Field(default=8, ge=1)
    # Rows of the batch timed at load to measure a model's time per row: large enough
    # that ONNX Runtime's fixed cost per run (~10-20 us) is a small part of it.
    probe_rows: int = Field(default=64, ge=1)
    # Whether idle intra-op threads of a multi-threaded session spin before they sleep
    # (export.session.SessionConfig.spin). Off: the event loop, the tokenizer and a scoring
    # pipeline's readers share the cores (measured on 2 shared cores, MiniLM at 32
    # clients: 13.4 sentences/s off, 9.7 on; a 300-text scoring job 10-20% faster off).
    spin: bool = False
    warmup_rows: tuple[int, ...] = (1, 8, 64)

    @field_validator("providers", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_list(value)

    @field_validator("model_threads", "model_instances", mode="before")
    @classmethod
    def _per_model(cls, value: object) -> object:
        return split_pairs(value)


def split_list(value: object) -> object:
    """`a,b` or a JSON list `["a", "b"]` from the environment; anything else unchanged."""
    if not isinstance(value, str):
        return value
    if value.lstrip().startswith("["):
        return json.loads(value)
    return [v.strip() for v in value.split(",") if v.strip()]


def split_pairs(value: object) -> object:
    """`a:1,b:auto` or a JSON object from the environment as a dict; anything else unchanged.

    A malformed pair raises `ValueError` naming it, which pydantic reports with the field.
    """
    if not isinstance(value, str):
        return value
    if value.lstrip().startswith("{"):
        return json.loads(value)
    pairs = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, count = item.rpartition(":")
        if not sep or not name.strip() or not count.strip():
            raise ValueError(f"expected MODEL:COUNT pairs separated by commas, got {item!r}")
        pairs[name.strip()] = count.strip()
    return pairs
