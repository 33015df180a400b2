"""The card's descriptive sections: identity, lineage, signature, labels, metrics, parity."""

from __future__ import annotations

from typing import Any

from export.card.facts import CardFacts
from export.card.html import Raw, fmt, missing, note, pairs, section, table, tree
from export.card.svg import esc


def header(facts: CardFacts) -> str:
    """Name, version, aliases and when it was made."""
    m = facts.manifest
    badges = "".join(f'<span class="alias">{esc(a)}</span>' for a in facts.own_aliases())
    precision = (m.get("variant") or {}).get("precision")
    kind = f" · {precision} variant" if precision else ""
    return (
        f'<header><h1>{esc(facts.name)} <span class="version">v{esc(facts.version)}</span>'
        f'{badges}</h1><p class="sub">{esc(m.get("task") or "model")}{esc(kind)} · '
        f"published {esc(m.get('created_at', '?'))} · ONNX opset {esc(m.get('opset', '?'))}"
        f"</p></header>"
    )


def identity(facts: CardFacts) -> str:
    """Aliases now, and what the registry's history says about this version."""
    aliases = facts.aliases
    rows: list[tuple[str, Any]] = [
        ("aliases of this version", ", ".join(facts.own_aliases()) or "none"),
        ("all aliases of the model", ", ".join(f"{a} → v{v}" for a, v in sorted(aliases.items()))),
    ]
    events = [e for e in facts.history if str(e.get("version")) == facts.version]
    body = pairs(rows)
    if events:
        body += table(
            ["at", "event", "alias", "previous", "reason"],
            (
                [e.get("at"), e.get("event"), e.get("alias"), e.get("previous"), e.get("reason")]
                for e in events
            ),
        )
    return section("Name, version, aliases", body, "identity")


def lineage(facts: CardFacts) -> str:
    """Where this version came from: its parent, data and code."""
    m = facts.manifest
    training = m.get("training") or {}
    retrain = training.get("retrain") or {}
    rows: list[tuple[str, Any]] = [("parent", parent_of(facts))]
    if retrain:
        rows.append(("champion when trained", _version(retrain.get("champion"))))
        rows.append(("holdout rows", retrain.get("holdout_rows")))
    rows += [
        ("data fingerprint", m.get("data_fingerprint") or "-"),
        ("code revision", m.get("code_revision") or "-"),
        ("recipe", training.get("recipe")),
        ("training data", training.get("source")),
    ]
    drops = training.get("drops") or []
    if drops:
        rows.append(
            ("data drops", ", ".join(f"{d.get('name')} ({d.get('rows')} rows)" for d in drops))
        )
    return section("Lineage", pairs((k, v) for k, v in rows if v is not None), "lineage")


def signature(facts: CardFacts) -> str:
    """Inputs and outputs, with dtypes and shapes (-1: any size)."""
    sig = facts.manifest.get("signature") or {}
    rows = [
        [direction, spec.get("name"), spec.get("dtype"), _shape(spec.get("shape", []))]
        for direction in ("inputs", "outputs")
        for spec in sig.get(direction, [])
    ]
    body = table(["", "name", "dtype", "shape"], rows)
    features = facts.manifest.get("features") or []
    if features:
        body += note(f"{len(features)} named features: " + ", ".join(features))
    preprocessing = facts.manifest.get("preprocessing") or {}
    if preprocessing:
        body += "<details><summary>preprocessing in the graph</summary>"
        body += tree(preprocessing) + "</details>"
    return section("Signature", body, "signature")


def labels(facts: CardFacts) -> str:
    """The class names, in output order."""
    found = facts.manifest.get("labels") or []
    if not found:
        return section("Labels", note("none: this model outputs no classes"), "labels")
    items = "".join(f"<li>{esc(name)}</li>" for name in found)
    body = note("In output order, numbered by class index.")
    return section("Labels", body + f'<ol class="labels" start="0">{items}</ol>', "labels")


def metrics(facts: CardFacts) -> str:
    """The metrics training recorded on the test split, and how it trained."""
    found = facts.manifest.get("metrics") or {}
    body = (
        table(["metric", "value"], sorted(found.items()))
        if found
        else missing("The manifest records no metrics.")
    )
    training = facts.manifest.get("training") or {}
    shown = {k: v for k, v in training.items() if k not in ("drops", "retrain", "weights")}
    if shown:
        body += "<details><summary>training settings</summary>" + tree(shown) + "</details>"
    return section("Metrics (test split)", body, "metrics")


def parity(facts: CardFacts) -> str:
    """The export check: ONNX Runtime against the source on the same rows."""
    found = facts.manifest.get("parity") or {}
    if not found:
        return section("Export parity", missing("The manifest records no parity check."), "parity")
    passed = found.get("passed")
    verdict = Raw(
        f'<span class="{"pass" if passed else "fail"}">{"passed" if passed else "failed"}</span>'
    )
    variant = facts.manifest.get("variant") or {}
    against = f"its fp32 source v{variant.get('source_version')}" if variant else "PyTorch"
    rows = [
        ("result", verdict),
        ("compared against", against),
        ("max |difference|", found.get("max_abs_diff")),
        ("tolerance", found.get("tolerance")),
        ("rows compared", found.get("rows")),
    ]
    return section("Export parity", pairs(rows), "parity")


def files(facts: CardFacts) -> str:
    """Every file of the version with its recorded sha256."""
    found = facts.manifest.get("files") or {}
    rows = [[name, Raw(f"<code>{esc(digest)}</code>")] for name, digest in sorted(found.items())]
    return section("Files", table(["file", "sha256"], rows), "files")


def parent_of(facts: CardFacts) -> str:
    """The version this one was made from, or how it was made."""
    training = facts.manifest.get("training") or {}
    variant = facts.manifest.get("variant") or {}
    retrain = training.get("retrain") or {}
    if variant:
        return f"{variant.get('precision')} variant of v{variant.get('source_version')}"
    if retrain:
        return f"retrained challenger (champion: {_version(retrain.get('champion'))})"
    return "trained by " + fmt(training.get("recipe") or "its recipe") if training else "-"


def _version(value: Any) -> str:
    return f"v{value}" if value else "none"


def _shape(shape: list[Any]) -> str:
    return "[" + ", ".join("any" if d == -1 else str(d) for d in shape) + "]"
