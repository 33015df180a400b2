"""Model cards: a version explains itself in one self-contained HTML page.

Torch-free and matplotlib-free (charts are SVG written here), so the service can
render a card from a manifest on demand.
"""

from export.card.compare import render_compare
from export.card.facts import CardFacts, card_facts
from export.card.render import render_card

__all__ = ["CardFacts", "card_facts", "render_card", "render_compare"]
