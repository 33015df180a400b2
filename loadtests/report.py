"""Write a benchmark run as JSON, a Markdown table and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COLUMNS = (
    "server",
    "clients",
    "req/s",
    "rows/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors",
    "mean batch",
    "CPU cores",
    "CPU ms/req",
)


def write(run: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(run, indent=2) + "\n")
    (out / "results.md").write_text(markdown(run))
    paths = [out / "results.json", out / "results.md"]
    for report in run["models"]:
        paths += _plots(report, out)
    return paths


def markdown(run: dict[str, Any]) -> str:
    lines = [f"Machine: {run['machine']}  ", f"Command: `{run['command']}`", ""]
    for report in run["models"]:
        lines += [f"### {report['model']} (version {report['version']})", ""]
        raw = report["raw_rows_per_s"]
        how = ", ".join(report.get("raw_providers", ["CPUExecutionProvider"]))
        how += ", IO binding" if report.get("raw_io_binding") else ""
        lines += [
            f"Raw ONNX Runtime ({how}, 1 thread), rows/s: "
            + ", ".join(f"batch {k}: {v:,.0f}" for k, v in raw.items()),
            "",
        ]
        lines += ["| " + " | ".join(COLUMNS) + " |", "|---" * len(COLUMNS) + "|"]
        for server in report["servers"]:
            for lv in server["levels"]:
                batch = f"{lv['mean_batch_rows']:.1f}" if lv["mean_batch_rows"] else "-"
                cpu_ms = 1000 * lv["cpu_cores"] / lv["rps"] if lv["rps"] else 0.0
                lines.append(
                    f"| {server['label']} | {lv['concurrency']} | {lv['rps']:,.0f} | "
                    f"{lv['rows_per_s']:,.0f} | {lv['p50_ms']:.1f} | {lv['p95_ms']:.1f} | "
                    f"{lv['p99_ms']:.1f} | {lv['errors']} | {batch} | {lv['cpu_cores']:.2f} | "
                    f"{cpu_ms:.2f} |"
                )
        lines += ["", "| server | providers | cold start s | RSS MB |", "|---|---|---|---|"]
        lines += [
            f"| {s['label']} | {', '.join(s.get('providers') or ['-'])} | "
            f"{s['cold_start_s']:.2f} | {s['rss_mb']:.0f} |"
            for s in report["servers"]
        ]
        lines += ["", "| goal | measured | limit | pass |", "|---|---|---|---|"]
        lines += [
            f"| {g} | {m:.3f} | {lim} | {'yes' if ok else '**no**'} |"
            for g, m, lim, ok in report["checks"]
        ]
        lines.append("")
    return "\n".join(lines)


def _plots(report: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for metric, ylabel in (
        ("rps", "requests/s"),
        ("p50_ms", "p50 latency (ms)"),
        ("p95_ms", "p95 latency (ms)"),
        ("p99_ms", "p99 latency (ms)"),
    ):
        fig, ax = plt.subplots(figsize=(6, 4))
        for server in report["servers"]:
            xs = [lv["concurrency"] for lv in server["levels"]]
            ax.plot(xs, [lv[metric] for lv in server["levels"]], marker="o", label=server["label"])
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{report['model']}: {ylabel}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / f"{report['model']}-{metric}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths
