"""`ferry bench ...`: benchmarks that print figures measured in one run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ferry.errors import Code, CommandError, friendly
from ferry.options import DEFAULT_REGISTRY, RegistryOption, local_folder

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


def _goal(value: float, met: bool, fmt: str = "{:.2f}") -> str:
    return f"[{'green' if met else 'red'}]{fmt.format(value)}[/]"


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
    record: RecordOption = True,
) -> None:
    """Text models: service vs raw ONNX Runtime on every core and vs sentence-transformers;
    token budget vs rows alone; padding and bucketing."""
    import sys

    from loadtests.bench_text import run

    command = "ferry bench text " + " ".join(sys.argv[3:])
    code = run(
        Path(registry),
        model,
        clients,
        seconds,
        out,
        command,
        rounds,
        peer,
        texts_per_request,
        record=record,
    )
    if code:
        console.print("[red]some goals in loadtests/thresholds.toml \\[text] were missed[/red]")
        raise typer.Exit(code)


@app.command("fuzz")
@friendly
def fuzz(
    registry: RegistryOption = DEFAULT_REGISTRY,
    cases: Annotated[
        int, typer.Option(min=1, help="Requests to send (the goal: >= 2,000).")
    ] = 2000,
    seed: Annotated[
        int | None, typer.Option(help="Seed for the same cases again (default: new ones).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Results folder (JSON, service log).")] = Path(
        "results/bench-fuzz"
    ),
) -> None:
    """Fuzz a service on the registry's production models: schemathesis over its OpenAPI
    plus hostile V2 (JSON, binary) and typed bodies. Fails on any 5xx, a service that
    stops answering, or RSS not back within 10%."""
    from loadtests.fuzz import RSS_GOAL, run
    from loadtests.servers import FERRY, running_server

    where = _registry_location(registry)
    out.mkdir(parents=True, exist_ok=True)
    with running_server("bentoml", FERRY, where, out / "service.log") as started:
        report = run(started.url, cases, started.pid, seed)
    table = Table("figure", "value", title="ferry bench fuzz")
    table.add_row("cases", f"{report.cases:,} in {report.seconds:.0f} s")
    table.add_row("by kind", ", ".join(f"{k} {n}" for k, n in sorted(report.by_kind.items())))
    table.add_row("answers", ", ".join(f"{s}: {n}" for s, n in sorted(report.statuses.items())))
    table.add_row("5xx answers", _goal(report.server_errors, not report.server_errors, "{:.0f}"))
    table.add_row("alive afterwards", "yes" if report.alive else "[red]no[/]")
    ratio = report.rss_ratio
    rss = f"{report.rss_before_mb:.0f} -> {report.rss_after_mb:.0f} MB" if ratio else "-"
    table.add_row(f"RSS (goal <= x{RSS_GOAL})", rss + (f" (x{ratio:.3f})" if ratio else ""))
    console.print(table)
    for failure in report.failures:
        console.print(f"[red]5xx:[/] {failure}", highlight=False)
    record = {
        **{k: v for k, v in vars(report).items() if k not in ("by_kind", "statuses")},
        "by_kind": dict(report.by_kind),
        "statuses": {str(k): v for k, v in report.statuses.items()},
        "passed": report.passed,
    }
    (out / "fuzz.json").write_text(json.dumps(record, indent=2) + "\n")
    if not report.passed:
        raise typer.Exit(1)


@app.command("soak")
@friendly
def soak(
    registry: RegistryOption = DEFAULT_REGISTRY,
    minutes: Annotated[float, typer.Option(min=0.1, help="How long to run.")] = 10.0,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients.")] = 16,
    move_every: Annotated[
        float, typer.Option(min=1.0, help="Seconds between alias moves (every model).")
    ] = 60.0,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", help="Model to include (repeat; default: all in production)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Results folder (JSON, service log).")] = Path(
        "results/bench-soak"
    ),
) -> None:
    """Soak a service: every model typed and V2, steady clients, an alias move every
    --move-every seconds on a scratch copy of the registry. Fails on any failed request,
    RSS growth of 10% or more after the warm-up (2 minutes, or two moves), or a growing
    /metrics."""
    from export.registry import Registry
    from loadtests.soak import GROWTH_GOAL, run

    reg = Registry(_registry_location(registry))
    chosen = models or [m for m in reg.models() if "production" in reg.aliases(m)]
    if not chosen:
        raise CommandError(
            f"no model with a production alias in {registry}: `ferry train tabular` publishes one",
            Code.UNKNOWN_MODEL,
        )
    report = run(reg, chosen, out, minutes, clients, move_every)
    table = Table("figure", "value", title="ferry bench soak")
    table.add_row("models", ", ".join(report.models))
    table.add_row("requests, failed", f"{report.requests:,}, {report.failures}")
    table.add_row("alias moves", str(report.moves))
    table.add_row(
        "versions served", "; ".join(f"{m}: {v}" for m, v in report.versions_seen.items())
    )
    for name, growth in (("RSS", report.rss_growth), ("/metrics size", report.metrics_growth)):
        shown = "-" if growth is None else _goal(growth, growth < GROWTH_GOAL, "x{:.3f}")
        table.add_row(f"{name} growth after {report.warmup_s:.0f} s (goal < x{GROWTH_GOAL})", shown)
    console.print(table)
    for failure in report.failure_examples:
        console.print(f"[red]failed:[/] {failure}", highlight=False)
    (out / "soak.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    if not report.passed:
        raise typer.Exit(1)


def _registry_location(registry: str) -> str:
    """The registry as a service is given it: a local folder (which must exist) resolved,
    a remote URL as it is."""
    folder = local_folder(registry)
    if folder is None:
        return registry
    if not folder.is_dir():
        raise CommandError(
            f"registry {registry}: no such folder (--registry or $FERRY_REGISTRY)", Code.NO_FILE
        )
    return str(folder.resolve())


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
    floor = p50["floor"]
    table.add_row(
        "  the protocols' floor (no model, no ferry)",
        f"gRPC {floor['grpc_p50_ms']:.2f} ms, REST binary {floor['rest_binary_p50_ms']:.2f} ms",
        "",
        "",
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
        ("  requests to the store in cached loads", str(report.cached_load_requests)),
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
    seconds: Annotated[float, typer.Option(min=0.5, help="Seconds of load per setup.")] = 30.0,
    rounds: Annotated[
        int, typer.Option(min=1, help="Rounds, each on services started afresh (fairer).")
    ] = 6,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report here.")
    ] = None,
) -> None:
    """The cost of watching: drift monitoring on vs off (goal >= 0.97x req/s) and the
    prediction log at 100% sampling (goal >= 0.90x), side by side at one concurrency;
    "vs off" is the median of each round's ratio, "totals" the ratio over the run."""
    from loadtests.bench_monitoring import run

    report = run(Path(registry), model, clients, seconds, rounds)
    table = Table(
        "setup", "req/s", "vs off", "goal", "totals", "CPU ms/req", "p50 ms", "p95 ms", "errors",
        "window rows",
        "log records", title=f"{model}:{report['version']}, {clients} clients, "
        f"{seconds:g} s each in {rounds} turns",
    )  # fmt: skip
    for row in report["setups"]:
        goal = "-" if row["goal"] is None else f"≥ {row['goal']:.2f}"
        table.add_row(
            row["setup"], f"{row['rps']:,.0f}", _goal(row["ratio"], row["met"]), goal,
            f"{row['ratio_of_totals']:.2f}", f"{row.get('cpu_ms_per_request', 0.0):.3f}",
            f"{row['p50_ms']:.1f}", f"{row['p95_ms']:.1f}",
            str(row["errors"]),
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
    seconds: Annotated[float, typer.Option(min=0.5, help="Seconds of load per setup.")] = 30.0,
    rounds: Annotated[int, typer.Option(min=1, help="Turns the setups take (fairer).")] = 10,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report here.")
    ] = None,
    control: Annotated[
        bool,
        typer.Option(
            "--control",
            help="Keep the shadow off in both setups: the ratio this machine reads when "
            "nothing differs (its noise floor for the figure).",
        ),
    ] = False,
) -> None:
    """The cost of a shadow to the callers: the primary's p99 with every request mirrored
    vs none (goal: at most 1.05x), side by side on one service, the registry untouched
    (a scratch copy of the versions is served)."""
    from loadtests.bench_shadow import run

    report = run(registry, model, clients, seconds, rounds, fraction, version, control)
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
        f"p99 on / off: {_goal(report['p99_ratio'], report['met'])} (goal ≤ {report['goal']:.2f}; "
        f"median of {rounds} turn pairs, {report['p99_ratio_merged']:.2f} merged); "
        f"shadow compared {said['compared']}, dropped {said['dropped']}, failed {said['failed']}"
    )
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2) + "\n")
    if control:
        console.print("control run: the shadow was off in both setups")
    elif not report["met"]:
        console.print("[red]the shadow's p99 goal was missed[/red]")
        raise typer.Exit(1)
