"""Canary and shadow settings of an alias, kept in the aliases object beside the alias.

A rollout rides on an alias: `production` points at 3, sends 10% of its traffic to
a canary, 4, and mirrors half of what 3 answers to a shadow, 5:

    "rollouts": {"production": {"canary": "4", "weight": 10.0,
                                "shadow": "5", "fraction": 0.5, "shadow_since": 12}}

Because it lives in the same object as the alias, a rollout moves the way an alias
does: by compare-and-swap, one revision at a time, each change in the history once
(`aliases`), and every replica polling the object applies the same split. Moving the
alias itself (`promote`, `rollback`) ends its rollout: a canary or shadow is judged
against the version the alias pointed at, and that changed.

`shadow_since` is the alias revision the shadow began at; it names the shadow's
report session, so the agreement of 5 with 3 is counted afresh each time a shadow
of 5 is started, and a change of `fraction` alone keeps counting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from export.errors import ExportError

if TYPE_CHECKING:
    from export.registry.aliases import AliasState

#: Canary weights are percentages in steps of 1/RESOLUTION of the traffic (0.01%).
RESOLUTION = 10_000


@dataclass(frozen=True)
class Rollout:
    """An alias's canary (a share of its traffic) and shadow (a mirrored share)."""

    canary: str | None = None
    weight: float = 0.0  # percent of the alias's requests answered by the canary
    shadow: str | None = None
    fraction: float = 0.0  # share of the alias's answered requests mirrored to the shadow
    shadow_since: int = 0  # the alias revision the shadow began at (its report session)

    @property
    def empty(self) -> bool:
        return self.canary is None and self.shadow is None

    @property
    def session(self) -> str:
        """The name of the shadow's report session (`r` and its starting revision)."""
        return f"r{self.shadow_since:08d}"

    def versions(self) -> tuple[str, ...]:
        """The versions the rollout needs loaded beside the alias's own."""
        return tuple(v for v in (self.canary, self.shadow) if v is not None)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.canary is not None:
            body.update(canary=self.canary, weight=self.weight)
        if self.shadow is not None:
            body.update(shadow=self.shadow, fraction=self.fraction, shadow_since=self.shadow_since)
        return body

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rollout:
        canary, shadow = data.get("canary"), data.get("shadow")
        return cls(
            canary=None if canary is None else str(canary),
            weight=float(data.get("weight", 0.0)) if canary is not None else 0.0,
            shadow=None if shadow is None else str(shadow),
            fraction=float(data.get("fraction", 0.0)) if shadow is not None else 0.0,
            shadow_since=int(data.get("shadow_since", 0)) if shadow is not None else 0,
        )

    def describe(self) -> str:
        """`canary 4 at 10%, shadow 5 at 50%` (or `-`), for tables and logs."""
        parts = []
        if self.canary is not None:
            parts.append(f"canary {self.canary} at {self.weight:g}%")
        if self.shadow is not None:
            parts.append(f"shadow {self.shadow} at {self.fraction * 100:g}%")
        return ", ".join(parts) or "-"


@dataclass(frozen=True)
class Step:
    """What one move does to an alias: the version it points at after it, the event's
    name, the alias's rollout after it (None: none) and what the event records."""

    version: str
    event: str
    rollout: Rollout | None = None
    details: dict[str, Any] = field(default_factory=dict)


#: Chooses a move from the state it applies to and the alias it moves.
Plan = Callable[["AliasState", str], Step]


def check_weight(weight: float) -> float:
    """A canary weight: a percentage from 0 to 100, in steps of 0.01."""
    if not math.isfinite(weight) or not 0 <= weight <= 100:
        raise ExportError(f"canary weight must be a percentage from 0 to 100, got {weight!r}")
    steps = weight * RESOLUTION / 100
    if abs(steps - round(steps)) > 1e-6:
        raise ExportError(f"canary weight {weight!r}: give it in steps of 0.01 (percent)")
    return round(steps) * 100 / RESOLUTION


def check_fraction(fraction: float) -> float:
    """A shadow fraction: a share above 0, at most 1."""
    if not math.isfinite(fraction) or not 0 < fraction <= 1:
        raise ExportError(f"shadow fraction must be above 0 and at most 1, got {fraction!r}")
    return float(fraction)


def canary_plan(version: str | None, weight: float) -> Plan:
    """A plan that gives the alias's canary to `version` at `weight` percent; weight 0
    (or no version) ends the canary."""

    def plan(state: AliasState, alias: str) -> Step:
        primary, rollout = _current(state, alias, "a canary")
        if version is None or weight == 0:
            if rollout.canary is None:
                raise ExportError(f"alias {alias!r} has no canary to end")
            ended = {"canary": rollout.canary, "weight": 0.0, "was": rollout.weight}
            return Step(primary, "canary-end", replace(rollout, canary=None, weight=0.0), ended)
        if version == primary:
            raise ExportError(
                f"alias {alias!r} points at {version} already; a canary is another version"
            )
        started = {"canary": version, "weight": weight}
        if rollout.canary is not None:
            started.update(was={"canary": rollout.canary, "weight": rollout.weight})
        return Step(primary, "canary", replace(rollout, canary=version, weight=weight), started)

    return plan


def shadow_plan(version: str | None, fraction: float) -> Plan:
    """A plan that mirrors `fraction` of the alias's answered requests to `version`;
    no version ends the shadow."""

    def plan(state: AliasState, alias: str) -> Step:
        primary, rollout = _current(state, alias, "a shadow")
        if version is None:
            if rollout.shadow is None:
                raise ExportError(f"alias {alias!r} has no shadow to end")
            ended = {"shadow": rollout.shadow, "session": rollout.session}
            off = replace(rollout, shadow=None, fraction=0.0, shadow_since=0)
            return Step(primary, "shadow-end", off, ended)
        since = rollout.shadow_since if rollout.shadow == version else state.revision + 1
        on = replace(rollout, shadow=version, fraction=fraction, shadow_since=since)
        details = {"shadow": version, "fraction": fraction, "session": on.session}
        return Step(primary, "shadow", on, details)

    return plan


def _current(state: AliasState, alias: str, what: str) -> tuple[str, Rollout]:
    primary = state.aliases.get(alias)
    if primary is None:
        raise ExportError(f"alias {alias!r} points at nothing; promote a version before {what}")
    return primary, state.rollouts.get(alias, Rollout())
