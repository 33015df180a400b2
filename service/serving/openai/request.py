"""An embeddings request body, validated; errors name OpenAI's parameter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.runtime.errors import InvalidInput
from service.runtime.text.inputs import short, texts_from_json
from service.serving.openai.errors import BadParameter

FORMATS = ("float", "base64")


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    texts: list[str]
    encoding_format: str  # "float" (OpenAI's default) or "base64" (the SDK's)
    dimensions: int | None = None


def parse_embeddings(body: Any, max_rows: int) -> EmbeddingRequest:
    """`{"model", "input", "encoding_format"?, "dimensions"?, "user"?}`."""
    if not isinstance(body, dict):
        raise BadParameter(f"request body: expected a JSON object, got {short(body)}", None)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadParameter(f"model: expected a model name, got {short(model)}", "model")
    fmt = body.get("encoding_format") or "float"
    if fmt not in FORMATS:
        raise BadParameter(
            f"encoding_format: expected one of {list(FORMATS)}, got {short(fmt)}", "encoding_format"
        )
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1
    ):
        raise BadParameter(
            f"dimensions: expected a positive integer, got {short(dimensions)}", "dimensions"
        )
    return EmbeddingRequest(model, input_texts(body.get("input"), max_rows), fmt, dimensions)


def input_texts(value: Any, max_rows: int) -> list[str]:
    """`input` as a non-empty list of non-empty strings."""
    if value is None:
        raise BadParameter("input: missing; send a string or a list of strings", "input")
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, list) and any(isinstance(v, int | list) for v in value):
        raise BadParameter(
            "input: token arrays are not supported; send a string or a list of strings", "input"
        )
    try:
        texts = texts_from_json(value, "input", max_rows)
    except InvalidInput as err:
        raise BadParameter(str(err), "input") from err
    empty = next((i for i, text in enumerate(texts) if not text), None)
    if empty is not None:
        where = "input" if len(texts) == 1 else f"input[{empty}]"
        raise BadParameter(f"{where}: empty string; every input must have some text", "input")
    return texts
