"""`ferry retrain MODEL --data PATH`: challenger vs champion on fresh data, once or `--every`."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ferry.errors import EXIT_LOCKED, existing
from ferry.options import DEFAULT_REGISTRY, RegistryOption, local_folder

if TYPE_CHECKING:
    from export.registry import Registry
    from training.retrain.decision import Decision

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def retrain(
    model: Annotated[str, typer.Argument(help="Model name in the registry.")],
    data: Annotated[
        Path | None,
        typer.Option(help="A CSV/Parquet drop, or a folder of them (all, in name order)."),
    ] = None,
    from_log: Annotated[
        str | None,
        typer.Option(
            help="Instead of --data: the prediction log (a folder or s3://...), joined with "
            "--labels."
        ),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(help="With --from-log: CSV/Parquet of request_id, the label column [, row]."),
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    every: Annotated[
        str | None, typer.Option(help="Keep running: every 45s, 30m, 6h, 1d, 1h30m...")
    ] = None,
    max_runs: Annotated[int | None, typer.Option(min=1, help="With --every: stop after N.")] = None,
    tolerance: Annotated[
        float, typer.Option(min=0.0, help="How much worse than the champion still promotes.")
    ] = 0.005,
    metric: Annotated[
        str | None,
        typer.Option(help="Primary metric: roc_auc (default, 2 classes), accuracy, log_loss."),
    ] = None,
    holdout: Annotated[
        Path | None,
        typer.Option(help="A trusted labelled file to score on, instead of a split of the drops."),
    ] = None,
    holdout_fraction: Annotated[
        float, typer.Option(min=0.01, max=0.99, help="Share of the fresh rows held out.")
    ] = 0.3,
    epochs: Annotated[int | None, typer.Option(min=1, help="Override the champion's.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the holdout split and training.")] = 0,
    recipe: Annotated[str | None, typer.Option(help="Recipe, if the manifest lacks it.")] = None,
    target: Annotated[str | None, typer.Option(help="Label column, if not recorded.")] = None,
    base: Annotated[Path | None, typer.Option(help="Replace the champion's base data.")] = None,
    force: Annotated[bool, typer.Option(help="Retrain even if the drops are unchanged.")] = False,
    when_drift: Annotated[
        bool,
        typer.Option(
            help="Retrain only if the fresh rows (or the champion's predictions on them) "
            "drifted from the champion's reference statistics."
        ),
    ] = False,
    drift_threshold: Annotated[
        float, typer.Option(min=0.0, help="With --when-drift: the PSI that counts as drift.")
    ] = 0.2,
    drift_from: Annotated[
        str | None,
        typer.Option(
            help="Judge drift by a running service's drift endpoint (its window of served "
            "rows) instead of the drops; implies --when-drift."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print each decision as JSON.")] = False,
) -> None:
    """Train a challenger on the base data plus fresh drops; promote it to `production` if it
    is not worse than the champion on a fresh holdout by more than --tolerance, else point
    `staging` at it. The alias moves only if nobody moved it while the run judged (else
    the run is recorded as superseded). Every decision goes to the model's audit stream
    (`ferry models history MODEL`).

    With --when-drift, a run whose fresh rows show no feature (and no prediction) with a
    PSI of --drift-threshold or more against the champion's reference is skipped; with
    --drift-from URL, the service's own drift report decides. --from-log DIR --labels FILE
    trains on the prediction log's rows joined with their labels by request id.

    Exit status: 0 when a run promoted, kept the challenger as staging, was superseded
    or skipped (unchanged data, or no drift); 75 when another retrain of the model holds
    its lock; 1 on errors.
    """
    from export.registry import Registry
    from training.errors import RetrainError
    from training.retrain.schedule import parse_duration

    _check_sources(data, from_log, labels)
    log_folder = local_folder(from_log) if from_log is not None else None  # URLs: read later
    given = {"--data": data, "--from-log": log_folder, "--labels": labels}
    for flag, path in {**given, "--holdout": holdout, "--base": base}.items():
        if path is not None:
            existing(path, flag)
    reg = Registry(registry)
    try:
        interval = parse_duration(every) if every is not None else None
    except RetrainError as err:  # a malformed duration is a bad option value
        raise typer.BadParameter(str(err), param_hint="--every") from err
    if interval is None and max_runs is not None:
        raise typer.BadParameter("--max-runs goes with --every", param_hint="--max-runs")
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    def once() -> None:
        with reg.exclusive(model, "retrain"):
            pass  # refuse at once, before importing torch, if another retrain holds the lock
        from training.retrain import retrain as run_retrain

        with _drops(reg, model, data, from_log, labels, recipe, target, base) as drops:
            decision = run_retrain(
                model, reg, drops, tolerance=tolerance, primary_metric=metric, seed=seed,
                epochs=epochs, holdout=holdout, holdout_fraction=holdout_fraction,
                recipe=recipe, target=target, base=base, force=force,
                progress=interval is None and not as_json and sys.stdout.isatty(),
                when_drift=drift_threshold if when_drift or drift_from else None,
                drift_from=drift_from,
            )  # fmt: skip
        show(decision, as_json)

    if interval is None:
        _guarded(once, loop=False)
        return
    from training.retrain.schedule import run_every

    failures = 0

    def tick() -> None:
        nonlocal failures
        failures += 0 if _guarded(once, loop=True) else 1

    errors.print(f"retraining {model} every {every} ({interval:g} s); Ctrl-C stops")
    run_every(tick, interval, max_runs=max_runs)
    if failures:
        raise typer.Exit(1)


def _check_sources(data: Path | None, from_log: str | None, labels: Path | None) -> None:
    if (data is None) == (from_log is None):
        raise typer.BadParameter("give --data or --from-log (one of them)", param_hint="--data")
    if (from_log is None) != (labels is None):
        raise typer.BadParameter("--from-log and --labels go together", param_hint="--labels")


@contextlib.contextmanager
def _drops(
    registry: Registry,
    model: str,
    data: Path | None,
    from_log: str | None,
    labels: Path | None,
    recipe: str | None,
    target: str | None,
    base: Path | None,
) -> Iterator[Path]:
    """`data`, or a drop joined from the prediction log and the labels in a temporary folder."""
    if from_log is None or labels is None:
        assert data is not None
        yield data
        return
    from training.retrain.fromlog import drop_from_log
    from training.retrain.schema import schema_of

    schema = schema_of(registry, model, recipe=recipe, target=target, base=base)
    with tempfile.TemporaryDirectory(prefix="ferry-from-log-") as folder:
        path, summary = drop_from_log(
            from_log, model, labels, schema.target, schema.features, Path(folder)
        )
        errors.print(f"{model}: {summary}")
        yield path


def _guarded(run: Callable[[], None], *, loop: bool) -> bool:
    """Run once; a held lock exits 75 (one-shot) or waits for the next tick (loop)."""
    from export.errors import ExportError, Locked
    from training.errors import TrainingError

    try:
        run()
    except Locked as err:
        errors.print(f"[yellow]refused:[/yellow] {err}", soft_wrap=True)
        if not loop:
            raise typer.Exit(EXIT_LOCKED) from err
        return True
    except (ExportError, TrainingError) as err:
        if not loop:
            raise
        errors.print(f"[red]error:[/red] {err}", soft_wrap=True)
        return False
    return True


def show(decision: Decision, as_json: bool) -> None:
    """Print a decision: a metrics table and one line saying what moved."""
    if as_json:
        print(json.dumps(decision.to_dict(), sort_keys=True), flush=True)
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if not decision.recorded:
        console.print(f"{stamp} {decision.model}: [bold]skipped[/bold]: {decision.reason}")
        return
    rows = decision.rows
    if decision.drift:
        console.print(f"{stamp} {decision.model}: {decision.drift.get('reason', '')}")
    console.print(
        f"{stamp} {decision.model}: {len(decision.drops)} drop(s), {rows['fresh']} fresh rows; "
        f"holdout {rows['holdout']} rows ({decision.holdout['source']}); "
        f"challenger trained on {rows['train']} rows"
    )
    console.print(metrics_table(decision.to_dict()))
    verdict = {
        "promoted": f"[green]promoted[/green]: {decision.model}@production → {decision.challenger}",
        "superseded": f"[yellow]superseded[/yellow]: {decision.model}@{decision.alias} was moved "
        f"meanwhile and stays; challenger {decision.challenger} is published",
    }.get(
        decision.decision,
        f"[yellow]kept as staging[/yellow]: {decision.model}@staging → "
        f"{decision.challenger}, production stays {decision.champion}",
    )
    console.print(f"{verdict} ({decision.reason}); audit id {decision.id}")


def metrics_table(entry: dict[str, Any]) -> Table:
    """Champion and challenger side by side on the holdout; the primary metric first."""
    metrics = entry["metrics"]
    champion, challenger = metrics.get("champion", {}), metrics.get("challenger", {})
    primary = str(entry.get("primary_metric", ""))
    table = Table(
        "metric (holdout)",
        f"champion v{entry.get('champion') or '-'}",
        f"challenger v{entry.get('challenger')}",
        "Δ",
    )
    for name in sorted(challenger, key=lambda m: (m != primary, m)):
        old, new = champion.get(name), challenger[name]
        delta = f"{new - old:+.4f}" if old is not None else "-"
        shown = f"{name} (primary)" if name == primary else name
        table.add_row(shown, f"{old:.4f}" if old is not None else "-", f"{new:.4f}", delta)
    return table
