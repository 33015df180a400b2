"""`BYTES` tensors of text: JSON strings, or length-prefixed elements in the binary part.

In the binary tensor data extension each element is a 4-byte little-endian
length followed by that many bytes (what tritonclient sends); here the bytes
must be UTF-8 text.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from service.runtime.errors import InvalidInput, short
from service.runtime.text.inputs import check_length, check_text
from service.serving.protocol.binary import Chunks


def parse_bytes_tensor(
    tensor: dict[str, Any], field: str, shape: list[int], chunks: Chunks, size: object
) -> np.ndarray:
    """The tensor's strings as a 1-D object array, one per row.

    Shape [N] is what the metadata says; [N, 1] is accepted too, since Triton
    configurations give string inputs `dims: [1]` and clients follow them.
    """
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise InvalidInput(f"{field}.shape: expected [N] (or [N, 1]) texts, got {shape}")
    count = math.prod(shape)
    if count == 0:
        raise InvalidInput(f"{field}.shape: empty batch; send at least one text")
    if size is not None:
        texts = decode_strings(chunks.take(size, field), count, f"{field}.data")
    elif "data" in tensor:
        texts = json_strings(tensor["data"], count, f"{field}.data")
    else:
        raise InvalidInput(f"{field}.data: missing (and no parameters.binary_data_size)")
    array = np.empty(count, dtype=object)
    array[:] = texts
    return array


def json_strings(data: Any, count: int, field: str) -> list[str]:
    """Strings from `data`: flat, or nested one string per row."""
    if not isinstance(data, list):
        raise InvalidInput(f"{field}: expected a list of strings, got {short(data)}")
    flat = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in data]
    if len(flat) != count:
        raise InvalidInput(f"{field}: {len(flat)} strings do not fill {count} elements")
    return [check_text(value, f"{field}[{i}]") for i, value in enumerate(flat)]


def decode_strings(chunk: bytes, count: int, field: str) -> list[str]:
    """`count` length-prefixed UTF-8 strings that fill `chunk` exactly."""
    texts, offset = [], 0
    for i in range(count):
        if offset + 4 > len(chunk):
            raise InvalidInput(f"{field}[{i}]: no 4-byte length left ({len(chunk)}-byte tensor)")
        (length,) = struct.unpack_from("<I", chunk, offset)
        start, offset = offset + 4, offset + 4 + length
        if offset > len(chunk):
            raise InvalidInput(
                f"{field}[{i}]: length {length} runs past the end of the {len(chunk)}-byte tensor"
            )
        raw = chunk[start:offset]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidInput(
                f"{field}[{i}]: not valid UTF-8 ({err.reason} at byte {err.start}): {raw[:40]!r}"
            ) from err
        texts.append(check_length(text, f"{field}[{i}]"))
    if offset != len(chunk):
        raise InvalidInput(f"{field}: {len(chunk) - offset} bytes left after {count} strings")
    return texts


def encode_strings(texts: list[str]) -> bytes:
    """The binary form of a `BYTES` tensor (for clients and tests)."""
    parts = []
    for text in texts:
        raw = text.encode("utf-8")
        parts += [struct.pack("<I", len(raw)), raw]
    return b"".join(parts)
