"""Two versions side by side: what an operator reads before a promotion."""

from __future__ import annotations

from typing import Any

from export.card import about, plots
from export.card.facts import CardFacts
from export.card.html import Raw, fmt, note, section, table
from export.card.page import page
from export.card.render import gaps
from export.card.svg import PALETTE, esc


def render_compare(a: CardFacts, b: CardFacts) -> str:
    """One page: facts and metrics in columns, evaluation curves overlaid."""
    ta, tb = _tag(a, b), _tag(b, a)
    title = f"{ta} vs {tb}"
    body = "".join(
        [
            f"<header><h1>{esc(title)}</h1>"
            '<p class="sub">model cards side by side: facts, metrics, curves</p></header>',
            section("Facts", table(["", ta, tb], _facts(a, b)), "facts"),
            section("Metrics (test split)", _metrics(a, b, ta, tb), "metrics"),
            _curves(a, b, ta, tb),
            section("Benchmarks", _benchmarks(a, b, ta, tb), "benchmarks"),
        ]
    )
    return page(f"{title} — model cards compared", body)


def _tag(one: CardFacts, other: CardFacts) -> str:
    return f"v{one.version}" if one.name == other.name else f"{one.name} v{one.version}"


def _facts(a: CardFacts, b: CardFacts) -> list[list[Any]]:
    rows: list[tuple[str, Any]] = [
        ("model", lambda f: f.name),
        ("aliases", lambda f: ", ".join(f.own_aliases()) or "none"),
        ("task", lambda f: f.manifest.get("task")),
        ("published", lambda f: f.manifest.get("created_at")),
        ("precision", lambda f: (f.manifest.get("variant") or {}).get("precision", "fp32")),
        ("parent", lambda f: about.parent_of(f)),
        ("data fingerprint", lambda f: f.manifest.get("data_fingerprint") or "-"),
        ("code revision", lambda f: f.manifest.get("code_revision") or "-"),
        ("test rows", lambda f: f.evaluation.get("rows")),
        ("epochs run / best", _epochs),
        ("parity", _parity),
    ]
    return [[name, get(a), get(b)] for name, get in rows]


def _metrics(a: CardFacts, b: CardFacts, ta: str, tb: str) -> str:
    ma, mb = a.manifest.get("metrics") or {}, b.manifest.get("metrics") or {}
    names = sorted(set(ma) | set(mb))
    if not names:
        return note("Neither manifest records metrics.")
    rows = [[k, ma.get(k), mb.get(k), _delta(ma.get(k), mb.get(k))] for k in names]
    return table(["metric", ta, tb, f"{tb} - {ta}"], rows) + note(
        "log_loss: lower is better; the others: higher is better."
    )


def _curves(a: CardFacts, b: CardFacts, ta: str, tb: str) -> str:
    runs = [plots.Run(ta, a.evaluation, PALETTE[0]), plots.Run(tb, b.evaluation, PALETTE[1])]
    charts = [
        plots.loss_chart(runs),
        plots.metric_chart(runs),
        plots.roc_chart(runs),
        plots.pr_chart(runs),
        plots.calibration_chart(runs),
        plots.confusion_chart(runs[0]),
        plots.confusion_chart(runs[1]),
        plots.parity_chart(runs),
    ]
    drawn = "".join(c for c in charts if c)
    notes = "".join(
        f"<h3>{esc(tag)}</h3>{found}" for tag, found in ((ta, gaps(a)), (tb, gaps(b))) if found
    )
    body = notes + (f'<div class="charts">{drawn}</div>' if drawn else "")
    return section("Evaluation, overlaid", body, "evaluation")


def _benchmarks(a: CardFacts, b: CardFacts, ta: str, tb: str) -> str:
    best = [_best_rps(a), _best_rps(b)]
    servers = list(dict.fromkeys(k for found in best for k in found))
    if not servers:
        return note("No serving benchmark recorded for either version (`ferry bench serve`).")
    rows = [[s, best[0].get(s), best[1].get(s)] for s in servers]
    return table(["server: best requests/s", ta, tb], rows) + note(
        "From each version's latest `ferry bench serve`; runs on other days or machines differ."
    )


def _best_rps(facts: CardFacts) -> dict[str, float]:
    entry = facts.latest_benchmarks().get("serve") or {}
    return {
        str(s.get("label")): max(float(lv.get("rps") or 0) for lv in s.get("levels") or [{}])
        for s in entry.get("servers") or []
    }


def _epochs(f: CardFacts) -> str:
    training = f.manifest.get("training") or {}
    if "epochs_run" not in training:
        return "-"
    return f"{training['epochs_run']} / {training.get('best_epoch', '-')}"


def _parity(f: CardFacts) -> Raw:
    found = f.manifest.get("parity") or {}
    if not found:
        return Raw("-")
    verdict = "pass" if found.get("passed") else "fail"
    shown = (
        f"{'passed' if found.get('passed') else 'failed'}, max |Δ| {fmt(found.get('max_abs_diff'))}"
    )
    return Raw(f'<span class="{verdict}">{esc(shown)}</span>')


def _delta(x: Any, y: Any) -> str:
    if not isinstance(x, int | float) or not isinstance(y, int | float):
        return "-"
    return f"{y - x:+.4g}"
