"""Shadow summaries in the registry: one document per serving process and shadow session.

Each process that mirrors requests writes its cumulative summary of a session
(`shadow.<session>.<replica>`, a small document it alone writes, replaced whole every
few seconds), so a lost or repeated write never counts a request twice, and the
report of a session is the merge of its documents: every replica's share of the
traffic. The session is named after the alias revision the shadow began at
(`Rollout.session`), so a shadow started again counts afresh.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

from export.registry import Registry, Rollout
from export.registry.streams import now
from export.shadow.summary import AgreementSummary

log = logging.getLogger("ferry.shadow")
PREFIX = "shadow."


@dataclass
class ShadowRecord:
    """One process's summary of one shadow session of a model's alias."""

    model: str
    alias: str
    primary: str
    shadow: str
    session: str
    replica: str
    summary: AgreementSummary = field(default_factory=AgreementSummary)
    updated_at: str = ""

    @property
    def document(self) -> str:
        return f"{PREFIX}{self.session}.{self.replica}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "alias": self.alias,
            "primary": self.primary,
            "shadow": self.shadow,
            "session": self.session,
            "replica": self.replica,
            "updated_at": self.updated_at or now(),
            "summary": self.summary.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShadowRecord:
        try:
            return cls(
                model=str(data["model"]),
                alias=str(data["alias"]),
                primary=str(data["primary"]),
                shadow=str(data["shadow"]),
                session=str(data["session"]),
                replica=str(data["replica"]),
                summary=AgreementSummary.from_dict(data["summary"]),
                updated_at=str(data.get("updated_at", "")),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"not a shadow record: {err}") from err


@dataclass
class ShadowReport:
    """A session's summary over every replica that wrote one."""

    model: str
    alias: str
    primary: str
    shadow: str
    session: str
    summary: AgreementSummary
    replicas: list[dict[str, Any]] = field(default_factory=list)  # replica, updated_at, requests

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "alias": self.alias,
            "primary": self.primary,
            "shadow": self.shadow,
            "session": self.session,
            "replicas": self.replicas,
            **self.summary.figures(),
            "summary": self.summary.to_dict(),
        }


def save(registry: Registry, record: ShadowRecord) -> None:
    """Replace the process's document of the session with its summary now."""
    registry.document(record.model, record.document).write(record.to_dict())


def records(registry: Registry, model: str) -> list[ShadowRecord]:
    """Every shadow document of `model` (ones that do not parse are logged and left out)."""
    found = []
    for name, data in registry.documents(model, PREFIX).items():
        try:
            found.append(ShadowRecord.from_dict(data))
        except ValueError as err:
            log.warning("%s: shadow document %s left out: %s", model, name, err)
    return found


def reports(registry: Registry, model: str) -> list[ShadowReport]:
    """One report per session, oldest first."""
    sessions: dict[str, list[ShadowRecord]] = {}
    for record in records(registry, model):
        sessions.setdefault(record.session, []).append(record)
    return [merged(parts) for _, parts in sorted(sessions.items())]


def merged(parts: list[ShadowRecord]) -> ShadowReport:
    """The report of one session from its replicas' records."""
    first = parts[0]
    summary = AgreementSummary()
    for part in parts:
        summary = summary.merge(part.summary)
    replicas = [
        {"replica": p.replica, "updated_at": p.updated_at, "requests": p.summary.requests}
        for p in sorted(parts, key=lambda p: p.replica)
    ]
    return ShadowReport(
        first.model, first.alias, first.primary, first.shadow, first.session, summary, replicas
    )


def report(registry: Registry, model: str, alias: str = "production") -> ShadowReport | None:
    """The report of `alias`'s shadow now, else of its latest session (None: never one)."""
    state = registry.alias_state(model)
    rollout = state.rollouts.get(alias, Rollout())
    found = [r for r in reports(registry, model) if r.alias == alias]
    if rollout.shadow is not None:
        for item in found:
            if item.session == rollout.session:
                return item
        primary = state.aliases.get(alias, "")
        empty = AgreementSummary()
        return ShadowReport(model, alias, primary, rollout.shadow, rollout.session, empty)
    return found[-1] if found else None


def replica_id() -> str:
    """This process's name in document names: host, pid and a random tag (a pid is reused
    after a restart; the tag keeps a new process from overwriting an old one's document)."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40].strip("-") or "host"
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
