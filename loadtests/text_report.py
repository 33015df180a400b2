"""The text benchmark's report: JSON for machines, a Markdown table for people."""

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
    lines = [
        f"Machine: {report['machine']}  ",
        f"Command: `{report['command']}`  ",
        f"Model: {report['model']} version {report['version']} on {report['providers']}; "
        f"length buckets {report['buckets']}",
        "",
        f"### Service vs raw ONNX Runtime, {report['clients']} clients, one text per request",
        "",
        "| tokens | service sentences/s | p50 ms | p95 ms | errors | mean batch "
        f"| raw sentences/s at that batch | service / raw (goal >= {report['goal']}) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in report["fixed"]:
        s = f["service"]
        verdict = f"{f['ratio']:.2f}" if f["passed"] else f"**{f['ratio']:.2f}** (missed)"
        lines.append(
            f"| {f['mean_tokens']:.0f} | {s['sentences_per_s']:,.1f} | {s['p50_ms']:.1f} | "
            f"{s['p95_ms']:.1f} | {s['errors']} | {_batch(s['mean_batch'])} | "
            f"{f['raw_sentences_per_s']:,.1f} (batch {f['raw_batch']}) | {verdict} |"
        )
    lines += _mixed(report["mixed"])
    return "\n".join(lines) + "\n"


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
    service = mixed.get("service")
    if service:
        lines += [
            "",
            "Through the service (both pad to the batch's longest text):",
            "",
            "| service | sentences/s | p50 ms | p95 ms | errors | mean batch |",
            "|---|---|---|---|---|---|",
        ]
        for label, s in service.items():
            lines.append(
                f"| {label} | {s['sentences_per_s']:,.1f} | {s['p50_ms']:.1f} | "
                f"{s['p95_ms']:.1f} | {s['errors']} | {_batch(s['mean_batch'])} |"
            )
        bucketed, one = service["buckets"], service["one bucket"]
        lines.append(
            f"\nBuckets vs one bucket: {bucketed['sentences_per_s'] / one['sentences_per_s']:.2f}x "
            "sentences/s"
        )
    return lines


def _batch(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
