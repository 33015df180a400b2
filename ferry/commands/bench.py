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

RecordOption = Annotated[
    bool,
    typer.Option(
        help="Keep the figures in the registry beside the measured version "
        "(its model card shows them)."
    ),
]
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
    """Batch scoring: local engine vs bare ONNX Runtime, peak RSS vs rows, Ray vs local."""
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
    )
    console.print(render(report))
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
    if json_path is not None:
        json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n")


def render(report: Report) -> Table:
    """One column per model: rates, ratios against their goals, peak RSS, Ray."""
    from loadtests.bench_score import LOCAL_GOAL, RSS_GOAL

    table = Table("figure", *(m.model for m in report.models), title="ferry bench score")
    lines: list[tuple[str, list[str]]] = [
        ("rows in the file", [f"{m.rows:,}" for m in report.models]),
        ("rows per batch", [f"{m.batch_rows:,}" for m in report.models]),
        ("bare ONNX Runtime rows/s", [f"{m.bare_rows_per_s:,.0f}" for m in report.models]),
        (
            "read + convert only rows/s",
            [f"{m.read_convert_rows_per_s:,.0f}" for m in report.models],
        ),
        ("local engine rows/s", [f"{m.local_rows_per_s:,.0f}" for m in report.models]),
        (
            f"local / bare (goal >= {LOCAL_GOAL}), median turn",
            [_goal(m.local_vs_bare, m.local_vs_bare >= LOCAL_GOAL) for m in report.models],
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
    record: RecordOption = True,
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
        Path(registry),
        chosen,
        levels,
        seconds,
        out,
        command,
        chosen_providers,
        io_binding,
        rounds,
        record=record,
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
    clients: Annotated[
        int, typer.Option(min=1, help="Concurrent clients, one text per request.")
    ] = 32,
    seconds: Annotated[float, typer.Option(min=0.1, help="Seconds per measurement.")] = 15.0,
    rounds: Annotated[
        int, typer.Option(min=1, help="Alternating service / raw slices per measurement.")
    ] = 3,
    service_mixed: Annotated[
        bool, typer.Option(help="Also serve the mixed workload with buckets on and off.")
    ] = True,
    out: Annotated[Path, typer.Option(help="Results folder (JSON, Markdown).")] = Path(
        "results/bench-text"
    ),
    record: RecordOption = True,
) -> None:
    """Text models: service vs raw ONNX Runtime on 16/128-token texts; bucketing speed-up."""
    import sys

    from loadtests.bench_text import run

    command = "ferry bench text " + " ".join(sys.argv[3:])
    code = run(
        Path(registry), model, clients, seconds, out, command, service_mixed, rounds, record=record
    )
    if code:
        console.print("[red]service / raw ONNX Runtime missed its goal (>= 0.70)[/red]")
        raise typer.Exit(code)


@app.command("protocols")
@friendly
def protocols(
    registry: RegistryOption = DEFAULT_REGISTRY,
    digits: Annotated[str, typer.Option(help="Image model for the batch and the load.")] = "digits",
    embed: Annotated[str, typer.Option(help="Embedding model.")] = "text-embed",
    rows: Annotated[int, typer.Option(min=1, help="Rows of the gRPC / REST batch.")] = 32,
    requests: Annotated[int, typer.Option(min=1, help="Requests per protocol per round.")] = 200,
    rounds: Annotated[int, typer.Option(min=1, help="Alternating REST / gRPC rounds.")] = 3,
    clients: Annotated[int, typer.Option(min=1, help="Clients of the p99 load.")] = 8,
    seconds: Annotated[float, typer.Option(min=0.5, help="Seconds of the p99 load.")] = 10.0,
    json_path: Annotated[Path, typer.Option("--json", help="Write the figures here.")] = Path(
        "results/bench-protocols/results.json"
    ),
) -> None:
    """Protocols: gRPC vs REST binary p50, base64 vs float embeddings, histogram vs client p99."""
    from loadtests.bench_protocols import run

    report = run(
        Path(registry).resolve(),
        digits,
        embed,
        rows,
        requests,
        rounds,
        clients,
        seconds,
        json_path.parent,
    )
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    table = Table("figure", "measured", "goal", "met")
    p50, sizes, p99 = report["grpc_vs_rest"], report["embeddings"], report["end_to_end_p99"]
    table.add_row(
        f"p50, {rows}-row {digits} batch",
        f"gRPC {p50['grpc_p50_ms']:.2f} ms, REST binary {p50['rest_binary_p50_ms']:.2f} ms",
        "gRPC <= REST",
        str(p50["goal_met"]),
    )
    table.add_row(
        f"{embed} answer, {sizes['dimensions']} dims",
        f"base64 {sizes['base64_bytes']:,} B, float {sizes['float_bytes']:,} B",
        "base64 <= 40% of float",
        str(sizes["goal_met"]),
    )
    table.add_row(
        f"p99 end-to-end, {clients} clients",
        f"histogram {p99['histogram_p99_ms']:.2f} ms, client {p99['client_p99_ms']:.2f} ms",
        "within 15%",
        str(p99["goal_met"]),
    )
    console.print(table)
    console.print(f"figures in {json_path} ({report['note']})")


@app.command("registry")
@friendly
def registry_figures(
    rounds: Annotated[int, typer.Option(min=1, help="Turns of each timed figure.")] = 3,
    polls: Annotated[int, typer.Option(min=1, help="Idle refreshes of the service.")] = 20,
    kills: Annotated[int, typer.Option(min=0, help="Publishes killed with SIGKILL.")] = 20,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures here.")
    ] = None,
) -> None:
    """The registry on S3 (a local moto server that counts requests) beside a local folder:
    publish + promote, cached loads, idle polling, killed publishes."""
    from loadtests.bench_registry import run

    report = run(rounds=rounds, polls=polls, kills=kills)
    table = Table("figure", "value", title="ferry bench registry")
    rows = [
        ("publish + promote, local folder (s)", f"{report.local_publish_s:.3f}"),
        ("publish + promote, S3 (s)", f"{report.s3_publish_s:.3f}"),
        ("S3 / local folder (goal <= 2)", _goal(report.publish_ratio, report.publish_ratio <= 2)),
        (f"first load from S3, {report.model_bytes:,} bytes (s)", f"{report.first_load_s:.4f}"),
        ("second load, from the cache (s)", f"{report.cached_load_s:.5f}"),
        (
            "cached / first (goal <= 0.05)",
            f"[{'green' if report.cache_ratio <= 0.05 else 'red'}]{report.cache_ratio:.4f}[/]",
        ),
        (
            f"idle requests per model per poll ({report.models_polled} models, "
            f"{report.polls} polls; goal 1)",
            _goal(report.requests_per_model_per_poll, report.requests_per_model_per_poll == 1),
        ),
        ("  of which", ", ".join(f"{k} x{v}" for k, v in sorted(report.poll_kinds.items()))),
    ]
    if report.chaos:
        c = report.chaos
        rows.append(
            (
                f"publishes killed: {c['kills']}; whole versions visible",
                f"{c['visible']}; broken {c['broken']}; orphans removed {c['orphans_removed']}",
            )
        )
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
    if json_path is not None:
        json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    missed = [goal for goal, met in report.goals().items() if not met]
    if missed:
        console.print(f"[red]missed: {'; '.join(missed)}[/red]")
        raise typer.Exit(1)


@app.command("monitoring")
@friendly
def monitoring(
    registry: RegistryOption = DEFAULT_REGISTRY,
    model: Annotated[str, typer.Option(help="Model to serve (its production version).")] = (
        "tabular"
    ),
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients.")] = 32,
    seconds: Annotated[float, typer.Option(min=0.5, help="Seconds of load per setup.")] = 15.0,
    rounds: Annotated[int, typer.Option(min=1, help="Turns the setups take (fairer).")] = 3,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report here.")
    ] = None,
) -> None:
    """The cost of watching: drift monitoring on vs off (goal >= 0.97x req/s) and the
    prediction log at 100% sampling (goal >= 0.90x), side by side at one concurrency."""
    from loadtests.bench_monitoring import run

    report = run(Path(registry), model, clients, seconds, rounds)
    table = Table(
        "setup", "req/s", "vs off", "goal", "p50 ms", "p95 ms", "errors", "window rows",
        "log records", title=f"{model}:{report['version']}, {clients} clients, "
        f"{seconds:g} s each in {rounds} turns",
    )  # fmt: skip
    for row in report["setups"]:
        goal = "-" if row["goal"] is None else f"≥ {row['goal']:.2f}"
        table.add_row(
            row["setup"], f"{row['rps']:,.0f}", _goal(row["ratio"], row["met"]), goal,
            f"{row['p50_ms']:.1f}", f"{row['p95_ms']:.1f}", str(row["errors"]),
            str(row.get("window_rows", "-")), str(row.get("log_records", "-")),
        )  # fmt: skip
    console.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2) + "\n")
    if not all(row["met"] for row in report["setups"]):
        console.print("[red]a monitoring cost goal was missed[/red]")
        raise typer.Exit(1)


@app.command("shadow")
@friendly
def shadow(
    registry: RegistryOption = DEFAULT_REGISTRY,
    model: Annotated[str, typer.Option(help="Model to serve (its production version).")] = (
        "tabular"
    ),
    version: Annotated[
        str | None,
        typer.Option("--shadow", help="Shadow version (default: the production version itself)."),
    ] = None,
    fraction: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests mirrored.")
    ] = 1.0,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients.")] = 32,
    seconds: Annotated[float, typer.Option(min=0.5, help="Seconds of load per setup.")] = 15.0,
    rounds: Annotated[int, typer.Option(min=1, help="Turns the setups take (fairer).")] = 3,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report here.")
    ] = None,
) -> None:
    """The cost of a shadow to the callers: the primary's p99 with every request mirrored
    vs none (goal: at most 1.05x), side by side on one service, the registry untouched
    (a scratch copy of the versions is served)."""
    from loadtests.bench_shadow import run

    report = run(registry, model, clients, seconds, rounds, fraction, version)
    table = Table(
        "setup", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors",
        title=f"{model}:{report['version']} shadowed by {report['shadow']} at "
        f"{fraction * 100:g}%, {clients} clients, {seconds:g} s each in {rounds} turns",
    )  # fmt: skip
    for row in report["setups"]:
        table.add_row(
            row["setup"], f"{row['rps']:,.0f}", f"{row['p50_ms']:.1f}", f"{row['p95_ms']:.1f}",
            f"{row['p99_ms']:.1f}", str(row["errors"]),
        )  # fmt: skip
    console.print(table)
    said = report["shadow_status"]
    console.print(
        f"p99 on / off: {_goal(report['p99_ratio'], report['met'])} (goal ≤ {report['goal']:.2f}); "
        f"shadow compared {said['compared']}, dropped {said['dropped']}, failed {said['failed']}"
    )
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2) + "\n")
    if not report["met"]:
        console.print("[red]the shadow's p99 goal was missed[/red]")
        raise typer.Exit(1)
