"""Prometheus figures of drift and of the prediction log.

Labels are bounded: a version's features come from its signature (at most a few
dozen), and versions are those the service keeps loaded. prometheus_client cannot
remove labels in multiprocess mode (BentoML's), so a retired version's figures keep
their last values until the worker restarts; `ferry_model_info` says which serves.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import prometheus_client as prom

from export.drift import DriftReport

VERSION = ["model", "version"]
FEATURE = ["model", "version", "feature"]


@dataclass
class DriftGauges:
    psi: prom.Gauge
    ks: prom.Gauge
    wasserstein: prom.Gauge
    drifted: prom.Gauge
    window_rows: prom.Gauge
    window_age: prom.Gauge
    dropped: prom.Counter
    log_records: prom.Counter

    @classmethod
    def create(cls, registry: prom.CollectorRegistry | None = prom.REGISTRY) -> DriftGauges:
        """Created at service start, like `service.serving.metrics.Metrics`."""

        def gauge(name: str, doc: str, labels: list[str]) -> prom.Gauge:
            return prom.Gauge(name, doc, labels, registry=registry, multiprocess_mode="livemax")

        return cls(
            gauge("ferry_drift_psi", "PSI of each feature over the drift window", FEATURE),
            gauge("ferry_drift_ks", "KS statistic of each numeric feature", FEATURE),
            gauge(
                "ferry_drift_wasserstein",
                "Wasserstein-1 of each numeric feature, in reference standard deviations",
                FEATURE,
            ),
            gauge(
                "ferry_drift_drifted",
                "1 when some feature's PSI is at or over the threshold (with rows enough)",
                VERSION,
            ),
            gauge("ferry_drift_window_rows", "Rows in the drift window", VERSION),
            gauge("ferry_drift_window_age_seconds", "Age of the oldest row in the window", VERSION),
            prom.Counter(
                "ferry_drift_dropped_rows",
                "Served rows not watched for drift (queue full or features failed)",
                VERSION,
                registry=registry,
            ),
            prom.Counter(
                "ferry_prediction_log_records",
                "Prediction log records by result: written, dropped (queue or folder full) "
                "or failed (folder unwritable); requests sampled out are not counted",
                ["result"],
                registry=registry,
            ),
        )

    def update(self, model: str, version: str, report: DriftReport) -> None:
        for feature in report.features:
            self.psi.labels(model, version, feature.name).set(_value(feature.psi))
            if feature.ks is not None:
                self.ks.labels(model, version, feature.name).set(_value(feature.ks))
            if feature.wasserstein is not None:
                value = _value(feature.wasserstein)
                self.wasserstein.labels(model, version, feature.name).set(value)
        self.drifted.labels(model, version).set(1 if report.drifted else 0)
        self.window_rows.labels(model, version).set(report.rows)
        self.window_age.labels(model, version).set(report.age_s)

    def drop(self, model: str, version: str, rows: int) -> None:
        self.dropped.labels(model, version).inc(rows)

    def logged(self, result: str, records: int = 1) -> None:
        self.log_records.labels(result).inc(records)

    def forget(self, model: str, version: str, features: list[str]) -> None:
        """A retired version: its labels go where prometheus_client can remove them."""
        if _multiprocess():
            self.drifted.labels(model, version).set(0)
            self.window_rows.labels(model, version).set(0)
            return
        for gauge in (self.psi, self.ks, self.wasserstein):
            for feature in features:
                gauge.remove(model, version, feature)  # absent labels are ignored
        for metric in (self.drifted, self.window_rows, self.window_age, self.dropped):
            metric.remove(model, version)


def _value(value: float) -> float:
    return value if math.isfinite(value) else float("nan")


def _multiprocess() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ
