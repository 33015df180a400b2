"""`--when-drift`: retrain only when the fresh rows have drifted from what the champion
was trained on, measured against the reference statistics in the champion's manifest."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from export.drift import DriftReport, drift_of, reference_of
from export.errors import NoDriftReference
from export.reference import check_name
from export.registry import Artifact
from training.data import Table
from training.errors import RetrainError
from training.retrain.evaluate import run_graph


@dataclass(frozen=True)
class DriftCheck:
    """What the drift check saw: where, against which version, and which features moved."""

    source: str  # "drops", or the URL of a service's drift endpoint
    version: str
    rows: int
    threshold: float
    drifted: dict[str, float] = field(default_factory=dict)  # feature -> PSI, at or over
    worst: str = ""
    worst_psi: float = 0.0

    @property
    def observed(self) -> bool:
        return bool(self.drifted)

    def reason(self) -> str:
        """One line: why the run goes on, or why it stops."""
        if self.observed:
            listed = ", ".join(f"{name} {value:.3f}" for name, value in self.drifted.items())
            return f"drift in {self.source} against v{self.version}: PSI {listed}"
        return (
            f"no drift in {self.source} ({self.rows} rows) against v{self.version}: highest "
            f"PSI {self.worst_psi:.3f} ({self.worst}) < {self.threshold:g}; "
            "nothing to retrain for (drop --when-drift to retrain anyway)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "observed": self.observed, "reason": self.reason()}


def check_report(report: DriftReport, threshold: float, source: str, version: str) -> DriftCheck:
    """A check from a report: every feature whose PSI is `threshold` or more."""
    drifted = {f.name: round(f.psi, 4) for f in report.features if f.psi >= threshold}
    worst = report.worst()
    return DriftCheck(
        source,
        version,
        report.rows,
        threshold,
        drifted,
        worst.name if worst else "",
        round(worst.psi, 4) if worst else 0.0,
    )


def drift_in_rows(champion: Artifact, fresh: Table, threshold: float) -> DriftCheck:
    """Drift of `fresh` (the drops' rows the champion has not seen) and of the champion's
    predictions on them, against the champion's reference."""
    manifest = champion.manifest
    try:
        reference = reference_of(manifest)
    except NoDriftReference as err:
        raise RetrainError(
            f"{err}; --when-drift needs it: retrain once without --when-drift"
        ) from err
    inputs, outputs = run_graph(champion, np.asarray(fresh.X))
    report = drift_of(reference, inputs, outputs, threshold)
    return check_report(report, threshold, "the drops", manifest.version)


def drift_from_service(url: str, model: str, threshold: float, timeout: float = 10.0) -> DriftCheck:
    """The drift a running service measured on what it served (`GET URL/v2/models/MODEL/drift`):
    every feature whose PSI is `threshold` or more, once its window has rows enough."""
    if not url.startswith(("http://", "https://")):
        raise RetrainError(f"--drift-from {url!r}: expected the service's http(s):// address")
    endpoint = f"{url.rstrip('/')}/v2/models/{check_name(model)}/drift"
    body = _get_json(endpoint, timeout)
    try:
        version = str(body["model_version"])
        rows, enough = int(body["rows"]), bool(body["enough_rows"])
        psi = {str(f["name"]): float(f["psi"]) for f in body["features"] if f["psi"] is not None}
    except (KeyError, TypeError, ValueError) as err:
        raise RetrainError(f"{endpoint}: not a drift report ({err})") from err
    drifted = {name: round(v, 4) for name, v in psi.items() if v >= threshold} if enough else {}
    worst = max(psi, key=lambda name: psi[name], default="")
    source = f"{endpoint} ({'window' if enough else 'window still filling'})"
    return DriftCheck(
        source, version, rows, threshold, drifted, worst, round(psi.get(worst, 0.0), 4)
    )


def _get_json(endpoint: str, timeout: float) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(endpoint, timeout=timeout) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")[:500]
        raise RetrainError(f"{endpoint} answered {err.code}: {detail}") from err
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise RetrainError(f"cannot read the drift report at {endpoint}: {err}") from err
    if not isinstance(data, dict):
        raise RetrainError(f"{endpoint}: not a drift report (got {type(data).__name__})")
    return data
