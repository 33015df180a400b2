"""Turn request payloads into arrays the model accepts, or say exactly what is wrong.

Validation runs before a request joins a batch, so a bad request never fails
the good ones it would have been batched with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from export.signature import Signature, TensorSpec
from service.runtime.errors import InvalidInput, short


def to_arrays(
    payload: dict[str, Any], signature: Signature, max_rows: int, field: str = "inputs"
) -> dict[str, np.ndarray]:
    """Check every input of `signature` in `payload` and return float/int arrays."""
    unknown = sorted(set(payload) - {spec.name for spec in signature.inputs})
    if unknown:
        raise InvalidInput(
            f"{field}: unknown input {short(unknown[0])}; expected {_names(signature)}"
        )
    arrays: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        if spec.name not in payload:
            raise InvalidInput(
                f"{field}: missing input {spec.name!r}; expected {_names(signature)}"
            )
        value, where = payload[spec.name], f"{field}.{spec.name}"
        # refused before converting: a million rows would cost seconds to turn into an array
        rows = declared_rows(value, len(spec.shape))
        if rows > max_rows:
            raise InvalidInput(f"{where}: {rows} rows exceed the limit of {max_rows} per request")
        arrays[spec.name] = to_array(value, spec, where)
    check_rows(arrays, max_rows, field)
    return arrays


def to_array(value: Any, spec: TensorSpec, field: str) -> np.ndarray:
    """One input: numeric, finite, of the signature's shape (batch axis first)."""
    array = value if isinstance(value, np.ndarray) else numeric_array(value, field)
    return conform(array, spec, field)


def numeric_array(value: Any, field: str) -> np.ndarray:
    """Nested JSON lists as a numeric array, or `InvalidInput` naming the first bad element."""
    try:
        array = np.asarray(value)
    except ValueError as err:
        raise InvalidInput(f"{field}: rows of different lengths ({err})") from err
    if array.dtype.kind not in "iuf":
        where, bad = first_non_number(value)
        if isinstance(bad, int) and not isinstance(bad, bool):  # outgrew 64 bits
            raise InvalidInput(f"{field}{_index(where)}: {short(bad)} is out of range")
        raise InvalidInput(f"{field}{_index(where)}: expected a number, got {short(bad)}")
    return array


def declared_rows(value: Any, rank: int) -> int:
    """Rows of nested lists given with their batch axis (`rank` levels deep), else 1."""
    depth, inner = 0, value
    while isinstance(inner, list) and inner and depth < rank:
        depth, inner = depth + 1, inner[0]
    return len(value) if depth == rank and isinstance(value, list) else 1


def conform(array: np.ndarray, spec: TensorSpec, field: str) -> np.ndarray:
    """Cast a numeric array to the spec's dtype after checking type, shape and values."""
    if array.dtype.kind not in "iuf":
        where, bad = first_non_number(array.tolist())
        raise InvalidInput(f"{field}{_index(where)}: expected a number, got {short(bad)}")
    expected = spec.shape
    if array.ndim == len(expected) - 1 and array.ndim >= 1:
        array = array[np.newaxis, ...]  # one row given without its batch axis
    if array.ndim != len(expected) or any(
        want not in (-1, got) for want, got in zip(expected, array.shape, strict=True)
    ):
        raise InvalidInput(
            f"{field}: expected shape {list(expected)} (-1 = any), got {list(array.shape)}"
        )
    if array.shape[0] == 0:
        raise InvalidInput(f"{field}: empty batch; send at least one row")
    target = np.dtype(spec.dtype)
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InvalidInput(f"{field}{_index(where)}: {array[where]} is not a finite number")
    if target.kind == "f" and array.dtype != target:
        with np.errstate(over="ignore"):
            cast = array.astype(target)
        if not np.isfinite(cast).all():
            where = tuple(int(i) for i in np.argwhere(~np.isfinite(cast))[0])
            raise InvalidInput(f"{field}{_index(where)}: {array[where]} overflows {spec.dtype}")
        return cast
    if target.kind in "iu" and array.dtype.kind == "f":
        raise InvalidInput(f"{field}: expected integers ({spec.dtype}), got floats")
    return array.astype(target, copy=False)


def check_rows(arrays: dict[str, np.ndarray], max_rows: int, field: str) -> int:
    """All inputs must agree on the number of rows, which must not exceed `max_rows`."""
    counts = {name: a.shape[0] for name, a in arrays.items()}
    rows = next(iter(counts.values()))
    if len(set(counts.values())) > 1:
        raise InvalidInput(f"{field}: inputs have different row counts {counts}")
    if rows > max_rows:
        raise InvalidInput(f"{field}: {rows} rows exceed the limit of {max_rows} per request")
    return rows


def first_non_number(value: Any, where: tuple[int, ...] = ()) -> tuple[tuple[int, ...], Any]:
    """Index and value of the first leaf that is not an int or float (bools count as bad)."""
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = first_non_number(item, (*where, i))
            if found[0] != () or not _is_number(found[1]):
                return found
        return (), 0
    return (where, value) if not _is_number(value) else ((), value)


def _is_number(value: Any) -> bool:
    """An int or float (not a bool) that fits a 64-bit array element."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, int) or -(2**63) <= value < 2**64


def _index(where: tuple[int, ...]) -> str:
    return "".join(f"[{i}]" for i in where)


def _names(signature: Signature) -> list[str]:
    return [spec.name for spec in signature.inputs]
