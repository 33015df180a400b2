"""Settings of the online server, read once at start-up from `FERRY_*` environment variables.

One class per concern; the runtime's own (`RuntimeSettings`) is in `service.runtime.settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.runtime.settings import split_list


class RegistrySettings(BaseSettings):
    """Where artifacts live and which of them to serve."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    # A folder, file://PATH or s3://BUCKET/PREFIX (export.registry reads it).
    registry: str = "registry"
    # Where versions read from a remote registry are kept, by sha256 (None: the
    # registry's default, ~/.cache/ferry).
    cache_dir: Path | None = None
    # Empty: every model in the registry that has the alias below.
    models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    alias: str = "production"
    # Versions kept loaded beside the alias: "alias" (only it), "aliases" (every version
    # some alias points to) or "latest:N" (the N newest versions, plus the alias).
    versions: str = Field(default="alias", pattern=r"^(alias|aliases|latest:[1-9][0-9]*)$")

    # Without FERRY_MODELS, how often the registry's model folders are listed to find new
    # models (one request); polls between listings cost one conditional read per model.
    discovery_interval_s: float = Field(default=60.0, ge=0)

    @field_validator("models", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        # FERRY_MODELS=tabular,digits reads more naturally than a JSON list.
        return split_list(value)

    @field_validator("registry", mode="before")
    @classmethod
    def _location(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value


class BatchSettings(BaseSettings):
    """Adaptive batching: batches form from what queues while the model is busy."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    max_batch_size: int = Field(default=64, ge=1)
    # How long a request may wait for others to join it when the model is idle;
    # 0 dispatches at once, so a lone request never pays for batching.
    max_latency_ms: float = Field(default=0.0, ge=0)
    # Rows waiting beyond this are refused with 429 and Retry-After, not dropped.
    max_queue_rows: int = Field(default=4096, ge=1)
    max_rows_per_request: int = Field(default=1024, ge=1)
    retry_after_s: int = Field(default=1, ge=1)
    # Batches of a model faster than this run on the event loop instead of the worker
    # thread (see service.serving.batcher); 0 always uses the thread.
    inline_below_ms: float = Field(default=0.5, ge=0)
    # Text models: most tokens in one batch, counted padded (rows x the longest row),
    # as well as max_batch_size rows; 0 bounds batches by rows alone.
    max_batch_tokens: int = Field(default=4096, ge=0)


class HttpSettings(BaseSettings):
    """The HTTP server around the models."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    timeout_s: int = Field(default=60, ge=1)
    # BentoML's access log costs about a quarter of throughput on small models.
    access_log: bool = False
    # OpenTelemetry spans of inference requests, their queue wait, batch and model run
    # (service.serving.tracing), under the caller's traceparent. BentoML's spans on
    # every request cost about 30% of throughput on small models (measured 509 -> 703
    # req/s); off, inference pays nothing for tracing.
    trace_inference: bool = False
    # How long a thread may hold the GIL while another waits for it (Python's default is
    # 5 ms): the event loop waits at most this long for the shadow, drift and log threads.
    # 1 ms measured the shadow's p99 cost at 1.05-1.14x instead of 1.19-1.27x.
    gil_switch_ms: float = Field(default=1.0, gt=0, le=100)
    # Answer the inference paths in `service.serving.front`, outside BentoML's per-request
    # middleware; off sends them through BentoML's stack (for comparison).
    lean_front: bool = True
    # 16 MiB holds the default 1,024 rows per request at up to 16 KB of JSON each (a
    # digits row is about 1.3 KB); a larger declared Content-Length is refused unread.
    max_body_bytes: int = Field(default=16 << 20, ge=1024)
    # A body must arrive within this, so a slow client holds a connection for seconds,
    # not the whole request timeout.
    body_timeout_s: float = Field(default=10.0, gt=0)

    @property
    def untraced_paths(self) -> str:
        return "" if self.trace_inference else "/infer$,/predict$,/v1/embeddings$"


class RefreshSettings(BaseSettings):
    """Following alias moves in the registry while serving."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    # Seconds between registry polls; 0 turns polling off (the admin endpoint still works).
    refresh_interval_s: float = Field(default=5.0, ge=0)
    # Bearer token for POST /admin/refresh; empty disables the endpoint.
    admin_token: str = ""
    # A registry read (listing, resolving an alias) that takes longer is reported as a
    # registry failure; reads run off the event loop, so a hung volume never stalls serving.
    registry_timeout_s: float = Field(default=30.0, gt=0)
    # After a refresh that changed what is served, collect garbage and freeze what is
    # left (`gc.freeze`), so later full collections are milliseconds, not 100+ ms.
    gc_freeze: bool = True


class MetricsSettings(BaseSettings):
    """Where Prometheus series are kept between a service's worker processes."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    # Each service instance's multiprocess folder goes under this (default: beside
    # BentoML's shared one, `$BENTOML_HOME/ferry-prometheus`).
    metrics_dir: Path | None = None


class GrpcSettings(BaseSettings):
    """The Open Inference Protocol's gRPC server, beside HTTP (it binds `FERRY_HOST`)."""

    model_config = SettingsConfigDict(env_prefix="FERRY_GRPC_", extra="ignore")

    # Triton's gRPC port, where tritonclient users look first; 0 turns gRPC off.
    port: int = Field(default=8001, ge=0, le=65535)
    # Largest request or response message; tritonclient's own limit is 2 GiB.
    max_message_bytes: int = Field(default=64 << 20, ge=4096)
