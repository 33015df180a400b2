"""Watching what the service serves: drift per model version, and the prediction log.

`hub.Monitoring` is what the rest of the server sees; `drift` (the monitors and
their thread), `observe` (the hook in the batcher's run), `gauges` (Prometheus),
`predlog/` (records, rotating Parquet files, the writer thread), `settings`.
The drift math itself is the export contract's (`export.drift`).
"""

from __future__ import annotations

from service.serving.monitoring.hub import REQUEST_ID_HEADER, Monitoring, texts_array
from service.serving.monitoring.settings import DriftSettings, PredictionLogSettings

__all__ = [
    "REQUEST_ID_HEADER",
    "DriftSettings",
    "Monitoring",
    "PredictionLogSettings",
    "texts_array",
]
