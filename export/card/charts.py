"""Line charts as self-contained SVG (axes, ticks, legend, no script), and the parts the
other charts share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from export.card import ticks
from export.card.svg import AXIS, GRID, PALETTE, Frame, document, line, num, text

WIDTH, HEIGHT = 460, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 46


@dataclass(frozen=True)
class Series:
    """One line: `ys[i]` at `xs[i]`; a `None` leaves a gap."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    color: str = ""
    dashed: bool = False
    markers: bool = False
    # draw as steps that rise before moving right (a precision-recall curve)
    steps: bool = False


@dataclass(frozen=True)
class Axes:
    """Labels and ranges; a range given here is kept as is, otherwise it is rounded out."""

    x_label: str
    y_label: str
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    # categorical ticks (value, label), e.g. client counts drawn evenly spaced
    x_ticks: Sequence[tuple[float, str]] = ()
    # "upper right", "lower left", ...: inside the plot; "outside": right of it
    legend: str = "upper right"
    y_floor: float | None = None  # include this value in the y range (e.g. 0 for rates)


@dataclass(frozen=True)
class Mark:
    """A labelled vertical line, e.g. the early-stopping point."""

    x: float
    label: str
    color: str = "#777777"


@dataclass
class Canvas:
    """The elements of one chart, in drawing order."""

    parts: list[str] = field(default_factory=list)

    def add(self, *items: str) -> None:
        """Draw `items` over what is there."""
        self.parts.extend(items)


def line_chart(
    kind: str,
    title: str,
    series: Sequence[Series],
    axes: Axes,
    marks: Sequence[Mark] = (),
    width: int = WIDTH,
) -> str:
    """An SVG line chart of `series` with gridlines, tick labels, axis titles and a legend."""
    frame, x_ticks, y_ticks = _frame(series, axes, marks, width)
    canvas = Canvas()
    canvas.add(text(width / 2, 20, title, size=14, font_weight="600"))
    grid(canvas, frame, x_ticks, y_ticks, axes)
    for index, mark in enumerate(marks):
        _mark(canvas, frame, mark, frame.top + 12 + 14 * index)
    for index, one in enumerate(series):
        _draw(canvas, frame, one, one.color or PALETTE[index % len(PALETTE)])
    _legend(canvas, frame, series, axes.legend)
    return document(width, HEIGHT, title, canvas.parts, kind)


def _mark(canvas: Canvas, frame: Frame, mark: Mark, y: float) -> None:
    x = frame.x(mark.x)
    # the label sits inside the plot: right of the line in the left half, else left of it
    left_half = x < frame.left + frame.width / 2
    canvas.add(
        line(x, frame.top, x, frame.bottom, mark.color, stroke_dasharray="4 3"),
        text(
            x + (4 if left_half else -4),
            y,
            mark.label,
            anchor="start" if left_half else "end",
            size=11,
            fill=mark.color,
        ),
    )


def _frame(
    series: Sequence[Series], axes: Axes, marks: Sequence[Mark], width: int
) -> tuple[Frame, list[float], list[float]]:
    right = RIGHT + (_legend_width(series) + 8 if axes.legend == "outside" else 0)
    xs = [x for s in series for x in s.xs] + [m.x for m in marks]
    ys = [y for s in series for y in s.ys if y is not None]
    if axes.x_range is not None:
        x0, x1 = axes.x_range
        x_ticks = ticks.fixed(x0, x1)
    else:
        x0, x1, x_ticks = ticks.nice(*ticks.span(xs))
    if axes.x_ticks:
        x_ticks = [value for value, _ in axes.x_ticks]
        x0, x1 = min(x_ticks) - 0.5, max(x_ticks) + 0.5
    if axes.y_range is not None:
        y0, y1 = axes.y_range
        y_ticks = ticks.fixed(y0, y1)
    else:
        y0, y1, y_ticks = ticks.nice(*ticks.span(ys, axes.y_floor))
    frame = Frame(LEFT, TOP, width - LEFT - right, HEIGHT - TOP - BOTTOM, x0, x1, y0, y1)
    return frame, x_ticks, y_ticks


def grid(
    canvas: Canvas, frame: Frame, x_ticks: list[float], y_ticks: list[float], axes: Axes
) -> None:
    named = dict(axes.x_ticks)
    for value in y_ticks:
        y = frame.y(value)
        canvas.add(line(frame.left, y, frame.right, y, GRID))
        canvas.add(text(frame.left - 6, y + 4, ticks.label(value, y_ticks), anchor="end", size=11))
    for value in x_ticks:
        x = frame.x(value)
        canvas.add(line(x, frame.top, x, frame.bottom, GRID))
        shown = named.get(value, ticks.label(value, x_ticks) if not named else "")
        canvas.add(text(x, frame.bottom + 16, short(shown, 16), size=11))
    canvas.add(
        f'<rect x="{num(frame.left)}" y="{num(frame.top)}" width="{num(frame.width)}" '
        f'height="{num(frame.height)}" fill="none" stroke="{AXIS}"/>'
    )
    canvas.add(text(frame.left + frame.width / 2, HEIGHT - 8, axes.x_label, fill=AXIS))
    mid = frame.top + frame.height / 2
    canvas.add(text(16, mid, axes.y_label, fill=AXIS, transform=f"rotate(-90 16 {num(mid)})"))


def _draw(canvas: Canvas, frame: Frame, series: Series, color: str) -> None:
    dash = ' stroke-dasharray="6 4"' if series.dashed else ""
    for segment in _segments(series):
        points = [(frame.x(x), frame.y(y)) for x, y in segment]
        if series.steps:
            points = _steps(points)
        coords = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        canvas.add(
            f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"'
            f' stroke-linejoin="round"{dash}/>'
        )
        if series.markers:
            canvas.add(
                *(f'<circle cx="{num(x)}" cy="{num(y)}" r="3" fill="{color}"/>' for x, y in points)
            )


def _segments(series: Series) -> list[list[tuple[float, float]]]:
    segments: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(series.xs, series.ys, strict=False):
        if y is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((float(x), float(y)))
    return [s for s in segments if s]


def _steps(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    stepped = points[:1]
    for x, y in points[1:]:
        stepped.extend([(stepped[-1][0], y), (x, y)])
    return stepped


def _legend(canvas: Canvas, frame: Frame, series: Sequence[Series], where: str) -> None:
    named = [(i, s) for i, s in enumerate(series) if s.name]
    if not named:
        return
    width = _legend_width(series)
    height = len(named) * 17 + 8
    if where == "outside":
        x, y = frame.right + 8, frame.top
    else:
        x = frame.right - width - 8 if "right" in where else frame.left + 8
        y = frame.top + 8 if "upper" in where else frame.bottom - height - 8
    canvas.add(
        f'<rect x="{num(x)}" y="{num(y)}" width="{num(width)}" height="{num(height)}" '
        f'fill="#ffffff" fill-opacity="0.9" stroke="{GRID}"/>'
    )
    for row, (index, one) in enumerate(named):
        color = one.color or PALETTE[index % len(PALETTE)]
        y_row = y + 14 + row * 17
        dash = {"stroke_dasharray": "6 4"} if one.dashed else {}
        canvas.add(line(x + 8, y_row - 4, x + 26, y_row - 4, color, stroke_width="2", **dash))
        canvas.add(text(x + 32, y_row, one.name, anchor="start", size=11))


def _legend_width(series: Sequence[Series]) -> float:
    names = [s.name for s in series if s.name]
    return max((len(n) for n in names), default=0) * 6.6 + 36


def short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
