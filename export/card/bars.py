"""Bar charts as self-contained SVG: bars from zero, each labelled with its value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from export.card import ticks
from export.card.charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, Axes, Canvas, grid
from export.card.html import fmt
from export.card.svg import PALETTE, Frame, document, esc, num, text


@dataclass(frozen=True)
class Bar:
    """One bar of a bar chart."""

    label: str
    value: float
    color: str = ""


def bar_chart(kind: str, title: str, bars: Sequence[Bar], y_label: str) -> str:
    """Vertical bars from zero, each labelled with its value."""
    top = max((b.value for b in bars), default=1.0)
    y0, y1, y_ticks = ticks.nice(*ticks.span([0.0, top * 1.12]))
    frame = Frame(LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM, 0, len(bars), y0, y1)
    canvas = Canvas()
    canvas.add(text(WIDTH / 2, 20, title, size=14, font_weight="600"))
    axes = Axes("", y_label, x_ticks=[(i + 0.5, b.label) for i, b in enumerate(bars)])
    grid(canvas, frame, [i + 0.5 for i in range(len(bars))], y_ticks, axes)
    slot = frame.width / max(len(bars), 1)
    for index, bar in enumerate(bars):
        color = bar.color or PALETTE[index % len(PALETTE)]
        x, y = frame.left + index * slot + slot * 0.2, frame.y(bar.value)
        canvas.add(
            f'<rect x="{num(x)}" y="{num(y)}" width="{num(slot * 0.6)}" '
            f'height="{num(frame.bottom - y)}" fill="{color}"><title>{esc(bar.label)}: '
            f"{esc(fmt(bar.value))}</title></rect>",
            text(x + slot * 0.3, y - 4, fmt(bar.value), size=11),
        )
    return document(WIDTH, HEIGHT, title, canvas.parts, kind)
