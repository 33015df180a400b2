"""Settings of shadow scoring in the service, read once at start-up."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ShadowSettings(BaseSettings):
    """How mirrored requests wait, are compared and reported (`FERRY_SHADOW_*`)."""

    model_config = SettingsConfigDict(env_prefix="FERRY_SHADOW_", extra="ignore")

    # Mirrored requests waiting for the shadow thread; beyond it they are dropped and
    # counted, so the shadow never holds up (or holds memory for) the callers.
    queue_requests: int = Field(default=4096, ge=1)
    # How often the shadow thread takes what queued (all of it at once).
    poll_s: float = Field(default=0.25, gt=0)
    # Rows the shadow version runs at once (larger queued groups are split).
    max_rows: int = Field(default=1024, ge=1)
    # How often the gauges are updated and the summaries written to the registry.
    report_s: float = Field(default=10.0, gt=0)
    # Write each process's summaries to the registry (`ferry models shadow-report`
    # and the promotion gate read them there); off, only /metrics and the endpoint.
    persist: bool = True
