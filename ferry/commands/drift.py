"""`ferry drift MODEL --data FILE` (or `--log DIR`): how far a data set, or what the service
logged, has moved from what the version was trained on, feature by feature, with PNG
histograms of the drifted features."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ferry.options import DEFAULT_REGISTRY, RegistryOption

if TYPE_CHECKING:
    from export.drift import DriftReport, Reference

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def drift(
    model: Annotated[str, typer.Argument(help="name, name:version or name@alias")],
    data: Annotated[
        Path | None, typer.Option(help="CSV or Parquet file, or a folder of them.")
    ] = None,
    log: Annotated[
        str | None,
        typer.Option(
            help="Instead of --data: the prediction log, a folder or s3://... (the version's "
            "files)."
        ),
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    threshold: Annotated[
        float, typer.Option(min=0.0, help="PSI at or above which a feature has drifted.")
    ] = 0.2,
    plots: Annotated[
        Path, typer.Option(help="Folder for the PNG histograms of the drifted features.")
    ] = Path("drift-report"),
    text_col: Annotated[str, typer.Option(help="Text models: the column of texts.")] = "text",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Run the version over the rows of --data (or over the requests the service logged for
    it under --log) and compare every input feature and the predictions with the reference
    statistics in its manifest: PSI over the reference's bins, KS and Wasserstein-1 (in
    reference standard deviations) for numeric features."""
    from export.drift import compare, reference_of
    from export.registry import Registry
    from ferry.drift.data import observe_file
    from service.runtime import ModelRuntime
    from service.runtime.settings import RuntimeSettings

    if (data is None) == (log is None):
        raise typer.BadParameter("give --data or --log (one of them)", param_hint="--data")
    artifact = Registry(registry).get(model)
    manifest = artifact.manifest
    reference = reference_of(manifest)
    settings = RuntimeSettings(providers=["CPUExecutionProvider"])
    runtime = ModelRuntime.load(artifact, settings, warm_up=False)
    with tempfile.TemporaryDirectory(prefix="ferry-log-") as scratch:
        if log is not None:
            source = logged(log, manifest.name, manifest.version, Path(scratch))
            label = "the prediction log"
        else:
            assert data is not None
            source, label = data, data.name
        observed = observe_file(runtime, reference, source, text_col)
    report = compare(reference, observed.features, threshold=threshold)
    if as_json:
        about = {"model": manifest.name, "version": manifest.version}
        print(json.dumps({**about, "skipped_rows": observed.skipped, **report.to_dict()}))
    else:
        _show(report, f"{manifest.name}:{manifest.version}", label, observed.skipped)
    if report.drifted:
        _plots(reference, report, plots, label)


def logged(log: str, model: str, version: str, scratch: Path) -> Path:
    """The version's folder of the prediction log (fetched into `scratch` from an object
    store), or an error naming what the log holds."""
    from export.logfiles import local_copy

    files = local_copy(log, model, scratch)
    folder = files / version
    if folder.is_dir():
        return folder
    found = sorted(p.name for p in files.iterdir()) if files.is_dir() else []
    held = f"versions {', '.join(found)}" if found else "nothing"
    raise typer.BadParameter(
        f"{log} holds no requests of {model}:{version} (for {model}: {held})", param_hint="--log"
    )


def _show(report: DriftReport, version: str, label: str, skipped: int) -> None:
    from ferry.drift.show import report_table

    console.print(report_table(report, f"drift of {label} against {version}"))
    left = f"; {skipped:,} rows could not be scored and are left out" if skipped else ""
    flagged = [f.name for f in report.features if f.drifted]
    verdict = f"[red]drifted[/red]: {', '.join(flagged)}" if flagged else "[green]no drift[/green]"
    console.print(f"{report.rows:,} rows{left}; PSI threshold {report.threshold:g}: {verdict}")


def _plots(reference: Reference, report: DriftReport, folder: Path, label: str) -> None:
    from ferry.drift.plots import available, write_plots

    if not available():
        errors.print("no histograms: matplotlib is missing (pip install 'ferry[report]')")
        return
    written = write_plots(reference, report, folder, label)
    errors.print(f"histograms of {len(written)} drifted feature(s) in {folder}/")
