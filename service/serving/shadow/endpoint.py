"""`GET /v2/models/{name}/shadow`: the shadow's agreement, here and over every replica."""

from __future__ import annotations

from typing import Any

from export.registry import Registry, Rollout
from export.shadow import report
from service.serving.shadow.jobs import Session
from service.serving.shadow.worker import ShadowWorker


def shadow_body(
    worker: ShadowWorker,
    registry: Registry | None,
    model: str,
    alias: str,
    primary: str,
    rollout: Rollout,
) -> dict[str, Any]:
    """The alias's shadow now (or its latest session): this process's summary (`local`,
    live) and, when summaries are written to the registry, the merge of every
    replica's (`replicas`, as last written). Reads the registry: call off the loop."""
    sessions = worker.sessions(model)
    session: Session | None = None
    if rollout.shadow is not None:
        session = Session(model, alias, primary, rollout.shadow, rollout.session)
    elif sessions:
        session = sessions[-1]
    body: dict[str, Any] = {
        "model_name": model,
        "alias": alias,
        "rollout": rollout.to_dict(),
        "local": None,
        "replicas": None,
    }
    if session is not None:
        record = worker.record(session)
        body["local"] = {
            "primary": session.primary,
            "shadow": session.shadow,
            "session": session.session,
            "replica": worker.replica,
            **record.summary.figures(),
            "summary": record.summary.to_dict(),
        }
    if registry is not None:
        merged = report(registry, model, alias)
        body["replicas"] = merged.to_dict() if merged is not None else None
    return body
