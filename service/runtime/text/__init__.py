"""Text models: the tokenizer shipped in the artifact, length buckets, padding to the longest.

A text model's manifest has `preprocessing["tokenizer"]` (parsed by
`export.tokenizer.TokenizerSpec`); the service answers with strings in (`text`,
V2 `BYTES`) and tokenises them itself with the `tokenizers` library, never torch
or transformers. Part of the runtime: imports only the export contract.
"""

from service.runtime.text.buckets import bucket_bounds, bucket_of
from service.runtime.text.signature import TEXT_INPUT, served_signature
from service.runtime.text.tokenizer import TextTokenizer
from service.runtime.text.tokens import Tokens

__all__ = [
    "TEXT_INPUT",
    "TextTokenizer",
    "Tokens",
    "bucket_bounds",
    "bucket_of",
    "served_signature",
]
