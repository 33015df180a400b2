"""JSON on the inference path: orjson, with the standard library for what it refuses.

On a one-row request the standard library took 34 us to parse and 19 us to
write what orjson does in 3 us and 1 us, about a tenth of the request's CPU.
orjson rejects the `NaN` and `Infinity` literals Python's `json` writes; such a
body is parsed again with the standard library, so validation can name the
element that is not finite instead of calling the body malformed.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from service.runtime.errors import InvalidInput


def loads(raw: bytes) -> Any:
    """The request body as Python values, or `InvalidInput` saying where it is malformed."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        snippet = raw[:40].decode("utf-8", "replace")
        raise InvalidInput(f"request body: malformed JSON ({err}) near {snippet!r}") from err


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; numpy arrays and scalars are written as lists and numbers.

    What orjson cannot write (an integer beyond 64 bits echoed back as a request
    id, say) goes through the standard library.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()
