"""Promotion on live traffic: move an alias to its shadow only if the shadow agreed.

`promote_if_agreed` reads the shadow report of `version` against the version the
alias points at, checks it (enough requests, none failed, agreement at or above the
threshold) and then moves the alias by compare-and-swap, expecting the version the
report was about: if the alias moved meanwhile the report is stale, and the move
is refused with `Conflict`. A refusal raises `GateRefused`. Either way the decision
goes to the model's audit stream, and a promotion to its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from export.errors import GateRefused
from export.registry import PRODUCTION, Registry
from export.shadow.store import ShadowReport, report

GATE = "shadow-agreement"


@dataclass(frozen=True)
class Verdict:
    """The gate's answer and the figures behind it."""

    passed: bool
    reason: str
    figures: dict[str, Any]


def judge(
    found: ShadowReport | None,
    name: str,
    primary: str | None,
    version: str,
    threshold: float,
    min_requests: int,
) -> Verdict:
    """Whether `found` lets the alias move from `primary` to `version`."""
    if found is None or found.shadow != version or found.primary != primary:
        return Verdict(
            False,
            f"no shadow report of version {version} against {primary or 'nothing'}; "
            f"start one with `ferry models shadow {name} {version}`",
            {},
        )
    figures = found.summary.figures()
    agreement, requests, failed = figures["agreement"], figures["requests"], figures["failed"]
    what = "label agreement" if figures["kind"] == "labels" else "mean cosine"
    if requests < min_requests:
        return Verdict(
            False, f"the shadow compared {requests} requests, fewer than {min_requests}", figures
        )
    if failed:
        return Verdict(False, f"the shadow failed {failed} of the mirrored requests", figures)
    if agreement is None or agreement < threshold:
        shown = "-" if agreement is None else f"{agreement:.4f}"
        return Verdict(False, f"{what} {shown} is below {threshold:g}", figures)
    return Verdict(
        True, f"{what} {agreement:.4f} ≥ {threshold:g} over {requests} requests", figures
    )


def promote_if_agreed(
    registry: Registry,
    name: str,
    version: str,
    threshold: float,
    min_requests: int = 100,
    alias: str = PRODUCTION,
    reason: str = "",
) -> tuple[str | None, Verdict]:
    """Promote `version` if its shadow report passes; return (previous version, verdict).

    Raises `GateRefused` (nothing moved) when it does not, `Conflict` when the alias
    moved after the report was read."""
    primary = registry.aliases(name).get(alias)
    found = report(registry, name, alias)
    verdict = judge(found, name, primary, version, threshold, min_requests)
    entry = _audit_entry(found, primary, version, threshold, min_requests, verdict, alias)
    if not verdict.passed:
        registry.append_audit(name, {**entry, "decision": "refused"})
        raise GateRefused(f"model {name!r}: not promoting {version}: {verdict.reason}")
    details = {
        "gate": {
            "name": GATE,
            "measure": verdict.figures["kind"],
            "agreement": verdict.figures["agreement"],
            "threshold": threshold,
            "requests": entry["requests"],
            "min_requests": min_requests,
            "session": entry["session"],
        }
    }
    previous = registry.promote(
        name, version, alias, reason or f"shadow agreement: {verdict.reason}", details, primary
    )
    registry.append_audit(name, {**entry, "decision": "promoted"})
    return previous, verdict


def _audit_entry(
    found: ShadowReport | None,
    primary: str | None,
    version: str,
    threshold: float,
    min_requests: int,
    verdict: Verdict,
    alias: str,
) -> dict[str, Any]:
    """The decision as the audit stream keeps it, in the retraining decisions' shape."""
    figures = verdict.figures
    return {
        "kind": GATE,
        "alias": alias,
        "champion": primary,
        "challenger": version,
        "primary_metric": "agreement",
        "metrics": {"challenger": {"agreement": figures.get("agreement")}},
        "holdout": {"rows": figures.get("rows", 0), "source": "live traffic (shadow)"},
        "requests": figures.get("requests", 0),
        "threshold": threshold,
        "min_requests": min_requests,
        "session": found.session if found else None,
        "figures": figures,
        "reason": verdict.reason,
    }
