"""Batch scoring settings, read from `FERRY_SCORE_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.runtime.settings import RuntimeSettings


class ScoreSettings(BaseSettings):
    """How batch jobs split their work and, on Ray, how many actors and GPUs they use."""

    model_config = SettingsConfigDict(env_prefix="FERRY_SCORE_", extra="ignore")

    # Rows per part: one model run, one unit of progress and of resumption.
    batch_rows: int = Field(default=65536, ge=1)
    # Parts that may wait between pipeline stages; bounds memory at a few parts.
    queue_parts: int = Field(default=2, ge=1)
    # Ray: actors in the pool (each holds one ONNX Runtime session) and what each reserves.
    ray_actors: int = Field(default=2, ge=1)
    ray_num_gpus: float = Field(default=0.0, ge=0)
    ray_num_cpus: float = Field(default=1.0, gt=0)
    # CPUs of the local Ray instance started when RAY_ADDRESS is not set.
    ray_local_cpus: int = Field(default=2, ge=1)
    # A model whose rows take at least this long (one thread, measured at load) is
    # compute-bound: reading, converting and writing cost about 1 us per row, so a
    # slower model is what the job waits for, and it gets every core.
    compute_bound_us: float = Field(default=2.0, gt=0)
    # Text models: a part's texts run sorted by length in batches of at most this many
    # tokens once padded (ONNX Runtime's speed per token levels off near 1,000).
    batch_tokens: int = Field(default=8192, ge=1)


def scoring_runtime(base: RuntimeSettings, settings: ScoreSettings) -> RuntimeSettings:
    """`base` for a local job: one instance (the job runs one part at a time, so every
    core goes to that part's threads) and scoring's own compute-bound bound."""
    return base.model_copy(
        update={
            "compute_bound_us": settings.compute_bound_us,
            # auto, and one instance per more cores than any machine has: always one
            "instances": "auto",
            "model_instances": {},
            "cores_per_instance": 1 << 30,
        }
    )
