"""The binary tensor data extension: raw little-endian tensors after the JSON header."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from service.runtime.errors import InvalidInput
from service.serving import jsonio

HEADER = "Inference-Header-Content-Length"


def read_body(raw: bytes, header: str | None) -> tuple[Any, bytes]:
    """A V2 request body framed: its JSON part parsed, and the binary tensor data after it.

    `header` is the `Inference-Header-Content-Length` value, None without the extension.
    """
    json_part, binary = split_body(raw, header)
    return jsonio.loads(json_part), binary


def split_body(raw: bytes, header: str | None) -> tuple[bytes, bytes]:
    """Split a request body into its JSON part and the binary tensor data after it."""
    if header is None:
        return raw, b""
    try:
        size = int(header)
    except ValueError as err:
        raise InvalidInput(f"{HEADER}: expected an integer, got {header!r}") from err
    if not 0 <= size <= len(raw):
        raise InvalidInput(f"{HEADER}: {size} is outside the {len(raw)}-byte body")
    return raw[:size], raw[size:]


def decode(chunk: bytes, wire: np.dtype, shape: list[int], field: str) -> np.ndarray:
    """A tensor from its raw bytes (row-major, little-endian)."""
    expected = math.prod(shape) * wire.itemsize
    if len(chunk) != expected:
        raise InvalidInput(
            f"{field}: binary_data_size is {len(chunk)} bytes, but shape {shape} of "
            f"{wire.name} needs {expected}"
        )
    return np.frombuffer(chunk, dtype=wire.newbyteorder("<")).reshape(shape)


def encode(array: np.ndarray) -> bytes:
    """Raw little-endian bytes of a tensor, row-major."""
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


class Chunks:
    """Hands out consecutive slices of the binary part, one per binary input, in order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, size: object, field: str) -> bytes:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidInput(
                f"{field}.parameters.binary_data_size: expected a byte count, got {size!r}"
            )
        if self.offset + size > len(self.data):
            raise InvalidInput(
                f"{field}.parameters.binary_data_size: {size} bytes asked, "
                f"{len(self.data) - self.offset} left in the body"
            )
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def finish(self) -> None:
        left = len(self.data) - self.offset
        if left:
            raise InvalidInput(f"binary data: {left} trailing bytes not claimed by any input")
