"""What a text model shows its clients: one `text` input of strings instead of token tensors."""

from __future__ import annotations

from export.signature import Signature, TensorSpec

TEXT_INPUT = "text"  # the one input a text model shows its clients


def served_signature(signature: Signature) -> Signature:
    """What clients see: one `text` input of strings (V2 `BYTES`), the graph's outputs."""
    return Signature((TensorSpec(TEXT_INPUT, "object", (-1,)),), signature.outputs)
