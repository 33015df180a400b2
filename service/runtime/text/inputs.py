"""Texts from request payloads, or an `InvalidInput` naming the field and the bad value."""

from __future__ import annotations

import functools
from typing import Any

from service.runtime.errors import InvalidInput, short
from service.runtime.text.settings import TextSettings


def texts_from_json(value: Any, field: str, max_rows: int) -> list[str]:
    """A non-empty list of at most `max_rows` strings (a 1-element-per-row nesting is allowed)."""
    if not isinstance(value, list):
        raise InvalidInput(f"{field}: expected a list of strings, got {short(value)}")
    if not value:
        raise InvalidInput(f"{field}: empty list; send at least one text")
    if len(value) > max_rows:
        raise InvalidInput(
            f"{field}: {len(value)} texts exceed the limit of {max_rows} per request"
        )
    return [check_text(_unwrap(item), f"{field}[{i}]") for i, item in enumerate(value)]


def check_text(value: Any, field: str) -> str:
    """`value` if it is a string that UTF-8 can encode (JSON allows lone surrogates; it can't)
    and no longer than `FERRY_TEXT_MAX_CHARS`."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: expected a string, got {short(value)}")
    check_length(value, field)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            bad = value[err.start : err.end]
            raise InvalidInput(
                f"{field}: not valid UTF-8 text ({err.reason}: {bad!r} at character {err.start})"
            ) from err
    return value


def check_length(text: str, field: str) -> str:
    """`text` if it has at most `FERRY_TEXT_MAX_CHARS` characters."""
    limit = max_chars()
    if len(text) > limit:
        raise InvalidInput(
            f"{field}: {len(text):,} characters exceed the limit of {limit:,} per text "
            f"(FERRY_TEXT_MAX_CHARS): {short(text)}"
        )
    return text


@functools.cache
def max_chars() -> int:
    """`FERRY_TEXT_MAX_CHARS`, read once."""
    return TextSettings().max_chars


def _unwrap(item: Any) -> Any:
    # Triton-style clients send strings as shape [N, 1]: [["a"], ["b"]].
    if isinstance(item, list) and len(item) == 1:
        return item[0]
    return item
