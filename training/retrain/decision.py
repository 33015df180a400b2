"""A retraining decision, the rule that makes it, and its crash-safe commit.

Committing moves an alias and appends to the audit log: two files. A small journal,
`<root>/<model>/.retrain-pending.json`, written before the alias moves and removed after
the audit entry is on disk, lets the next run finish the job after a crash: if the
alias moved (its history event carries the decision id) the audit entry is appended,
otherwise the journal is dropped and no entry is written for a decision that did not
happen.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from export.manifest import atomic_write_text
from export.registry import PRODUCTION, Registry
from training.retrain.evaluate import LOWER_IS_BETTER, better_or_close
from training.retrain.faults import crash_point

PROMOTED = "promoted"
KEPT = "kept-as-staging"
SKIPPED = "skipped"
STAGING = "staging"
PENDING = ".retrain-pending.json"


@dataclass(frozen=True)
class Decision:
    """What one retraining run decided, and everything needed to audit it."""

    model: str
    decision: str  # promoted | kept-as-staging | skipped
    reason: str
    champion: str | None = None
    challenger: str | None = None
    alias: str | None = None  # the alias moved to the challenger
    primary_metric: str = ""
    tolerance: float = 0.0
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    holdout: dict[str, Any] = field(default_factory=dict)  # rows, source, fingerprint
    data_fingerprint: str = ""
    drops: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    id: str = ""
    at: str = ""
    drift: dict[str, Any] = field(default_factory=dict)  # the `--when-drift` check, if run

    @property
    def recorded(self) -> bool:
        """Whether this decision belongs in the audit log (a skip does not)."""
        return self.decision != SKIPPED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge(
    metric: str,
    tolerance: float,
    champion: str | None,
    scores: dict[str, dict[str, float]],
) -> tuple[str, str, str]:
    """(decision, alias to move, reason): promote unless the challenger is worse on
    `metric` than the champion by more than `tolerance`; then it becomes `staging`."""
    if champion is None:
        return PROMOTED, PRODUCTION, "no production version yet"
    new, old = scores["challenger"][metric], scores["champion"][metric]
    sign = "+" if metric in LOWER_IS_BETTER else "-"
    if better_or_close(metric, new, old, tolerance):
        relation = "<=" if metric in LOWER_IS_BETTER else ">="
        decision, alias = PROMOTED, PRODUCTION
    else:
        relation = ">" if metric in LOWER_IS_BETTER else "<"
        decision, alias = KEPT, STAGING
    reason = (
        f"{metric} {new:.4f} (challenger) {relation} {old:.4f} (champion v{champion}) "
        f"{sign} tolerance {tolerance:g}"
    )
    return decision, alias, reason


def commit(registry: Registry, decision: Decision) -> None:
    """Move the decision's alias to the challenger, then append the audit entry."""
    if decision.challenger is None or decision.alias is None:
        raise ValueError(f"decision {decision.id} names no challenger and alias to move")
    pending = registry.root / decision.model / PENDING
    atomic_write_text(pending, json.dumps(decision.to_dict(), sort_keys=True) + "\n")
    crash_point("after_decide")
    registry.promote(
        decision.model,
        decision.challenger,
        decision.alias,
        reason=f"ferry retrain: {decision.decision}: {decision.reason}",
        details={"retrain": decision.id},
    )
    crash_point("after_alias")
    registry.append_audit(decision.model, decision.to_dict())
    crash_point("after_audit")
    pending.unlink()


def recover(registry: Registry, model: str) -> str | None:
    """Finish or drop a decision a crashed run left in the journal; say which, if any."""
    pending = registry.root / model / PENDING
    if not pending.is_file():
        return None
    entry = json.loads(pending.read_text())  # written atomically: whole or absent
    moved = any(e.get("retrain") == entry["id"] for e in registry.history(model))
    audited = any(e.get("id") == entry["id"] for e in registry.audit(model))
    if moved and not audited:
        registry.append_audit(model, {**entry, "recovered": True})
    pending.unlink()
    if moved:
        return f"recorded decision {entry['id']} of a crashed run (its alias had moved)"
    return f"dropped decision {entry['id']} of a crashed run (its alias had not moved)"
