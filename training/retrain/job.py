"""`retrain`: one run of the retraining job, under the model's retrain lock."""

from __future__ import annotations

import logging
import uuid
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from export.reference import check_name
from export.registry import PRODUCTION, Registry
from training.errors import RetrainError
from training.loop import TrainConfig
from training.recipes import Trained, get_recipe
from training.retrain import faults
from training.retrain.decision import SKIPPED, Decision, commit, judge, recover
from training.retrain.drift import DriftCheck, drift_from_service, drift_in_rows
from training.retrain.drops import Drop, fingerprint, read_drops
from training.retrain.evaluate import evaluate, primary_metric_for
from training.retrain.holdout import Prepared, concat, encode, prepare
from training.retrain.schema import Schema, schema_of

JOB = "retrain"
log = logging.getLogger("ferry.retrain")


def retrain(
    model_name: str,
    registry: Registry,
    data: Path,
    *,
    tolerance: float = 0.005,
    primary_metric: str | None = None,
    seed: int = 0,
    train_config: TrainConfig | None = None,
    epochs: int | None = None,
    holdout: Path | None = None,
    holdout_fraction: float = 0.3,
    recipe: str | None = None,
    target: str | None = None,
    base: Path | None = None,
    force: bool = False,
    progress: bool = False,
    when_drift: float | None = None,
    drift_from: str | None = None,
) -> Decision:
    """Train a challenger on the base data plus the drops in `data`, publish it, score it and
    the champion (`production`) on the same fresh holdout, and move `production` to it
    unless it is worse on the primary metric by more than `tolerance`; else move `staging`.

    Training uses `train_config`, else the champion's settings with `seed` and `epochs`.
    Skips (and records nothing) when the drops are unchanged since the last decision or
    the champion has seen them all, unless `force`. Raises `Locked` at once if another
    retrain of the model runs. A crash at any point leaves every alias where it was
    until the decision's alias move, which is atomic; the next run completes the audit.
    The move is a compare-and-swap against the aliases the run read before training: if
    someone moved the alias meanwhile, it stays, and the decision is `superseded`.

    With `when_drift` (a PSI threshold) the run also skips unless some feature of the fresh
    rows, or the champion's predictions on them, drifted that far from the champion's
    reference statistics; with `drift_from` (a service's URL) the drift is the one that
    service measured on what it served instead.
    """
    check_name(model_name)
    if tolerance < 0 or not 0 < holdout_fraction < 1:
        raise RetrainError(
            f"tolerance must be >= 0 (got {tolerance}) and holdout_fraction in (0, 1) "
            f"(got {holdout_fraction})"
        )
    faults.check_env()
    with registry.exclusive(model_name, JOB):
        note = recover(registry, model_name)
        if note:
            log.warning("%s: %s", model_name, note)
        drops = read_drops(data)
        trusted = read_drops(holdout) if holdout is not None else []
        facts = {
            "data_fingerprint": fingerprint(drops),
            "holdout_fingerprint": fingerprint(trusted) if trusted else "",
        }
        unchanged = None if force else _unchanged(registry, model_name, facts)
        if unchanged is not None:
            return unchanged
        schema = schema_of(registry, model_name, recipe=recipe, target=target, base=base)
        if not force and all(d.sha256 in schema.seen for d in drops):
            reason = f"every drop was already used to train v{schema.version}; nothing fresh"
            return Decision(model_name, SKIPPED, reason, data_fingerprint=facts["data_fingerprint"])
        check = None
        if when_drift is not None:
            check = _drift(registry, model_name, schema, drops, when_drift, drift_from)
            if check is not None and not check.observed:
                return Decision(
                    model_name, SKIPPED, check.reason(),
                    data_fingerprint=facts["data_fingerprint"], drift=check.to_dict(),
                )  # fmt: skip
        prepared = prepare(schema, drops, trusted, seed, holdout_fraction)
        config = train_config or _config(schema.training, seed, epochs)
        return _run(
            registry, model_name, schema, drops, prepared, config, facts, tolerance,
            primary_metric_for(schema.labels, primary_metric), progress, check,
        )  # fmt: skip


def _run(
    registry: Registry,
    name: str,
    schema: Schema,
    drops: list[Drop],
    prepared: Prepared,
    config: TrainConfig,
    facts: dict[str, str],
    tolerance: float,
    metric: str,
    progress: bool,
    check: DriftCheck | None = None,
) -> Decision:
    from training.pipeline import publish_trained

    aliases = registry.aliases(name)  # what the run judges against, and moves by CAS
    champion = aliases.get(PRODUCTION)
    champion = champion if champion in registry.versions(name) else None
    scores = {}
    if champion is not None:  # before training: a broken champion fails the run early
        scores["champion"] = evaluate(registry.get(f"{name}:{champion}"), prepared.holdout)
    listed = _listed(drops, schema)
    trained = get_recipe(schema.recipe).train(prepared.train, None, config, progress=progress)
    _describe(trained, schema, listed, champion, prepared, facts)
    faults.crash_point("before_publish")
    artifact = publish_trained(trained, registry, name, promote=False)
    faults.crash_point("after_publish")
    challenger = artifact.manifest.version
    scores["challenger"] = evaluate(artifact, prepared.holdout)
    decided, alias, reason = judge(metric, tolerance, champion, scores)
    decision = Decision(
        model=name,
        decision=decided,
        reason=reason,
        champion=champion,
        challenger=challenger,
        alias=alias,
        alias_was=aliases.get(alias),
        primary_metric=metric,
        tolerance=tolerance,
        metrics=scores,
        holdout={
            "rows": prepared.holdout.rows,
            "source": prepared.holdout_source,
            "fingerprint": facts["holdout_fingerprint"],
        },
        data_fingerprint=facts["data_fingerprint"],
        drops=listed,
        rows=prepared.rows,
        id=uuid.uuid4().hex[:12],
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        drift=check.to_dict() if check is not None else {},
    )
    return commit(registry, decision)


def _unchanged(registry: Registry, name: str, facts: dict[str, str]) -> Decision | None:
    decisions = registry.audit(name) if registry.versions(name) else []
    if not decisions:
        return None
    last = decisions[-1]
    same_holdout = last.get("holdout", {}).get("fingerprint", "") == facts["holdout_fingerprint"]
    if last.get("data_fingerprint") != facts["data_fingerprint"] or not same_holdout:
        return None
    reason = (
        f"drop data {facts['data_fingerprint'][:19]}… unchanged since the decision at "
        f"{last.get('at')} ({last.get('decision')} v{last.get('challenger')}); "
        "--force retrains anyway"
    )
    return Decision(name, SKIPPED, reason, data_fingerprint=facts["data_fingerprint"])


def _drift(
    registry: Registry,
    name: str,
    schema: Schema,
    drops: list[Drop],
    threshold: float,
    service: str | None = None,
) -> DriftCheck | None:
    """The drift `service` measured, else that of the drops the template version has not
    seen (all, if it saw them all); None for a model with no version yet: its first version
    is trained regardless."""
    if service is not None:
        return drift_from_service(service, name, threshold)
    if schema.version is None:
        log.info("%s: no version yet to measure drift against; training the first", name)
        return None
    champion = registry.get(f"{name}:{schema.version}")
    fresh = [d for d in drops if d.sha256 not in schema.seen] or drops
    return drift_in_rows(champion, concat([encode(d, schema) for d in fresh], schema), threshold)


def _config(training: dict[str, Any], seed: int, epochs: int | None) -> TrainConfig:
    """The champion's optimisation settings, with this run's seed (and `epochs`, if given)."""
    known = {f.name for f in fields(TrainConfig)} - {"seed"}
    config = TrainConfig(**{k: v for k, v in training.items() if k in known}, seed=seed)
    return config if epochs is None else replace(config, epochs=epochs)


def _listed(drops: list[Drop], schema: Schema) -> list[dict[str, Any]]:
    return [
        {
            "name": d.path.name,
            "sha256": d.sha256,
            "rows": d.rows,
            "fresh": d.sha256 not in schema.seen,
        }
        for d in drops
    ]


def _describe(
    trained: Trained,
    schema: Schema,
    drops: list[dict[str, Any]],
    champion: str | None,
    prepared: Prepared,
    facts: dict[str, str],
) -> None:
    """What the challenger's manifest records so the next run can train its successor."""
    trained.training.update(
        recipe=schema.recipe,
        target=schema.target,
        source=schema.source,
        drops=[{k: d[k] for k in ("name", "sha256", "rows")} for d in drops],
        retrain={
            "champion": champion,
            "holdout_rows": prepared.holdout.rows,
            "data_fingerprint": facts["data_fingerprint"],
        },
    )
