"""Small HTML helpers: sections, tables, values written for people, notes about gaps."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from export.card.svg import esc

#: Longest list shown in full inside a table cell; longer ones show their head and a count.
LIST_ITEMS = 12
#: Nesting shown as tables; deeper values are shown as (shortened) JSON.
DEPTH = 3


def section(title: str, body: str, anchor: str) -> str:
    """A titled section of the card."""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>'


def missing(note: str) -> str:
    """A visible note about something the manifest does not hold."""
    return f'<p class="missing">{esc(note)}</p>'


def note(content: str) -> str:
    """A small explanatory line."""
    return f'<p class="note">{esc(content)}</p>'


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "") -> str:
    """A table whose cells are escaped values (or `Raw` HTML)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    klass = f' class="{esc(css)}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def pairs(rows: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of named facts."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{cell(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts"><tbody>{body}</tbody></table>'


class Raw(str):
    """HTML that is already safe: put into a cell as is."""


def cell(value: Any) -> str:
    """`value` as cell content: Raw HTML as is, everything else written for reading."""
    return value if isinstance(value, Raw) else esc(fmt(value))


def fmt(value: Any) -> str:
    """A JSON value written for reading: numbers to 4 significant figures, lists shortened."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        shown = ", ".join(fmt(v) for v in list(value)[:LIST_ITEMS])
        more = f", … ({len(value)} values)" if len(value) > LIST_ITEMS else ""
        return f"[{shown}{more}]"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def tree(value: Any, depth: int = 0) -> str:
    """Any JSON value as nested tables: what the card shows of records it does not know."""
    if isinstance(value, Mapping) and value and depth < DEPTH:
        if _records(value):
            return records(value)
        rows = [(str(k), Raw(tree(v, depth + 1))) for k, v in value.items()]
        return pairs(rows)
    if _list_of_records(value) and depth < DEPTH:
        columns = list(dict.fromkeys(k for item in value for k in item))
        return table(columns, ([item.get(c) for c in columns] for item in value))
    return esc(fmt(value))


def records(value: Mapping[str, Any]) -> str:
    """`{row: {column: value}}` as one table with a row per key."""
    columns = list(dict.fromkeys(k for item in value.values() for k in item))
    return table(["", *columns], ([k, *(v.get(c) for c in columns)] for k, v in value.items()))


def _records(value: Mapping[str, Any]) -> bool:
    items = list(value.values())
    if not items or not all(isinstance(v, Mapping) and v for v in items):
        return False
    columns = {k for v in items for k in v}
    flat = all(not isinstance(x, Mapping) for v in items for x in v.values())
    return flat and len(columns) <= 12


def _list_of_records(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
        and all(not isinstance(x, Mapping | list) for v in value for x in v.values())
    )


def _number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        return f"{value:.3e}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"
