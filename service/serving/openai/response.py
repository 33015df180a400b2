"""Embedding and model-list bodies as OpenAI writes them."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import numpy as np

from service.runtime import ModelRuntime
from service.serving import jsonio
from service.serving.protocol.binary import encode


def embeddings_body(
    model: str, vectors: np.ndarray, encoding_format: str, prompt_tokens: int
) -> bytes:
    """The response of `POST /v1/embeddings`.

    base64 is each vector's float32 little-endian bytes (what the SDK decodes);
    float writes each float32 as the double it is, like V2 JSON (`.tolist()`), so
    both read back to the same float32 values bit for bit.
    """
    rows: list[Any]
    if encoding_format == "base64":
        rows = [base64.b64encode(encode(row.astype(np.float32))).decode() for row in vectors]
    else:
        rows = vectors.tolist()
    return jsonio.dumps(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": row} for i, row in enumerate(rows)
            ],
            "model": model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
        }
    )


def model_entry(runtime: ModelRuntime) -> dict[str, Any]:
    """One model as `GET /v1/models` lists it (`created`: when the version was published)."""
    try:
        created = int(datetime.fromisoformat(runtime.manifest.created_at).timestamp())
    except (TypeError, ValueError):
        created = int(runtime.loaded_at)
    return {"id": runtime.name, "object": "model", "created": created, "owned_by": "ferry"}
