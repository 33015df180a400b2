"""Variant quality and the benchmark figures recorded for a version (`registry.benchmarks`)."""

from __future__ import annotations

from typing import Any

from export.card.bars import Bar, bar_chart
from export.card.charts import Axes, Series, line_chart
from export.card.facts import CardFacts
from export.card.html import fmt, missing, note, pairs, section, table, tree
from export.card.plots import figure
from export.card.svg import PALETTE

#: The serving chart spans the card: six servers need their legend beside the plot.
WIDE = 932


def variant(facts: CardFacts) -> str:
    """An int8/fp16 version's quality and speed against its fp32 source."""
    found = facts.manifest.get("variant") or {}
    measured = facts.variants_measured()
    if not found:
        body = note("fp32: this version is not a lower-precision variant.")
        if measured:
            body += note("Variants made from it, as measured when they were published:")
            body += table(
                ["at", "variant", "precision", "cosine min", "max |Δ|", "rows/s", "fp32 rows/s"],
                (
                    [
                        e.get("at"),
                        f"v{e.get('version')}",
                        e.get("precision"),
                        (e.get("quality") or {}).get("cosine_min"),
                        (e.get("quality") or {}).get("max_abs_diff"),
                        e.get("rows_per_s"),
                        e.get("source_rows_per_s"),
                    ]
                    for e in measured
                ),
            )
        return section("Variant quality", body, "variant")
    quality, speed = found.get("quality") or {}, found.get("speed") or {}
    cosines = f"{fmt(quality.get('cosine_min'))} / {fmt(quality.get('cosine_mean'))}"
    timing = ", ".join(fmt(speed.get(k)) for k in ("threads", "batch", "provider"))
    rows = [
        ("precision", found.get("precision")),
        ("fp32 source", f"v{found.get('source_version')}"),
        ("max |difference| to fp32", quality.get("max_abs_diff")),
        ("cosine min / mean", cosines),
        ("rows compared", quality.get("rows")),
        ("measured on", found.get("measured_on")),
        ("threads, batch, provider", timing),
    ]
    return section("Variant quality", pairs(rows) + _variant_speed(facts, found, speed), "variant")


def _variant_speed(facts: CardFacts, found: dict[str, Any], speed: dict[str, Any]) -> str:
    if speed.get("rows_per_s") is None or speed.get("source_rows_per_s") is None:
        return missing("The variant records no speed figures.")
    fast, base = float(speed["rows_per_s"]), float(speed["source_rows_per_s"])
    bars = [
        Bar(f"fp32 (v{found.get('source_version')})", base, PALETTE[0]),
        Bar(f"{found.get('precision')} (v{facts.version})", fast, PALETTE[1]),
    ]
    svg = bar_chart("variant_speed", "Rows per second, side by side", bars, "rows/s")
    caption = f"{fast / max(base, 1e-9):.2f}x the fp32 source's speed, measured in one run."
    return figure(svg, caption, "variant_speed")


def benchmarks(facts: CardFacts) -> str:
    """The latest figures of each benchmark run on this version."""
    latest = facts.latest_benchmarks()
    latest.pop("variant", None)  # shown with the variant's quality
    if not latest:
        hint = (
            f"No benchmark has been recorded for v{facts.version}. `ferry bench serve` (tensor "
            "models) and `ferry bench text` (text models) measure a model's production version "
            "and record the figures on that version's card."
        )
        return section("Benchmarks", missing(hint), "benchmarks")
    parts = []
    for kind, entry in sorted(latest.items()):
        render = {"serve": _serve, "text": _text}.get(kind, _other)
        parts.append(render(entry))
    return section("Benchmarks", "".join(parts), "benchmarks")


def _serve(entry: dict[str, Any]) -> str:
    servers = entry.get("servers") or []
    levels = sorted({int(lv["clients"]) for s in servers for lv in s.get("levels", [])})
    header = ["server", *(f"{n} client{'s' if n != 1 else ''}" for n in levels)]
    rows = []
    for server in servers:
        by = {int(lv["clients"]): lv for lv in server.get("levels", [])}
        rows.append([server.get("label"), *(_load(by.get(n)) for n in levels)])
    body = "<h3>ferry bench serve</h3>" + _about(entry) + table(header, rows)
    raw = entry.get("raw_rows_per_s") or {}
    if raw:
        ordered = sorted(raw.items(), key=lambda item: _batch_key(str(item[0])))
        shown = ", ".join(f"batch {b}: {fmt(v)}" for b, v in ordered)
        body += note(f"Raw ONNX Runtime rows/s, same run: {shown}.")
    if levels:
        index = {n: i for i, n in enumerate(levels)}
        series = [
            Series(
                str(s.get("label")),
                [index[int(lv["clients"])] for lv in s.get("levels", [])],
                [lv.get("rps") for lv in s.get("levels", [])],
                markers=True,
            )
            for s in servers
        ]
        named = [(i, str(n)) for n, i in index.items()]
        axes = Axes("concurrent clients", "requests/s", x_ticks=named, legend="outside", y_floor=0)
        title = "Requests per second by concurrency"
        svg = line_chart("bench_serve", title, series, axes, width=WIDE)
        body += figure(
            svg, "One row per request; every server measured in the same run.", "bench_serve"
        )
    return body


def _text(entry: dict[str, Any]) -> str:
    body = "<h3>ferry bench text</h3>" + _about(entry)
    checks = entry.get("checks") or []
    if checks:
        rows = [
            [c.get("goal"), c.get("measured"), c.get("limit"), _met(c.get("met"))] for c in checks
        ]
        body += table(["goal", "measured", "limit", "met"], rows)
    # entries recorded before the goals were listed per check
    legacy = [
        [f.get(k) for k in ("tokens", "service_sentences_per_s", "raw_sentences_per_s", "ratio")]
        for f in entry.get("fixed") or []
    ]
    if legacy:
        header = ["tokens", "service sentences/s", "raw ORT sentences/s", "service / raw"]
        body += table(header, legacy)
    return body


def _met(met: object) -> str:
    return "yes" if met else "no"


def _batch_key(batch: str) -> tuple[int, int | str]:
    return (0, int(batch)) if batch.isdigit() else (1, batch)


def _other(entry: dict[str, Any]) -> str:
    return f"<h3>{entry.get('kind', 'benchmark')}</h3>" + tree(entry)


def _about(entry: dict[str, Any]) -> str:
    rows = [
        ("measured at", entry.get("at")),
        ("machine", entry.get("machine")),
        ("providers", entry.get("providers")),
        ("command", entry.get("command")),
    ]
    return pairs((k, v) for k, v in rows if v)


def _load(level: dict[str, Any] | None) -> str:
    if not level:
        return "-"
    errors = level.get("errors") or 0
    shown = f"{fmt(level.get('rps'))} req/s · p95 {fmt(level.get('p95_ms'))} ms"
    return shown + (f" · {errors} errors" if errors else "")
