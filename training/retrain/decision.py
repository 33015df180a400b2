"""A retraining decision, the rule that makes it, and its crash-safe commit.

Committing moves an alias and appends to the audit stream: two writes. The alias moves
by compare-and-swap against the version the run judged, so a move made by someone else
meanwhile (an operator's `ferry models promote`) is never overwritten: the challenger
stays published, the alias stays where they put it, and the audit records the run as
`superseded`. A journal (the registry document `retrain-pending`), written before the
alias moves and removed after the audit entry is stored, lets the next run finish the job
after a crash: if the alias moved (its history event carries the decision id) the audit
entry is appended, under the key the journal chose, so at most once; otherwise the
journal is dropped and no entry is written for a decision that did not happen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from export.errors import Conflict
from export.registry import AUDIT, PRODUCTION, Registry
from training.retrain.evaluate import LOWER_IS_BETTER, better_or_close
from training.retrain.faults import crash_point

PROMOTED = "promoted"
KEPT = "kept-as-staging"
SKIPPED = "skipped"
SUPERSEDED = "superseded"
STAGING = "staging"
JOURNAL = "retrain-pending"


@dataclass(frozen=True)
class Decision:
    """What one retraining run decided, and everything needed to audit it."""

    model: str
    decision: str  # promoted | kept-as-staging | skipped | superseded
    reason: str
    champion: str | None = None
    challenger: str | None = None
    alias: str | None = None  # the alias moved to the challenger
    alias_was: str | None = None  # where that alias pointed when the run judged
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


def commit(registry: Registry, decision: Decision) -> Decision:
    """Move the decision's alias to the challenger if it still points where the run saw
    it, then append the audit entry; return the decision as recorded."""
    if decision.challenger is None or decision.alias is None:
        raise ValueError(f"decision {decision.id} names no challenger and alias to move")
    journal = registry.document(decision.model, JOURNAL)
    audit_key = registry.stream(decision.model, AUDIT).new_key(decision.id)
    journal.write({"decision": decision.to_dict(), "audit_key": audit_key})
    crash_point("after_decide")
    try:
        registry.promote(
            decision.model,
            decision.challenger,
            decision.alias,
            reason=f"ferry retrain: {decision.decision}: {decision.reason}",
            details={"retrain": decision.id},
            expect=decision.alias_was,
        )
    except Conflict as err:
        decision = superseded(decision, err)
    crash_point("after_alias")
    registry.append_audit(decision.model, decision.to_dict(), key=audit_key)
    crash_point("after_audit")
    journal.delete()
    return decision


def superseded(decision: Decision, err: Conflict) -> Decision:
    """The decision of a run whose alias someone else moved while it judged."""
    reason = (
        f"{decision.alias} was moved to {_v(err.found)} while this run judged against "
        f"{_v(decision.alias_was)}; left there, challenger v{decision.challenger} stays "
        f"published (the run would have {decision.decision}: {decision.reason})"
    )
    return replace(decision, decision=SUPERSEDED, reason=reason)


def recover(registry: Registry, model: str) -> str | None:
    """Finish or drop a decision a crashed run left in the journal; say which, if any."""
    journal = registry.document(model, JOURNAL)
    pending = journal.read()
    if pending is None:
        return None
    entry = pending["decision"]
    moved = any(e.get("retrain") == entry["id"] for e in registry.history(model))
    audited = any(e.get("id") == entry["id"] for e in registry.audit(model))
    if moved and not audited:
        registry.append_audit(model, {**entry, "recovered": True}, key=pending["audit_key"])
    journal.delete()
    if moved:
        return f"recorded decision {entry['id']} of a crashed run (its alias had moved)"
    return f"dropped decision {entry['id']} of a crashed run (its alias had not moved)"


def _v(version: object) -> str:
    return f"v{version}" if version else "nothing"
