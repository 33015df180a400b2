"""Drift monitors and the prediction log of one service process, behind one object.

The model set asks it to `watch` each version it loads (and to `forget` each it
retires); the data plane hands it requests to `log`; the routes ask it for a
version's `report`. Either part can be off: monitoring by `FERRY_DRIFT_MONITORING`,
the log unless `FERRY_PREDICTION_LOG_DIR` names a folder.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import numpy as np

from service.runtime import ModelRuntime
from service.serving.errors import NotFound
from service.serving.monitoring.drift import DriftMonitors
from service.serving.monitoring.gauges import DriftGauges
from service.serving.monitoring.observe import Arrays, RunFn, observed
from service.serving.monitoring.predlog.log import PredictionLog
from service.serving.monitoring.settings import DriftSettings, PredictionLogSettings

REQUEST_ID_HEADER = "X-Request-ID"
MAX_REQUEST_ID = 128


class Monitoring:
    """What the service watches and records about the requests it answers."""

    def __init__(
        self,
        drift: DriftSettings | None = None,
        prediction_log: PredictionLogSettings | None = None,
        gauges: DriftGauges | None = None,
    ) -> None:
        drift = drift or DriftSettings()
        prediction_log = prediction_log or PredictionLogSettings()
        self.gauges = gauges
        self.drift: DriftMonitors | None = None
        if drift.drift_monitoring:
            self.drift = DriftMonitors(
                drift,
                on_report=gauges.update if gauges else None,
                on_drop=gauges.drop if gauges else None,
            )
        self._id_prefix = uuid.uuid4().hex[:16]
        self._ids = itertools.count()  # next() is atomic under the GIL
        self._features: dict[tuple[str, str], tuple[str, ...]] = {}
        self.log: PredictionLog | None = None
        if prediction_log.prediction_log_dir is not None:
            self.log = PredictionLog(prediction_log, on_count=gauges.logged if gauges else None)

    def watch(self, runtime: ModelRuntime) -> RunFn:
        """What the version's batcher should run: the model, observed when it has a reference."""
        observe = self.drift.watch(runtime.manifest) if self.drift else None
        return observed(runtime.run, observe) if observe else runtime.run

    def forget(self, runtime: ModelRuntime) -> None:
        """A retired version: free its window and its gauges."""
        if self.drift is not None:
            self.drift.forget(runtime.name, runtime.version)
        if self.gauges is not None and runtime.manifest.drift:
            names = [str(f["name"]) for f in runtime.manifest.drift.get("features", [])]
            self.gauges.forget(runtime.name, runtime.version, names)

    def report(self, model: str, version: str) -> dict[str, Any]:
        """The drift endpoint's body; `NotFound` when monitoring is off, `NoDriftReference`
        (409) for a version published without reference statistics."""
        if self.drift is None:
            raise NotFound("drift monitoring is off in this service (FERRY_DRIFT_MONITORING=false)")
        report = self.drift.report(model, version)
        window = {
            **self.drift.describe(model, version),
            "rows": report.rows,
            "age_s": round(report.age_s, 3),
        }
        return {"model_name": model, "model_version": version, "window": window, **report.to_dict()}

    def request_id(self, given: str | None = None) -> str | None:
        """The id a logged request goes by (the client's, if it sent a usable one);
        None when the log is off, so an unlogged request pays nothing."""
        if self.log is None:
            return None
        if given and len(given) <= MAX_REQUEST_ID and given.isprintable():
            return given
        # a random prefix per process and a counter: unique like a uuid4, a tenth the cost
        return f"{self._id_prefix}{next(self._ids):08x}"

    def record(
        self, request_id: str | None, runtime: ModelRuntime, inputs: Arrays, outputs: Arrays
    ) -> None:
        """Log one answered request, if the log is on and it is sampled."""
        if self.log is None or request_id is None or not self.log.sampled():
            return
        key = (runtime.name, runtime.version)  # a version's features never change
        features = self._features.get(key)
        if features is None:
            features = self._features[key] = tuple(runtime.manifest.features)
        self.log.offer(request_id, runtime.name, runtime.version, inputs, outputs, features)

    def status(self) -> dict[str, Any]:
        return {
            "drift": self.drift is not None,
            "prediction_log": self.log.status() if self.log else None,
        }

    def close(self) -> None:
        if self.drift is not None:
            self.drift.close()
        if self.log is not None:
            self.log.close()


def texts_array(texts: list[str]) -> np.ndarray:
    """A text request's inputs as the log records them (like V2's BYTES tensor)."""
    return np.array(texts, dtype=object)
