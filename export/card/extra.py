"""Manifest records the card has no special view for, shown as tables (e.g. drift reference
statistics): a version published by a newer ferry still gets everything it holds on its card."""

from __future__ import annotations

from export.card.facts import CardFacts
from export.card.html import section, tree

#: Manifest keys other sections show.
SHOWN = frozenset(
    {
        "name",
        "version",
        "signature",
        "labels",
        "files",
        "parity",
        "created_at",
        "opset",
        "task",
        "features",
        "preprocessing",
        "metrics",
        "data_fingerprint",
        "code_revision",
        "training",
        "variant",
        "evaluation",
        "format",
    }
)


def others(facts: CardFacts) -> str:
    """One section per manifest key no other section shows; drift records first."""
    keys = [k for k, v in facts.manifest.items() if k not in SHOWN and v not in (None, {}, [], "")]
    keys.sort(key=lambda k: (not _drift(k), k))
    return "".join(section(_title(key), tree(facts.manifest[key]), f"extra-{key}") for key in keys)


def _drift(key: str) -> bool:
    return any(word in key.lower() for word in ("drift", "reference", "statistic"))


def _title(key: str) -> str:
    words = key.replace("_", " ")
    return f"Drift reference statistics ({words})" if _drift(key) else words.capitalize()
