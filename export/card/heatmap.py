"""Confusion matrices as self-contained SVG heatmaps."""

from __future__ import annotations

from collections.abc import Sequence

from export.card.charts import RIGHT, TOP, WIDTH, Canvas, short
from export.card.svg import AXIS, document, esc, num, text

HEIGHT = 380


def heatmap(
    kind: str,
    title: str,
    matrix: Sequence[Sequence[int]],
    labels: Sequence[str],
    x_label: str = "predicted",
    y_label: str = "true",
) -> str:
    """A confusion matrix: counts in cells, shaded by their share of the row (the true class),
    so a rare class's mistakes show as clearly as a common one's."""
    n = max(len(matrix), 1)
    names = [short(str(label), 14) for label in labels] or [str(i) for i in range(n)]
    room = max(len(s) for s in names) * 6.5 + 10
    left, bottom = 40 + room, 36 + room * 0.75
    cell = min((WIDTH - left - RIGHT) / n, (HEIGHT - TOP - bottom) / n)
    canvas = Canvas()
    canvas.add(text(WIDTH / 2, 20, title, size=14, font_weight="600"))
    for row, counts in enumerate(matrix):
        total = sum(counts) or 1
        for col, count in enumerate(counts):
            share = count / total
            x, y = left + col * cell, TOP + row * cell
            canvas.add(
                f'<rect x="{num(x)}" y="{num(y)}" width="{num(cell)}" height="{num(cell)}" '
                f'fill="{_blue(share)}" stroke="#ffffff"><title>true {esc(names[row])}, '
                f"predicted {esc(names[col])}: {count}</title></rect>",
                text(
                    x + cell / 2,
                    y + cell / 2 + 4,
                    str(count),
                    size=_cell_font(cell),
                    fill="#ffffff" if share > 0.55 else "#222222",
                ),
            )
    for index, name in enumerate(names):
        middle = TOP + index * cell + cell / 2
        canvas.add(text(left - 6, middle + 4, name, anchor="end", size=11))
        x = left + index * cell + cell / 2
        y = TOP + n * cell + 12
        canvas.add(
            text(x, y, name, anchor="end", size=11, transform=f"rotate(-40 {num(x)} {num(y)})")
        )
    mid_x, mid_y = left + n * cell / 2, TOP + n * cell / 2
    canvas.add(text(mid_x, HEIGHT - 8, x_label, size=12, fill=AXIS))
    canvas.add(
        text(14, mid_y, y_label, size=12, fill=AXIS, transform=f"rotate(-90 14 {num(mid_y)})")
    )
    return document(WIDTH, HEIGHT, title, canvas.parts, kind)


def _blue(share: float) -> str:
    """White for 0 to a deep blue for 1."""
    low, high = (255, 255, 255), (8, 81, 156)
    mixed = (round(a + (b - a) * max(0.0, min(1.0, share))) for a, b in zip(low, high, strict=True))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def _cell_font(cell: float) -> int:
    return int(max(8, min(14, cell * 0.35)))
