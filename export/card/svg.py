"""SVG building blocks: escaping, elements, and a plot frame mapping data to pixels."""

from __future__ import annotations

import html
from dataclasses import dataclass

#: One colour per series, distinguishable in colour-blind palettes (Okabe-Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
GRID = "#e4e4e4"
AXIS = "#555555"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif"


def esc(text: object) -> str:
    """`text` made safe inside SVG/HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def num(value: float) -> str:
    """A pixel coordinate, short."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def text(
    x: float, y: float, content: str, *, anchor: str = "middle", size: int = 12, **attrs: str
) -> str:
    """A `<text>` element; `attrs` become attributes (underscores as dashes)."""
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" font-size="{size}"{extra}>'
        f"{esc(content)}</text>"
    )


def line(x1: float, y1: float, x2: float, y2: float, stroke: str, **attrs: str) -> str:
    """A straight `<line>`."""
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return (
        f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
        f'stroke="{stroke}"{extra}/>'
    )


def document(width: int, height: int, title: str, body: list[str], kind: str) -> str:
    """A whole `<svg>` of a fixed pixel size, titled for screen readers."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}" '
        f'data-chart="{esc(kind)}" style="{FONT}">'
        f"<title>{esc(title)}</title>"
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>' + "".join(body) + "</svg>"
    )


@dataclass(frozen=True)
class Frame:
    """The plot area of a chart and the data ranges it shows."""

    left: float
    top: float
    width: float
    height: float
    x0: float
    x1: float
    y0: float
    y1: float

    def x(self, value: float) -> float:
        """The pixel column of data value `value`."""
        return self.left + (value - self.x0) / ((self.x1 - self.x0) or 1.0) * self.width

    def y(self, value: float) -> float:
        """The pixel row of data value `value` (up is larger)."""
        return (
            self.top + self.height - (value - self.y0) / ((self.y1 - self.y0) or 1.0) * self.height
        )

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height
