"""`ferry bench ...`: benchmarks that print figures measured in one run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ferry.errors import friendly
from ferry.options import DEFAULT_REGISTRY, RegistryOption

if TYPE_CHECKING:
    from loadtests.bench_score import Report

app = typer.Typer(no_args_is_help=True, help="Benchmarks: each prints its figures from one run.")
console = Console()


@app.command("score")
@friendly
def score(
    registry: RegistryOption = DEFAULT_REGISTRY,
    rows: Annotated[int, typer.Option(min=1, help="Rows of the tabular file.")] = 2_000_000,
    digits_rows: Annotated[
        int, typer.Option(min=1, help="Rows of the digits file (if a digits model exists).")
    ] = 200_000,
    batch_rows: Annotated[int, typer.Option(min=1, help="Rows per batch, tabular.")] = 65536,
    digits_batch_rows: Annotated[int, typer.Option(min=1, help="Rows per batch, digits.")] = 16384,
    tabular: Annotated[str, typer.Option(help="Tabular model reference.")] = "tabular",
    digits: Annotated[str, typer.Option(help="Digits model reference.")] = "digits",
    text: Annotated[
        str, typer.Option(help="Text model reference (skipped if absent; '' to skip).")
    ] = "text-embed",
    text_rows: Annotated[int, typer.Option(min=1, help="Texts in the text file.")] = 500,
    text_batch_rows: Annotated[int, typer.Option(min=1, help="Rows per part, text.")] = 250,
    ray: Annotated[bool, typer.Option(help="Also run the Ray engine.")] = True,
    repeat: Annotated[
        int, typer.Option(min=1, help="Turns of bare loop and local job; medians are reported.")
    ] = 3,
    workdir: Annotated[
        Path, typer.Option(help="Folder for the synthetic files (removed afterwards).")
    ] = Path("results/bench-score"),
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures here.")
    ] = None,
) -> None:
    """Batch scoring: local engine vs bare ONNX Runtime on every core, `ferry score` vs the
    careful streaming script, peak RSS vs rows, Ray vs local."""
    from export.registry import Registry
    from loadtests.bench_score import run

    report = run(
        Registry(registry),
        workdir,
        tabular,
        digits,
        rows,
        digits_rows,
        (batch_rows, digits_batch_rows),
        ray,
        repeat,
        text,
        text_rows,
        text_batch_rows,
    )
    console.print(render(report))
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
    if json_path is not None:
        json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    _verdict(report.checks(), "ferry bench score")


def render(report: Report) -> Table:
    """One column per model: rates, ratios against their goals, peak RSS, Ray."""
    from loadtests.bench_score import CAREFUL_GOAL, LOCAL_GOAL, RSS_GOAL

    table = Table("figure", *(m.model for m in report.models), title="ferry bench score")
    lines: list[tuple[str, list[str]]] = [
        ("rows in the file", [f"{m.rows:,}" for m in report.models]),
        ("rows per batch", [f"{m.batch_rows:,}" for m in report.models]),
        (
            "threads: bare loop / ferry's placement",
            [
                f"{m.bare_threads} / {m.local_threads}"
                + (" (compute-bound)" if m.compute_bound else "")
                for m in report.models
            ],
        ),
        ("bare ONNX Runtime rows/s", [f"{m.bare_rows_per_s:,.0f}" for m in report.models]),
        (
            "read + convert only rows/s",
            [f"{m.read_convert_rows_per_s:,.0f}" for m in report.models],
        ),
        ("local engine rows/s", [f"{m.local_rows_per_s:,.0f}" for m in report.models]),
        (
            f"local / bare (goal >= {LOCAL_GOAL} if compute-bound), median turn",
            [
                _goal(m.local_vs_bare, m.local_vs_bare >= LOCAL_GOAL or not m.compute_bound)
                for m in report.models
            ],
        ),
        (
            "local / bare, each turn",
            [" ".join(f"{r:.2f}" for r in m.turn_ratios) for m in report.models],
        ),
        (
            "CPU s per M rows: bare / local",
            [
                f"{m.bare_cpu_per_million:.2f} / {m.local_cpu_per_million:.2f}"
                for m in report.models
            ],
        ),
        (
            "whole process s: ferry score / careful script, median",
            [
                f"{_median(m.cli_seconds):.2f} / {_median(m.careful_seconds):.2f}"
                if m.cli_seconds
                else "-"
                for m in report.models
            ],
        ),
        (
            f"careful script / ferry score (goal >= {CAREFUL_GOAL}, tabular), median turn",
            [
                "-"
                if m.careful_vs_cli is None
                else _goal(m.careful_vs_cli, m.careful_vs_cli >= CAREFUL_GOAL or i > 0)
                for i, m in enumerate(report.models)
            ],
        ),
        ("peak RSS MB, all rows", [f"{m.local_peak_rss_mb:,.0f}" for m in report.models]),
        (
            "peak RSS MB, a tenth",
            [_or_dash(m.small_peak_rss_mb, m.small_rows) for m in report.models],
        ),
        (
            f"RSS ratio (goal <= {RSS_GOAL})",
            [
                "-" if m.rss_ratio is None else _goal(m.rss_ratio, m.rss_ratio <= RSS_GOAL)
                for m in report.models
            ],
        ),
        ("ray engine rows/s", [_or_dash(m.ray_rows_per_s) for m in report.models]),
        (
            "ray start s (not in rows/s)",
            [_or_dash(m.ray_start_seconds, fmt="{:.1f}") for m in report.models],
        ),
        ("ray time / local time", [_or_dash(m.ray_overhead, fmt="{:.2f}") for m in report.models]),
    ]
    for name, cells in lines:
        table.add_row(name, *cells)
    return table


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return (ordered[middle] + ordered[~middle]) / 2 if ordered else float("nan")


def _verdict(checks: list[tuple[str, float, float, bool]], bench: str) -> None:
    """Print each goal; exit 1 when one is missed."""
    for goal, measured, limit, ok in checks:
        mark = "[green]met[/]" if ok else "[red]MISSED[/]"
        console.print(f"{mark} {goal}: {measured:.2f} (limit {limit})", highlight=False)
    if not all(ok for *_, ok in checks):
        console.print(f"[red]{bench}: some goals in loadtests/thresholds.toml were missed[/red]")
        raise typer.Exit(1)


def _goal(value: float, met: bool) -> str:
    return f"[{'green' if met else 'red'}]{value:.2f}[/]"


def _or_dash(value: float | None, present: object = True, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None or not present else fmt.format(value)


@app.command("serve")
@friendly
def serve(
    registry: RegistryOption = DEFAULT_REGISTRY,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", help="Model to measure (repeat; default: all served)."),
    ] = None,
    clients: Annotated[
        str, typer.Option(help="Concurrency levels, comma-separated.")
    ] = "1,8,32,64",
    seconds: Annotated[float, typer.Option(min=0.5, help="Seconds of load per level.")] = 5.0,
    out: Annotated[Path, typer.Option(help="Results folder (JSON, Markdown, PNG).")] = Path(
        "results/bench-serve"
    ),
    providers: Annotated[
        str,
        typer.Option(
            help="Execution providers for every server and the raw loop, comma-separated "
            "(a GPU provider makes the servers refuse to fall back to the CPU)."
        ),
    ] = "CPUExecutionProvider",
    io_binding: Annotated[
        bool, typer.Option(help="Raw loop: keep inputs and outputs on the device.")
    ] = False,
    rounds: Annotated[
        int, typer.Option(min=1, help="Slices per level, servers taking turns (fairer).")
    ] = 3,
) -> None:
    """Serving: ferry vs a plain FastAPI + ONNX Runtime endpoint vs BentoML, side by side."""
    import sys

    from export.registry import Registry
    from loadtests.bench_serve import run

    reg = Registry(registry)
    # text models take strings, not tensors: `ferry bench text` measures them
    chosen = models or [
        m
        for m in reg.models()
        if "production" in reg.aliases(m)
        and "tokenizer" not in reg.get(f"{m}@production").manifest.preprocessing
    ]
    if not chosen:
        console.print(
            f"[red]no model to measure in {registry}: `ferry train tabular` (and digits) "
            "publishes one[/red]"
        )
        raise typer.Exit(2)
    levels = tuple(int(c) for c in clients.split(","))
    command = "ferry bench serve " + " ".join(sys.argv[3:])
    chosen_providers = tuple(p.strip() for p in providers.split(",") if p.strip())
    code = run(
        registry, chosen, levels, seconds, out, command, chosen_providers, io_binding, rounds
    )
    if code:
        console.print("[red]some goals in loadtests/thresholds.toml were missed[/red]")
        raise typer.Exit(code)


@app.command("text")
@friendly
def text(
    registry: RegistryOption = DEFAULT_REGISTRY,
    model: Annotated[
        str, typer.Option(help="Text model to measure (its production version).")
    ] = "text-embed",
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients.")] = 32,
    seconds: Annotated[float, typer.Option(min=0.1, help="Seconds per workload.")] = 15.0,
    rounds: Annotated[
        int, typer.Option(min=1, help="Alternating slices per workload, contenders in turn.")
    ] = 3,
    peer: Annotated[
        bool,
        typer.Option(help="Also serve FastAPI + sentence-transformers (needs the text extra)."),
    ] = True,
    texts_per_request: Annotated[
        int, typer.Option(min=1, help="Texts per request in the token-budget workload.")
    ] = 4,
    out: Annotated[Path, typer.Option(help="Results folder (JSON, Markdown).")] = Path(
        "results/bench-text"
    ),
) -> None:
    """Text models: service vs raw ONNX Runtime on every core and vs sentence-transformers;
    token budget vs rows alone; padding and bucketing."""
    import sys

    from loadtests.bench_text import run

    command = "ferry bench text " + " ".join(sys.argv[3:])
    code = run(
        registry,
        model,
        clients,
        seconds,
        out,
        command,
        rounds,
        peer,
        texts_per_request,
    )
    if code:
        console.print("[red]some goals in loadtests/thresholds.toml \\[text] were missed[/red]")
        raise typer.Exit(code)
