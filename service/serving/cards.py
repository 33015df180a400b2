"""Model cards over HTTP: the served version's manifest, with what the registry says now.

The manifest is the one the server loaded; aliases, history and benchmark figures
are read from the registry at request time, as `ferry models card` reads them.
"""

from __future__ import annotations

from export.card import CardFacts, render_card
from export.manifest import Manifest
from export.registry import Registry


def card_html(registry: Registry, manifest: Manifest) -> str:
    """The card of a served version as an HTML page."""
    name = manifest.name
    facts = CardFacts(
        manifest=manifest.to_dict(),
        aliases=registry.aliases(name),
        history=registry.history(name),
        benchmarks=registry.benchmarks(name),
    )
    return render_card(facts)
