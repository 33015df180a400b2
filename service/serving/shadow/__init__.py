"""Shadow scoring in the service: mirrored requests compared off the request path.

The model set mirrors a share of what an alias's version answers to the alias's
shadow (`ModelSet.mirror`); `worker` queues and compares them on its own thread;
`compare` runs the shadow version; `gauges` (Prometheus); `endpoint` (the report
route's body); `settings`. The agreement math and the registry documents are the
export contract's (`export.shadow`).
"""

from __future__ import annotations

from service.serving.shadow.endpoint import shadow_body
from service.serving.shadow.gauges import ShadowGauges
from service.serving.shadow.jobs import Job, Route, Session
from service.serving.shadow.settings import ShadowSettings
from service.serving.shadow.worker import ShadowWorker

__all__ = [
    "Job",
    "Route",
    "Session",
    "ShadowGauges",
    "ShadowSettings",
    "ShadowWorker",
    "shadow_body",
]
