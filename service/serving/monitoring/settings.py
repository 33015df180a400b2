"""Settings of drift monitoring and of the prediction log, read once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from export.drift import WindowSettings


class DriftSettings(BaseSettings):
    """Drift of every served version against the reference statistics in its manifest."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    # On by default: measured at 32 clients it costs less than the run-to-run noise
    # (README, "Drift in the service").
    drift_monitoring: bool = True
    drift_window_rows: int = Field(default=1000, ge=1)
    drift_window_s: float = Field(default=3600.0, gt=0)
    # A window with fewer rows is reported but never called drifted.
    drift_min_rows: int = Field(default=500, ge=1)
    drift_threshold: float = Field(default=0.2, ge=0)
    # Batches waiting for the monitoring thread; beyond it they are dropped and counted,
    # so a slow monitor never holds up a request.
    drift_queue_batches: int = Field(default=16384, ge=1)
    # How often the monitoring thread takes what queued (all of it at once).
    drift_poll_s: float = Field(default=0.25, gt=0)
    # How often the gauges are recomputed for versions that served rows since.
    drift_report_s: float = Field(default=10.0, gt=0)

    def window(self) -> WindowSettings:
        return WindowSettings(self.drift_window_rows, self.drift_window_s, self.drift_min_rows)


class PredictionLogSettings(BaseSettings):
    """A sampled log of requests (inputs may be personal data: off unless a folder is set)."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    # a folder, file://PATH or an object-store URL (s3://bucket/prefix), as a registry's
    prediction_log_dir: str | Path | None = None
    # Share of requests logged (each with all its rows).
    prediction_log_sample: float = Field(default=1.0, gt=0, le=1)
    # Requests waiting for the writer; beyond it they are dropped and counted.
    prediction_log_queue: int = Field(default=20_000, ge=1)
    # A file is closed (and a new one begun) after this many rows or seconds.
    prediction_log_file_rows: int = Field(default=100_000, ge=1)
    prediction_log_file_s: float = Field(default=300.0, gt=0)
    # The folder's log files may take this much; past it records are dropped and counted.
    prediction_log_max_bytes: int = Field(default=1 << 30, ge=1)
