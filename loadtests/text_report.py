"""The text benchmark's report: JSON for machines, Markdown tables for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write(report: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.json", out / "results.md"]
    paths[0].write_text(json.dumps(report, indent=2) + "\n")
    paths[1].write_text(markdown(report))
    return paths


def markdown(report: dict[str, Any]) -> str:
    load = ", ".join(f"{x:.2f}" for x in report.get("load_average", ()))
    lines = [
        f"Machine: {report['machine']}; load average at start {load}  ",
        f"Command: `{report['command']}`  ",
        f"Model: {report['model']} version {report['version']} on {report['providers']}; "
        f"length buckets {report['buckets']}  ",
        f"Service placement: {report.get('placement')}; raw ONNX Runtime: one session, "
        f"{report.get('raw_threads')} threads",
        "",
        f"### Service vs raw ONNX Runtime and sentence-transformers, {report['clients']} "
        "clients, one text per request",
        "",
        "| texts | contender | sentences/s | p50 ms | p99 ms | errors | mean batch | "
        "CPU ms / sentence | CPU cores | service / contender |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, one in [("128 tokens", report["fixed"][0]), ("mixed", report["mixed_service"])]:
        s = one["service"]
        lines.append(
            f"| {label} ({one['mean_tokens']:.0f} mean) | ferry | {s['sentences_per_s']:,.1f} | "
            f"{s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['errors']} | {_batch(s['mean_batch'])} "
            f"| {_ms(s.get('cpu_ms_per_sentence'))} | {_cores(s)} | |"
        )
        lines.append(
            f"| | raw ONNX Runtime at batch {one['raw_batch']} | "
            f"{one['raw_sentences_per_s']:,.1f} | | | | | "
            f"{_ms(one.get('raw_cpu_ms_per_sentence'))} | "
            f"{_cores({'cpu_cores': one.get('raw_cpu_cores')})} | {one['ratio']:.2f} |"
        )
        if "torch_sentences_per_s" in one:
            torch = one["torch_sentences_per_s"]
            lines.append(
                f"| | sentence-transformers in-process at batch {one['raw_batch']} | "
                f"{torch:,.1f} | | | | | | | "
                f"{one['raw_sentences_per_s'] / torch:.2f} (raw ONNX Runtime / it) |"
            )
        if "peer" in one:
            p = one["peer"]
            lines.append(
                f"| | FastAPI + sentence-transformers | {p['sentences_per_s']:,.1f} | "
                f"{p['p50_ms']:.1f} | {p['p99_ms']:.1f} | {p['errors']} | - | "
                f"{_ms(p.get('cpu_ms_per_sentence'))} | {_cores(p)} | {one['vs_peer']:.2f} |"
            )
    lines += [f"\nNote: {note}" for note in report.get("notes", [])]
    lines += _budget(report["budget"]) + _mixed(report["mixed"]) + _checks(report["checks"])
    return "\n".join(lines) + "\n"


def _budget(budget: dict[str, Any]) -> list[str]:
    low, high = budget["tokens"]
    lines = [
        "",
        f"### Text batching vs row count: texts of {low}-{high} tokens, "
        f"{budget['texts_per_request']} per request",
        "",
        "| batches | sentences/s | p50 ms | p99 ms | errors | mean batch | CPU ms / sentence "
        "| CPU cores |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, s in budget["servers"].items():
        lines.append(
            f"| {label} | {s['sentences_per_s']:,.1f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | "
            f"{s['errors']} | {_batch(s['mean_batch'])} | {_ms(s.get('cpu_ms_per_sentence'))} "
            f"| {_cores(s)} |"
        )
    lines.append(
        f"\nferry / row count: {budget['ratio']:.2f}x sentences/s, p99 {budget['p99_ratio']:.2f}x; "
        f"the token budget alone (vs buckets with rows alone): "
        f"{budget['budget_alone_ratio']:.2f}x sentences/s, "
        f"p99 {budget['budget_alone_p99_ratio']:.2f}x"
    )
    return lines


def _mixed(mixed: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"### Mixed lengths: {mixed['texts']} texts, mean {mixed['mean_tokens']:.1f} tokens "
        f"(70% <= 16, 20% 17-64, 10% longer), raw ONNX Runtime, batches of {mixed['batch']}",
        "",
        "| batching | sentences/s | speed-up vs pad to max |",
        "|---|---|---|",
    ]
    for label, r in mixed["raw"].items():
        lines.append(f"| {label} | {r['sentences_per_s']:,.1f} | {r['speedup']:.2f}x |")
    return lines


def _checks(checks: list[list[Any]]) -> list[str]:
    lines = ["", "### Goals (loadtests/thresholds.toml [text])", ""]
    lines += ["| goal | measured | limit | met |", "|---|---|---|---|"]
    for goal, measured, limit, ok in checks:
        lines.append(f"| {goal} | {measured:.3f} | {limit} | {'yes' if ok else '**no**'} |")
    return lines


def _cores(summary: dict[str, Any]) -> str:
    cores = summary.get("cpu_cores")
    return "-" if cores is None else f"{cores:.2f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _batch(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
